"""Symbolic scalar arithmetic in Dynamo graphs, in forms the importer knows.

With ``dynamic=True`` Dynamo hands over graphs that compute on sizes with
Python builtins and ``torch.sym_*`` helpers.  torch-mlir's importer maps the
arithmetic builtins to ``torch.aten.*.int`` ops but not ``sym_float``,
``sym_max``/``sym_min``, ``sym_sum``, ``abs``, ``math.floor``/``ceil``/``trunc``, nor a
size passed where an ATen op takes a tensor (``x - torch.zeros(3)`` with
``x`` a size).  This graph pass rewrites those into ops it imports and
torch-mlir lowers (``aten.Float.Scalar``, ``prim.max.int``, ``prim.min.int``,
``abs`` as ``max(x, -x)``, ``sym_ite(c, a, b)`` of integers as
``b + int(c) * (a - b)``, ``aten.scalar_tensor``...), on a copy: the caller's
graph may still run eagerly.

Comparisons with a float are made float-float (the importer swaps the
operands of ``int < float`` into ``float < int``, reversing it) in the forms
torch-mlir has ops for: ``a <= b`` as ``b >= a``, ``a != b`` as
``int(a == b) == 0`` (there is no ``le.float`` or ``ne.float``).  ``.item()``
of a bool tensor is read as an int64 ``!= 0``.

A custom op run as a host call (``fxc.frontend.functionalized``) gets its
symbolic scalar arguments as 0-d tensors, and the dynamic dimensions of its
results computed before it, so that compiled code can allocate them.
"""

from __future__ import annotations

import builtins
import copy
import math
import operator

import torch
from torch.fx.passes.shape_prop import _extract_tensor_metadata

from fxc.frontend.functionalized import RESULT_SIZES_META, SCALAR_META

_SCALAR_OPS = {
    torch.sym_float: torch.ops.aten.Float.Scalar,
    torch.sym_max: torch.ops.prim.max.int,
    torch.sym_min: torch.ops.prim.min.int,
    builtins.abs: None,  # max(x, -x): torch-mlir cannot lower prim.abs.int
    operator.abs: None,
    builtins.max: torch.ops.prim.max.int,
    builtins.min: torch.ops.prim.min.int,
    math.trunc: torch.ops.aten.Int.float,
    math.floor: torch.ops.aten.floor.float,
    math.ceil: torch.ops.aten.ceil.float,
}
_FLOAT_ARG = (torch.sym_float, math.trunc, math.floor, math.ceil)


def _is_sym(node) -> bool:
    return isinstance(node, torch.fx.Node) and isinstance(node.meta.get("val"), (torch.SymInt, torch.SymFloat))


def normalize_symbolic_scalars(gm: torch.fx.GraphModule, *, exported: bool = False) -> torch.fx.GraphModule:
    """``gm``, or a rewritten copy of it (see the module docstring).
    ``exported``: ``gm`` is an ExportedProgram's graph, whose ATen ops the
    importer takes sizes for as they are (no 0-d tensor wrapping)."""

    def needs_tensor(n):
        return not exported and _needs_tensor(n)

    if not any(n.op == "call_function" and (n.target in _SCALAR_OPS or n.target in (torch.sym_sum, torch.sym_ite)
                                            or needs_tensor(n) or _is_bool_item(n) or _is_float_compare(n)
                                            or _custom_op_with_scalars(n) or _custom_op_of_dynamic_size(n))
               for n in gm.graph.nodes):
        return gm
    gm = torch.fx.GraphModule(gm, copy.deepcopy(gm.graph))
    for node in list(gm.graph.nodes):
        if node.op != "call_function":
            continue
        if node.target is torch.sym_sum:
            _sum_as_adds(gm.graph, node)
        elif node.target is torch.ops.aten._local_scalar_dense.default and _is_bool_tensor(node.args[0]):
            _bool_item_as_int(gm.graph, node)
        elif _is_float_compare(node):
            _float_compare(gm.graph, node)
        elif node.target is torch.sym_ite and _is_int_ite(node):
            _ite_as_arithmetic(gm.graph, node)
        elif node.target in _SCALAR_OPS and any(_is_sym(a) for a in node.args):
            if _SCALAR_OPS[node.target] is None:
                _abs_as_max(gm.graph, node)
            elif node.target in _FLOAT_ARG or all(
                isinstance(getattr(a, "meta", {}).get("val", a), (int, torch.SymInt)) for a in node.args
            ):
                node.target = _SCALAR_OPS[node.target]
        elif needs_tensor(node):
            _wrap_scalar_operands(gm.graph, node)
        if _custom_op_with_scalars(node):
            _wrap_scalar_operands(gm.graph, node, custom=True)
        if _custom_op_of_dynamic_size(node):
            _size_results(gm.graph, node)
    gm.graph.lint()
    gm.recompile()
    return gm


def _abs_as_max(graph: torch.fx.Graph, node: torch.fx.Node) -> None:
    (x,) = node.args
    with graph.inserting_before(node):
        neg = graph.call_function(operator.neg, (x,))
    neg.meta["val"] = -x.meta["val"]
    node.target, node.args = torch.ops.prim.max.int, (x, neg)


_COMPARES = (operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge)


def _value(v):
    return v.meta["val"] if isinstance(v, torch.fx.Node) else v


def _is_float_compare(node) -> bool:
    return (node.op == "call_function" and node.target in _COMPARES and any(_is_sym(a) for a in node.args)
            and any(isinstance(_value(a), (float, torch.SymFloat)) for a in node.args))


def _float_compare(graph: torch.fx.Graph, node: torch.fx.Node) -> None:
    def emit(target, args, value):
        new = graph.call_function(target, args)
        new.meta["val"] = value
        return new

    with graph.inserting_before(node):
        a, b = (emit(torch.ops.aten.Float.Scalar, (v,), torch.sym_float(_value(v)))
                if isinstance(_value(v), torch.SymInt) else float(v) if isinstance(v, int) else v
                for v in node.args)
        if node.target is operator.le:
            node.target, a, b = operator.ge, b, a
        if node.target is operator.ne:
            equal = emit(operator.eq, (a, b), _value(a) == _value(b))
            as_int = emit(torch.ops.aten.Int.bool, (equal,), torch.sym_ite(equal.meta["val"], 1, 0))
            node.target, a, b = operator.eq, as_int, 0
    node.args = (a, b)


def _is_bool_tensor(node) -> bool:
    return isinstance(node, torch.fx.Node) and getattr(node.meta.get("val"), "dtype", None) == torch.bool


def _is_bool_item(node) -> bool:
    return node.target is torch.ops.aten._local_scalar_dense.default and _is_bool_tensor(node.args[0])


def _bool_item_as_int(graph: torch.fx.Graph, node: torch.fx.Node) -> None:
    """``.item()`` of a bool tensor as ``.item()`` of it as int64, ``!= 0``
    (torch-mlir imports the former as an ``aten.Int.Tensor`` giving a bool)."""
    (x,) = node.args
    with graph.inserting_before(node):
        wide = graph.call_function(torch.ops.aten._to_copy.default, (x,), {"dtype": torch.int64})
        wide.meta["val"] = x.meta["val"].to(torch.int64)
        wide.meta["tensor_meta"] = _extract_tensor_metadata(wide.meta["val"])  # the importer reads its dtype
        item = graph.call_function(torch.ops.aten._local_scalar_dense.default, (wide,))
        item.meta["val"] = torch.sym_ite(node.meta["val"], 1, 0)
        truth = graph.call_function(operator.ne, (item, 0))
    truth.meta["val"] = node.meta["val"]
    for new in (wide, item, truth):
        new.meta.update({k: node.meta[k] for k in ("stack_trace", "nn_module_stack") if k in node.meta})
    node.replace_all_uses_with(truth)
    graph.erase_node(node)


def _is_int_ite(node: torch.fx.Node) -> bool:
    return all(isinstance(getattr(a, "meta", {}).get("val", a), (int, torch.SymInt)) and not isinstance(a, bool)
               for a in node.args[1:])


def _ite_as_arithmetic(graph: torch.fx.Graph, node: torch.fx.Node) -> None:
    """``sym_ite(c, a, b)`` of integers as ``b + int(c) * (a - b)`` (``int(c)``
    alone when ``a, b`` are ``1, 0``: ``.item()`` of a bool tensor)."""
    cond, a, b = node.args
    val = lambda v: v.meta["val"] if isinstance(v, torch.fx.Node) else v  # noqa: E731

    def emit(target, args, value):
        new = graph.call_function(target, args)
        new.meta["val"] = value
        return new

    with graph.inserting_before(node):
        as_int = emit(torch.ops.aten.Int.bool, (cond,), torch.sym_ite(val(cond), 1, 0))
        result = as_int
        if (a, b) != (1, 0):
            diff = emit(operator.sub, (a, b), val(a) - val(b))
            scaled = emit(operator.mul, (as_int, diff), val(as_int) * val(diff))
            result = emit(operator.add, (b, scaled), node.meta["val"])
    node.replace_all_uses_with(result)
    graph.erase_node(node)


def _sum_as_adds(graph: torch.fx.Graph, node: torch.fx.Node) -> None:
    """``sym_sum([a, b, c])`` as ``(a + b) + c``."""
    (terms,) = node.args
    total = terms[0]
    with graph.inserting_before(node):
        for t in terms[1:]:
            new = graph.call_function(operator.add, (total, t))
            new.meta["val"] = (total.meta["val"] if isinstance(total, torch.fx.Node) else total) + \
                (t.meta["val"] if isinstance(t, torch.fx.Node) else t)
            total = new
    node.replace_all_uses_with(total)
    graph.erase_node(node)


def _needs_tensor(node) -> bool:
    """An ATen op given a size where its schema takes a Tensor."""
    if not isinstance(node.target, torch._ops.OpOverload):
        return False
    params = node.target._schema.arguments
    return any(_is_sym(a) and i < len(params) and isinstance(params[i].type, torch.TensorType)
               for i, a in enumerate(node.args))


def _custom_op_with_scalars(node) -> bool:
    """A custom op (a host call) given a symbolic scalar: the host call takes
    it as a 0-d tensor."""
    return (isinstance(node.target, torch._ops.OpOverload) and not torch._library.utils.is_builtin(node.target)
            and any(_is_sym(a) or isinstance(a, (list, tuple)) and any(_is_sym(b) for b in a) for a in node.args))


def _custom_op_of_dynamic_size(node) -> bool:
    if not isinstance(node.target, torch._ops.OpOverload) or torch._library.utils.is_builtin(node.target):
        return False
    vals = node.meta.get("val")
    vals = vals if isinstance(vals, (list, tuple)) else [vals]
    return any(isinstance(v, torch.Tensor) and any(isinstance(d, torch.SymInt) for d in v.shape) for v in vals)


def _size_results(graph: torch.fx.Graph, node: torch.fx.Node) -> None:
    """The dynamic dimensions of a custom op's results as 0-d int64 tensors
    (``RESULT_SIZES_META``), computed from the graph's sizes and scalars
    before the op: compiled code allocates the results the host fills.  Left
    out when a dimension is an expression this cannot build."""
    known = {}
    for n in graph.nodes:
        if n is node:
            break
        val = n.meta.get("val")
        if isinstance(val, torch.SymInt) and val.node.expr.is_Symbol:
            known.setdefault(val.node.expr, n)
        elif isinstance(val, torch.Tensor) and n.op == "placeholder":
            for d, dim in enumerate(val.shape):
                if isinstance(dim, torch.SymInt) and dim.node.expr.is_Symbol:
                    known.setdefault(dim.node.expr, (n, d, dim))
    vals = node.meta["val"] if isinstance(node.meta["val"], (list, tuple)) else [node.meta["val"]]
    dims = [d for v in vals if isinstance(v, torch.Tensor) for d in v.shape if isinstance(d, torch.SymInt)]
    if not all(_buildable(d.node.expr, known) for d in dims):
        return
    sizes = []
    with graph.inserting_before(node):
        for d in dims:
            value = _build(graph, d.node.expr, known)
            t = graph.call_function(torch.ops.aten.scalar_tensor.default, (value,), {"dtype": torch.int64})
            t.meta["val"] = torch.empty((), dtype=torch.int64)
            sizes.append(t)
    node.meta[RESULT_SIZES_META] = sizes


def _buildable(expr, known) -> bool:
    if expr.is_Integer or expr in known:
        return True
    return (expr.is_Add or expr.is_Mul) and all(_buildable(a, known) for a in expr.args)


def _build(graph: torch.fx.Graph, expr, known):
    """An FX value for a sympy ``expr`` over ``known`` symbols (sums and products)."""
    if expr.is_Integer:
        return int(expr)
    if expr in known:
        source = known[expr]
        if isinstance(source, tuple):  # a dimension of an input: aten.sym_size.int
            ph, d, dim = source
            node = graph.call_function(torch.ops.aten.sym_size.int, (ph, d))
            node.meta["val"] = dim
            known[expr] = source = node
        return source
    op = operator.add if expr.is_Add else operator.mul
    terms = [_build(graph, a, known) for a in expr.args]
    total = terms[0]
    for t in terms[1:]:
        new = graph.call_function(op, (total, t))
        new.meta["val"] = op(_value(total), _value(t))
        total = new
    return total


def _wrap_scalar_operands(graph: torch.fx.Graph, node: torch.fx.Node, custom: bool = False) -> None:
    params = node.target._schema.arguments

    def wrap(a):
        dtype = {torch.SymInt: torch.int64, torch.SymBool: torch.bool}.get(type(a.meta["val"]), torch.float64)
        with graph.inserting_before(node):
            t = graph.call_function(torch.ops.aten.scalar_tensor.default, (a,), {"dtype": dtype})
        t.meta["val"] = torch.empty((), dtype=dtype)
        if custom:
            t.meta[SCALAR_META] = True
        return t

    args = list(node.args)
    for i, a in enumerate(args):
        if _is_sym(a) and (custom or i < len(params) and isinstance(params[i].type, torch.TensorType)):
            args[i] = wrap(a)
        elif custom and isinstance(a, (list, tuple)) and any(_is_sym(b) for b in a):
            args[i] = [wrap(b) if _is_sym(b) else b for b in a]
    node.args = tuple(args)
