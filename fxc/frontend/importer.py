"""torch-mlir's FX importer, extended with the ops torch-mlir drops.

torch-mlir dispatches higher-order ops to ``_import_hop_<name>`` methods of
its ``GraphNodeImporter``; fxc adds handlers in a subclass passed as
``graph_node_importer_cls`` and never copies the importer.  Effect tokens get
the ``!fxc.token`` type through a ``ContextCache`` subclass that recognises
nodes tagged by :func:`tag_tokens`.  Functionalized mutating ops
(``auto_functionalized``, v1 and v2) become calls into the host runtime
(``functionalized.py``), and a torchbind object (a node tagged with
``OBJECT_META``) a named reference the host runtime resolves.
"""

from __future__ import annotations

import operator
import os
import re
import sysconfig
from typing import Any, List

import torch
from torch_mlir import ir
from torch_mlir.dialects import func as func_dialect
from torch_mlir.extras.fx_importer import (
    ContextCache,
    FxImporter,
    GraphNodeImporter,
)

from fxc.dialects import fxc as fxc_d
from fxc.dialects import host_calls
from fxc.frontend import autocast, functionalized
from fxc.errors import CompileError, location_of

#: node.meta key marking FX nodes whose value is an effect token.
TOKEN_META = "fxc_token"
#: node.meta key naming the script object (torchbind) an FX node stands for:
#: the key of ``Program.objects`` the host runtime looks it up by.
OBJECT_META = functionalized.OBJECT_META

_MAKE_TOKEN = torch.ops.prims._make_token.default
_SINK_TOKENS = torch.ops.prims._sink_tokens.default


def overload_name(op) -> str:
    """PyTorch's qualified overload name: ``aten.mm.default``."""
    if isinstance(op, torch._ops.OpOverload):
        ns, name = op._schema.name.split("::")
        return f"{ns}.{name}.{op._overloadname}"
    if isinstance(op, torch._ops.HigherOrderOperator):
        return f"higher_order.{op.name()}"
    return str(op)


def tag_tokens(graph: torch.fx.Graph, token_placeholders=()) -> None:
    """Marks the FX nodes that carry effect tokens (see TOKEN_META)."""
    names = set(token_placeholders)
    for node in graph.nodes:
        if node.op == "placeholder" and node.name in names:
            node.meta[TOKEN_META] = True
        elif node.op == "call_function" and _is_with_effects(node):
            # A graph from aot_autograd passes tokens as plain inputs.
            token = node.args[0]
            if isinstance(token, torch.fx.Node) and token.op == "placeholder":
                token.meta[TOKEN_META] = True
        elif node.op == "call_function" and node.target is _MAKE_TOKEN:
            node.meta[TOKEN_META] = True
        elif (
            node.op == "call_function"
            and node.target is operator.getitem
            and isinstance(node.args[0], torch.fx.Node)
            and _is_with_effects(node.args[0])
            and node.args[1] == 0
        ):
            node.meta[TOKEN_META] = True


def _is_with_effects(node: torch.fx.Node) -> bool:
    return isinstance(node.target, torch._ops.HigherOrderOperator) and node.target.name() == "with_effects"


_FRAME = re.compile(r"""File "([^"]+)", line ([0-9]+),""")


def _library_dirs() -> tuple:
    """Where installed code lives (the stdlib, site-packages, fxc itself)."""
    paths = sysconfig.get_paths()
    dirs = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    dirs |= {os.path.dirname(os.path.dirname(torch.__file__)), os.path.dirname(os.path.dirname(__file__))}
    return tuple(os.path.join(os.path.realpath(d), "") for d in dirs)


_LIBRARY_DIRS = _library_dirs()


def user_frames(frames: list) -> list:
    """``frames`` (outermost first) without the library frames inside the
    innermost frame of the user's own code, if there is one: an op that
    ``torch.nn`` or ``transformers`` code calls on behalf of the user's line
    is located at that line."""
    is_user = [not os.path.realpath(f).startswith(_LIBRARY_DIRS) for f, _ in frames]
    if True not in is_user:
        return frames
    innermost = len(is_user) - 1 - is_user[::-1].index(True)
    return frames[: innermost + 1]


class FxcContextCache(ContextCache):
    """Types token-carrying nodes as ``!fxc.token``; locates ops at user lines.

    A location is ``callsite(innermost at callers...)`` built from the node's
    stack trace, skipping generated code (``<eval_with_key>``...) and the
    library frames inside the user's innermost one (:func:`user_frames`), so
    that the innermost frame is a line the user wrote.
    """

    def get_node_location(self, node):
        trace = node.meta.get("stack_trace")
        if not trace:
            return None
        loc = self._frames_location(trace)
        if node.op == "call_function":
            # Named after the PyTorch op, so that a failure in any later
            # stage can say which op it came from (fxc.errors.torch_op_of).
            loc = ir.Location.name(overload_name(node.target), childLoc=loc, context=self._c)
        return loc

    def _frames_location(self, trace: str):
        frames = [(f, int(line)) for f, line in _FRAME.findall(trace)]
        real = user_frames([fr for fr in frames if not fr[0].startswith("<")] or frames)
        if not real:
            return ir.Location.unknown(context=self._c)
        locs = [ir.Location.file(f, line, col=0, context=self._c) for f, line in real]
        if len(locs) == 1:
            return locs[0]
        return ir.Location.callsite(locs[-1], locs[-2::-1], context=self._c)

    def node_val_to_type(self, node, *, mutable: bool = False):
        if node.meta.get(TOKEN_META):
            return fxc_d.token_type(self._c)
        return super().node_val_to_type(node, mutable=mutable)


class FxcGraphNodeImporter(GraphNodeImporter):
    """Imports the higher-order ops and token ops torch-mlir does not know."""

    # -- helpers ---------------------------------------------------------
    def _error(self, loc, message: str) -> CompileError:
        return CompileError(message, location_of(loc))

    def _schema_operands(self, loc, op, args, kwargs) -> List[ir.Value]:
        """Imports ``op``'s arguments in schema order, with defaults."""
        schema = op._schema
        operands = []
        for i, param in enumerate(schema.arguments):
            if i < len(args):
                value = args[i]
            elif param.name in kwargs:
                value = kwargs[param.name]
            else:
                operands.append(self._import_default_value(loc, param.default_value, param.type))
                continue
            operands.append(self._import_argument(loc, value, param.type))
        if len(operands) > fxc_d.MAX_ARGS:
            raise self._error(
                loc, f"{overload_name(op)} takes {len(operands)} arguments; fxc ops hold at most {fxc_d.MAX_ARGS}"
            )
        return operands

    def _result_types(self, vals) -> List[ir.Type]:
        types = []
        for v in vals:
            if v is None:
                continue
            if not isinstance(v, torch.Tensor):
                raise NotImplementedError(f"non-tensor result {v!r}")
            types.append(self._cc.get_vtensor_type(v.size(), v.dtype, val=v))
        return types

    # -- errors at the user's line -----------------------------------------
    def _import_hop(self, loc, node, hop):
        try:
            super()._import_hop(loc, node, hop)
        except NotImplementedError as e:
            raise self._error(loc, f"fxc cannot import the higher-order op '{hop.name()}': {e}") from None

    # -- higher-order ops ------------------------------------------------
    def _import_hop_with_effects(self, loc, node, hop):
        token_node, op, *args = node.args
        if not isinstance(op, torch._ops.OpOverload):
            raise self._error(loc, f"with_effects of {op!r} (a {type(op).__name__}) is not supported by fxc")
        token = self.resolve_node_value(token_node)
        if not fxc_d.is_token(token.type):
            raise self._error(loc, f"with_effects({overload_name(op)}) got {token.type} where an effect token was expected")
        with loc, ir.InsertionPoint(self._b):
            operands = self._schema_operands(loc, op, args, node.kwargs)
            vals = list(node.meta["val"])[1:]
            result_types = self._result_types(vals)
            if len(result_types) > fxc_d.MAX_RESULTS:
                raise self._error(loc, f"{overload_name(op)} has {len(result_types)} results; fxc.with_effects holds at most {fxc_d.MAX_RESULTS}")
            results = fxc_d.with_effects(token, overload_name(op), operands, result_types, loc=loc)
        self._multi_result_nodes.add(node)
        self.bind_node_value(node, results[0], 0)
        it = iter(results[1:])
        for i, v in enumerate(vals, start=1):
            self.bind_node_value(node, None if v is None else next(it), i)

    def _import_hop_auto_functionalized_v2(self, loc, node, hop):
        """A mutating op, functionalized: a host call on copies of its bases.

        torch-mlir imports only v1, as a ``torch.operator`` no backend
        lowers.  The op is opaque Python/C++ code, so fxc calls it in the
        host runtime, which reproduces ``auto_functionalized_v2`` exactly
        (copy the bases, regenerate each mutable argument as its view of its
        copy, run the op, return its results and the copies); see
        ``fxc/dialects/host_calls.py``.  No token: the op is a function of
        its operands, and a call to an external function is never dropped
        or reordered, so it still runs once, in program order.
        """
        try:
            call = functionalized.host_call_v2(node)
        except functionalized.Unsupported as e:
            raise self._error(loc, str(e)) from None
        self._import_host_call(loc, node, call)

    def _import_hop_auto_functionalized(self, loc, node, hop):
        """v1 (``torch._export.config.enable_auto_functionalized_v2_for_export``
        off, or inductor's config): the same host call, each mutable argument
        its own base.  Replaces torch-mlir's handler, whose ``torch.operator``
        fxc could not lower."""
        try:
            call = functionalized.host_call_v1(node)
        except functionalized.Unsupported as e:
            raise self._error(loc, str(e)) from None
        self._import_host_call(loc, node, call)

    def _import_host_call(self, loc, node, call):
        with loc, ir.InsertionPoint(self._b):
            operands, types = [], []
            for value in call.operands:
                operands.append(self._import_argument(loc, value))
                types.append(operands[-1].type)
            result_types = self._result_types(call.node_vals)
            table = self.fx_importer.symbol_table
            name = host_calls.unique_name(table)
            args = [host_calls.args_entry(a) for a in call.args]
            decl = host_calls.declare(self.fx_importer.module.body, name, call.op_name, args,
                                      types, result_types, bases=call.bases)
            if call.result_sizes:
                decl.attributes["fxc.result_sizes"] = host_calls.to_attr(call.result_sizes)
            table.insert(decl)
            results = func_dialect.CallOp(result_types, ir.FlatSymbolRefAttr.get(name), operands).results
        if isinstance(node.meta["val"], (list, tuple)):
            self._multi_result_nodes.add(node)
        it = iter(results)
        for i, v in enumerate(call.node_vals):
            self.bind_node_value(node, None if v is None else next(it), i)

    def _import_argument(self, loc, arg, expected_jit_type=None):
        name = arg.meta.get(OBJECT_META) if isinstance(arg, torch.fx.Node) else None
        if name is None:
            return super()._import_argument(loc, arg, expected_jit_type)
        # A script object: a string naming it, marked so that no pass takes
        # it for a string (fxc-lower-effects makes it {object = name}).
        with loc:
            ref = ir.Operation.create(
                "torch.constant.str", results=[ir.Type.parse("!torch.str")],
                attributes={"value": ir.StringAttr.get(name), host_calls.OBJECT_ATTR: ir.UnitAttr.get()},
            ).result
        return ref

    def _import_hop_out_dtype(self, loc, node, hop):
        op, dtype, *args = node.args
        val = node.meta["val"]
        with loc, ir.InsertionPoint(self._b):
            operands = self._schema_operands(loc, op, args, node.kwargs)
            result_type = self._cc.get_vtensor_type(val.size(), val.dtype, val=val)
            value = fxc_d.out_dtype(
                overload_name(op), self._cc.dtype_to_type(dtype), operands, result_type, loc=loc
            )
        self.bind_node_value(node, value)

    def _import_hop_invoke_subgraph(self, loc, node, hop):
        """An autocast region kept by ``fxc.frontend.autocast``: its body's
        ops, imported in place between ``fxc.autocast_enter`` and
        ``fxc.autocast_exit`` (see the IRDL file for why markers)."""
        sub, ident, *args = node.args
        state = autocast.region_state(ident)
        if state is None:
            raise self._error(loc, f"invoke_subgraph '{ident}' is not an autocast region; fxc imports no other")
        device, dtype, enabled, cache_enabled = state
        body = getattr(node.graph.owning_module, sub.target)
        with loc, ir.InsertionPoint(self._b):
            element = self._cc.dtype_to_type(dtype or torch.bfloat16)
            scope = fxc_d.autocast_enter(device, element, enabled, cache_enabled, loc=loc)
        placeholders = [n for n in body.graph.nodes if n.op == "placeholder"]
        for ph, arg in zip(placeholders, args):
            self.bind_node_value(ph, self.resolve_node_value(arg))
        self.import_nodes(body.graph.nodes, skip_placeholders_outputs=True)
        (outputs,) = [n for n in body.graph.nodes if n.op == "output"][0].args
        with loc, ir.InsertionPoint(self._b):
            fxc_d.autocast_exit(scope, loc=loc)
        self._multi_result_nodes.add(node)
        for i, out in enumerate(outputs):
            self.bind_node_value(node, self.resolve_node_value(out) if isinstance(out, torch.fx.Node) else None, i)

    # -- token ops -------------------------------------------------------
    def _import_torch_op_overload(self, loc, node, concrete_target=None):
        target = concrete_target or node.target
        if target is _MAKE_TOKEN:
            with loc, ir.InsertionPoint(self._b):
                self.bind_node_value(node, fxc_d.make_token(loc=loc))
            return
        if target is _SINK_TOKENS:
            (tokens,) = node.args
            with loc, ir.InsertionPoint(self._b):
                fxc_d.sink_tokens([self.resolve_node_value(t) for t in tokens], loc=loc)
            self.bind_node_value(node, None)
            return
        if is_opaque_custom_op(target, self._c):
            try:
                call = functionalized.host_call_plain(node)
            except functionalized.Unsupported as e:
                raise self._error(loc, str(e)) from None
            self._import_host_call(loc, node, call)
            return
        super()._import_torch_op_overload(loc, node, concrete_target)


def is_opaque_custom_op(target, context: ir.Context) -> bool:
    """A custom op (not ATen's, nor prims') that mutates nothing and that
    torch-mlir has no op for: fxc calls it in the host runtime."""
    if not isinstance(target, torch._ops.OpOverload) or torch._library.utils.is_builtin(target):
        return False
    if any(a.alias_info is not None and a.alias_info.is_write for a in target._schema.arguments):
        return False
    ns, name = target._schema.name.split("::")
    return not context.is_registered_operation(f"torch.{ns}.{name}")


class FxcImporter(FxImporter):
    """An FxImporter whose graphs know fxc's ops and token type."""

    def _import_all_child_modules(self, module, parent_name, import_symbolic_shape_expressions=False):
        # Autocast region bodies are imported in place, not as functions.
        regions = {
            n.args[0].target for n in module.graph.nodes
            if n.op == "call_function" and getattr(n.target, "name", lambda: "")() == "invoke_subgraph"
            and autocast.region_state(n.args[1]) is not None
        }
        for name, child in module.named_children():
            if isinstance(child, torch.fx.GraphModule) and name not in regions:
                self.import_graph_module(child, func_name=name, func_visibility="private",
                                         import_symbolic_shape_expressions=import_symbolic_shape_expressions)

    def __init__(self, *, context: ir.Context, hooks=None):
        super().__init__(context=context, hooks=hooks, graph_node_importer_cls=FxcGraphNodeImporter)
        self._cc = FxcContextCache(self._c, py_attr_tracker=self._py_attr_tracker)
