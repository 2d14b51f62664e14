"""Symbolic scalar arithmetic in Dynamo graphs, in forms the importer knows.

With ``dynamic=True`` Dynamo hands over graphs that compute on sizes with
Python builtins and ``torch.sym_*`` helpers.  torch-mlir's importer maps the
arithmetic builtins to ``torch.aten.*.int`` ops but not ``sym_float``,
``sym_max``/``sym_min``, ``sym_sum``, ``abs``, ``math.floor``/``ceil``/``trunc``, nor a
size passed where an ATen op takes a tensor (``x - torch.zeros(3)`` with
``x`` a size).  This graph pass rewrites those into ops it imports and
torch-mlir lowers (``aten.Float.Scalar``, ``prim.max.int``, ``prim.min.int``,
``abs`` as ``max(x, -x)``, ``aten.scalar_tensor``...), on a copy: the caller's
graph may still run eagerly.
"""

from __future__ import annotations

import builtins
import copy
import math
import operator

import torch

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


def normalize_symbolic_scalars(gm: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """``gm``, or a rewritten copy of it (see the module docstring)."""
    if not any(n.op == "call_function" and (n.target in _SCALAR_OPS or n.target is torch.sym_sum or _needs_tensor(n))
               for n in gm.graph.nodes):
        return gm
    gm = torch.fx.GraphModule(gm, copy.deepcopy(gm.graph))
    for node in list(gm.graph.nodes):
        if node.op != "call_function":
            continue
        if node.target is torch.sym_sum:
            _sum_as_adds(gm.graph, node)
        elif node.target in _SCALAR_OPS and any(_is_sym(a) for a in node.args):
            if _SCALAR_OPS[node.target] is None:
                _abs_as_max(gm.graph, node)
            elif node.target in _FLOAT_ARG or all(
                isinstance(getattr(a, "meta", {}).get("val", a), (int, torch.SymInt)) for a in node.args
            ):
                node.target = _SCALAR_OPS[node.target]
        elif _needs_tensor(node):
            _wrap_scalar_operands(gm.graph, node)
    gm.graph.lint()
    gm.recompile()
    return gm


def _abs_as_max(graph: torch.fx.Graph, node: torch.fx.Node) -> None:
    (x,) = node.args
    with graph.inserting_before(node):
        neg = graph.call_function(operator.neg, (x,))
    neg.meta["val"] = -x.meta["val"]
    node.target, node.args = torch.ops.prim.max.int, (x, neg)


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


def _wrap_scalar_operands(graph: torch.fx.Graph, node: torch.fx.Node) -> None:
    params = node.target._schema.arguments
    args = list(node.args)
    for i, a in enumerate(args):
        if _is_sym(a) and i < len(params) and isinstance(params[i].type, torch.TensorType):
            dtype = torch.int64 if isinstance(a.meta["val"], torch.SymInt) else torch.float64
            with graph.inserting_before(node):
                t = graph.call_function(torch.ops.aten.scalar_tensor.default, (a,), {"dtype": dtype})
            t.meta["val"] = torch.empty((), dtype=dtype)
            args[i] = t
    node.args = tuple(args)
