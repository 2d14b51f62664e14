"""Capture a PyTorch program with torch.export and import it into MLIR.

The result of capture is a :class:`Program`: the decomposed ExportedProgram
and its calling convention (which flat inputs/outputs are user tensors and
which are effect tokens).  :func:`import_program` turns it into a module in
the ``torch`` stage: torch-dialect ops plus fxc ops, one public ``func.func``.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import threading
import warnings
from typing import Any, Dict, List, Optional, Sequence

import torch
import torch.utils._pytree as pytree
from torch.export import ExportedProgram
from torch.fx.experimental.symbolic_shapes import GuardOnDataDependentSymNode, free_unbacked_symbols
from torch.export.graph_signature import (
    ConstantArgument,
    ExportGraphSignature,
    InputKind,
    InputSpec,
    OutputKind,
    OutputSpec,
    TensorArgument,
)
from torch.multiprocessing.reductions import StorageWeakRef
from torch_mlir import ir

from fxc.errors import CompileError
from fxc.frontend import autocast as autocast_regions
from fxc.frontend import fast_paths, sizes
from fxc.frontend.decompose import TABLE, decompose_graph
from fxc.frontend.fold_conv_affine import fold_conv_affine
from fxc.frontend.symbolic import normalize_symbolic_scalars
from fxc.frontend.importer import _FRAME, OBJECT_META, TOKEN_META, FxcImporter, tag_tokens
from fxc.runtime.signature import Result, Signature, Slot, State, TensorType, dim_of


@dataclasses.dataclass
class Program:
    """A captured program: what to import, and its signature.

    Attributes:
        exported: the decomposed ExportedProgram fxc compiles, or None for a
            graph given directly (``graph``).
        signature: the ABI of the compiled program
            (:class:`fxc.runtime.signature.Signature`): its inputs, outputs,
            the parameters and buffers it reads at each call, and the
            mutations it writes back.
        state: where the live parameters and buffers are: the ``nn.Module``
            that was exported, or a dict (an ExportedProgram's own state).
        frozen: parameters and buffers the program does not mutate are
            constants of the code (``freeze=True``), not arguments.
        objects: script objects (torchbind) the program passes to effectful
            ops, by the name the IR refers to them with.
        import_signature: the graph signature torch-mlir imports (tokens,
            state the program reads and mutations as plain inputs/outputs).
    """

    exported: Optional[ExportedProgram]
    signature: Signature
    graph: Optional[torch.fx.GraphModule] = None
    state: Any = None
    frozen: bool = False
    objects: Dict[str, Any] = dataclasses.field(default_factory=dict)
    import_signature: Optional[ExportGraphSignature] = None

    @property
    def entry(self) -> str:
        return self.signature.entry


def capture(model, args: Sequence = (), kwargs: Optional[dict] = None, *, freeze: bool = False,
            dynamic_shapes=None, autocast: Optional[torch.dtype] = None) -> Program:
    """Exports ``model`` (non-strict) and decomposes it to core ATen.

    Args:
        model: an ``nn.Module`` (a ``GraphModule`` from ``make_fx`` is one),
            a plain function, or an ``ExportedProgram``.
        args, kwargs: example inputs.
        freeze: make the parameters and buffers the program does not mutate
            constants of the code instead of arguments read at each call.
        dynamic_shapes: passed to ``torch.export.export``.
        autocast: capture the program as if its forward ran inside
            ``torch.autocast("cpu", autocast)`` (``fxc.frontend.autocast``).
    """
    names = _parameter_names(model)
    with _EXPORT_LOCK, warnings.catch_warnings():
        # torch 2.13 deep-copies its own deprecated LeafSpec while exporting.
        warnings.filterwarnings("ignore", message=".*LeafSpec.*", category=FutureWarning)
        if isinstance(model, ExportedProgram):
            ep = model
        else:
            if not isinstance(model, torch.nn.Module):
                model = _FunctionModule(model)
                if isinstance(dynamic_shapes, dict) and names and set(dynamic_shapes) <= set(names):
                    # The wrapper's forward takes *args: key the spec by it.
                    dynamic_shapes = {"args": tuple(dynamic_shapes.get(n) for n in names[: len(args)])}
            if autocast is not None:
                model = autocast_regions.WholeProgram(model, autocast)
            with _lifted_tokens(), fast_paths.eager_checks():
                try:
                    ep = torch.export.export(
                        model, tuple(args), kwargs or {}, strict=False, dynamic_shapes=dynamic_shapes
                    )
                except GuardOnDataDependentSymNode as e:
                    raise CompileError(
                        "fxc compiles programs whose control flow and shapes do not depend on tensor "
                        f"values (int(tensor), .item() in a condition...): {str(e).strip().splitlines()[0]}"
                    ) from None
        with _lifted_tokens():
            # torch-mlir's own table (see fxc.frontend.decompose).
            ep = autocast_regions.run_decompositions(ep, TABLE)
    if freeze:
        fold_conv_affine(ep, _frozen_values(ep))
    _check_outputs(ep)
    program = _program_of(ep, freeze)
    program.state = model if isinstance(model, torch.nn.Module) else _own_state(ep)
    if program.signature.symbols and getattr(ep, "_guards_code", None):
        checks = sizes.size_checks(ep._guards_code, sizes.input_paths(model, ep, args, kwargs), program.signature)
        for i, n in enumerate(names):  # a plain function's arguments by their names
            checks = [(e, text.replace(f"args[{i}]", n)) for e, text in checks]
        program.signature.checks = checks
    _name_inputs(program.signature, names)
    return program


#: torch.export is not thread-safe (its tracing modes are process-global):
#: compiles from several threads export one at a time.
_EXPORT_LOCK = threading.Lock()


def _parameter_names(model) -> List[str]:
    """The positional parameter names of a plain function (export calls them
    ``args_0``...), so errors name the user's argument."""
    if isinstance(model, (torch.nn.Module, ExportedProgram)) or not callable(model):
        return []
    try:
        params = inspect.signature(model).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _name_inputs(signature: Signature, names: List[str]) -> None:
    for i, slot in enumerate(signature.inputs):
        if slot.name.startswith("args_") and slot.name[5:].isdigit() and int(slot.name[5:]) < len(names):
            signature.inputs[i] = dataclasses.replace(slot, name=names[int(slot.name[5:])])


def _mutated_state(ep: ExportedProgram) -> set:
    """The targets of the parameters and buffers the program writes."""
    return {s.target for s in ep.graph_signature.output_specs if s.kind in _STATE_MUTATIONS}


def _frozen_values(ep: ExportedProgram) -> dict:
    """The tensors of the parameters and buffers that ``freeze`` makes
    constants (those the program does not mutate), by placeholder name."""
    mutated = _mutated_state(ep)
    return {s.arg.name: _state_tensor(ep, s) for s in ep.graph_signature.input_specs
            if s.kind in (InputKind.BUFFER, InputKind.PARAMETER) and s.target not in mutated}


def _own_state(ep: ExportedProgram) -> dict:
    """An ExportedProgram's parameters and buffers by name."""
    state = dict(ep.state_dict)
    state.update({k: v for k, v in ep.constants.items() if isinstance(v, torch.Tensor)})
    return state


def _check_outputs(ep: ExportedProgram) -> None:
    """No output is a symbolic scalar (a SymInt or SymFloat from ``.item()``)."""
    nodes = {n.name: n for n in ep.graph.nodes}
    for spec in ep.graph_signature.output_specs:
        if not type(spec.arg).__name__.startswith("Sym"):  # SymInt/SymFloat/SymBoolArgument
            continue
        node = nodes.get(getattr(spec.arg, "name", None))
        where = None
        if node is not None and node.meta.get("stack_trace"):
            frames = _FRAME.findall(node.meta["stack_trace"])
            where = f"{frames[-1][0]}:{frames[-1][1]}" if frames else None
        raise CompileError(
            f"the program returns a {type(spec.arg).__name__.replace('Argument', '')} ({spec.arg.name}); "
            "fxc compiles programs that return tensors (return the tensor, not .item())", where)


def _lifted_tokens():
    """Export with effect tokens lifted to TOKEN inputs/outputs.

    With ``torch._functorch.config.unlift_effect_tokens`` set, torch 2.13's
    ``run_decompositions`` fails its own check (``_make_token`` has no
    ``nn_module_stack``); the lifted form is what export's signature
    describes, and fxc compiles both forms to the same code.
    """
    import torch._functorch.config as functorch_config

    return functorch_config.patch(unlift_effect_tokens=False)


class _FunctionModule(torch.nn.Module):
    """Wraps a plain function for torch.export.

    export records stack frames named ``forward`` only, unless a function is
    registered as an anchor; registering the user's function makes op
    locations point at the user's lines rather than at this wrapper.
    """

    def __init__(self, fn):
        super().__init__()
        self.fn = fn
        anchor = getattr(torch.fx.proxy, "_register_stack_trace_anchor", None)
        if anchor is not None and hasattr(fn, "__code__"):
            anchor(fn)

    def forward(self, *args, **kwargs):
        return self.fn(*args, **kwargs)


_STATE_MUTATIONS = (OutputKind.BUFFER_MUTATION, OutputKind.PARAMETER_MUTATION)
_MUTATIONS = _STATE_MUTATIONS + (OutputKind.USER_INPUT_MUTATION,)


def _program_of(ep: ExportedProgram, freeze: bool) -> Program:
    """The signature of a decomposed ExportedProgram, and what to import.

    The module fxc imports takes and returns plain values only: effect
    tokens, the parameters and buffers the program reads (all of them, or
    with ``freeze`` only those it mutates) and the new values of mutated
    state and user inputs become ordinary arguments and results (see
    ``import_signature``).  Tokens vanish in lowering; the others are the
    signature's ``args`` and ``results``.
    """
    sig = ep.graph_signature
    nodes = {n.name: n for n in ep.graph.nodes}
    mutated = _mutated_state(ep)
    user_positions = {}
    inputs: List[Slot] = []
    args: List[tuple] = []
    state: List[State] = []
    objects = {}
    import_ins: List[InputSpec] = []
    for spec in sig.input_specs:
        if spec.kind == InputKind.USER_INPUT:
            import_ins.append(spec)
            if isinstance(spec.arg, ConstantArgument):
                inputs.append(Slot("constant", spec.arg.name, value=spec.arg.value))
                continue
            val = nodes[spec.arg.name].meta["val"]
            if not isinstance(val, torch.Tensor):
                raise CompileError(f"input '{spec.arg.name}' is a {type(val).__name__}; fxc compiles tensor inputs")
            user_positions[spec.arg.name] = len(inputs)
            args.append(("input", len(inputs)))
            inputs.append(Slot("tensor", spec.arg.name, TensorType.of(val)))
        elif spec.kind == InputKind.TOKEN:
            import_ins.append(InputSpec(InputKind.USER_INPUT, TensorArgument(spec.arg.name), None))
        elif spec.kind in (InputKind.BUFFER, InputKind.PARAMETER) and (spec.target in mutated or not freeze):
            role = "parameter" if spec.kind == InputKind.PARAMETER else "buffer"
            state.append(State(spec.target, role, TensorType.of(_state_tensor(ep, spec))))
            args.append(("state", spec.target))
            import_ins.append(InputSpec(InputKind.USER_INPUT, TensorArgument(spec.arg.name), None))
        elif spec.kind == InputKind.CUSTOM_OBJ:
            # Not a function argument: each use imports a reference by name.
            objects[spec.target] = ep.constants[spec.target]
            nodes[spec.arg.name].meta[OBJECT_META] = spec.target
        else:
            import_ins.append(spec)  # a constant of the code
    outputs: List[Slot] = []
    results: List[list] = []  # [name, dests]
    import_outs: List[OutputSpec] = []
    result_of = {}  # FX node name -> index in results

    def sink(name, dest):
        if name not in result_of:
            result_of[name] = len(results)
            results.append([name, []])
            import_outs.append(OutputSpec(OutputKind.USER_OUTPUT, TensorArgument(name), None))
        results[result_of[name]][1].append(dest)

    for spec in sig.output_specs:
        if spec.kind == OutputKind.USER_OUTPUT and isinstance(spec.arg, ConstantArgument):
            outputs.append(Slot("constant", value=spec.arg.value))  # not a result of the function
        elif spec.kind == OutputKind.USER_OUTPUT and isinstance(spec.arg, TensorArgument):
            sink(spec.arg.name, ("output", len(outputs)))
            outputs.append(Slot("tensor", spec.arg.name, TensorType.of(nodes[spec.arg.name].meta["val"])))
        elif spec.kind == OutputKind.USER_OUTPUT:
            raise CompileError(f"the program returns {spec.arg} (a {type(spec.arg).__name__}); "
                               f"fxc compiles programs that return tensors and constants")
        elif spec.kind == OutputKind.TOKEN:
            import_outs.append(OutputSpec(OutputKind.USER_OUTPUT, TensorArgument(spec.arg.name), None))
        elif spec.kind == OutputKind.USER_INPUT_MUTATION:
            sink(spec.arg.name, ("input", user_positions[spec.target]))
        elif spec.kind in _STATE_MUTATIONS:
            sink(spec.arg.name, ("state", spec.target))
        else:
            raise CompileError(f"fxc does not compile programs with {spec.kind.name} outputs ({spec.arg})")
    tag_tokens(ep.graph, [s.arg.name for s in sig.input_specs if s.kind == InputKind.TOKEN])
    signature = Signature(
        inputs, outputs, args,
        [Result(name, TensorType.of(nodes[name].meta["val"]), tuple(dests)) for name, dests in results],
        state, ep.call_spec.in_spec, ep.call_spec.out_spec, symbols=sizes.symbols_of(ep),
    )
    # (data-dependent result sizes are the backend's to allocate: fxc-results-to-out-params)
    return Program(
        ep, signature, frozen=freeze, objects=objects,
        import_signature=ExportGraphSignature(input_specs=import_ins, output_specs=import_outs),
    )


def _state_tensor(ep: ExportedProgram, spec: InputSpec) -> torch.Tensor:
    """The live tensor behind a buffer/parameter input (the module's own)."""
    if spec.kind == InputKind.BUFFER and not spec.persistent:
        return ep.constants[spec.target]
    return ep.state_dict[spec.target]


def capture_graph(gm: torch.fx.GraphModule) -> Program:
    """A Program for an ATen-level FX graph that already carries metadata.

    This is the route of graphs handed to fxc by ``torch.compile`` (through
    aot_autograd): flat tensor inputs (parameters included: aot_autograd
    lifts them) and a flat tuple of outputs, effect tokens (if any) as plain
    inputs and outputs.
    """
    if any(_is_computed_scalar(a) for a in pytree.tree_leaves(gm.graph.output_node().args[0])):
        gm = torch.fx.GraphModule(gm, copy.deepcopy(gm.graph))  # the caller's graph may still run eagerly
    tag_tokens(gm.graph)
    inputs: List[Slot] = []
    args: List[tuple] = []
    outputs: List[Slot] = []
    objects = {}
    result_nodes, results, result_of = [], [], {}
    out_spec = None
    storages = {}  # the inputs' storages: an output that shares one is a view of that input
    elements = sizes.input_elements(gm.graph)  # values read from inputs, bound at each call
    view_symbols = set()
    for node in gm.graph.nodes:
        if node.op == "get_attr" and isinstance(getattr(gm, node.target, None), torch.ScriptObject):
            # A torchbind object (aot_export_module's ``_torchbind_obj0``).
            objects[node.target] = getattr(gm, node.target)
            node.meta[OBJECT_META] = node.target
        elif node.op == "placeholder":
            val = node.meta.get("val")
            if node.meta.get(TOKEN_META):
                inputs.append(Slot("token", node.name))
            elif isinstance(val, torch.Tensor):
                args.append(("input", len(inputs)))
                storages.setdefault(StorageWeakRef(val.untyped_storage()), len(inputs))
                inputs.append(Slot("tensor", node.name, TensorType.of(val)))
            elif isinstance(val, torch.SymInt):  # a size Dynamo passes (dynamic=True)
                args.append(("input", len(inputs)))
                inputs.append(Slot("symint", node.name, value=dim_of(val)))
            else:
                raise CompileError(f"graph input {node.name} is a {type(val).__name__}; fxc compiles tensor inputs")
        elif node.op == "output":
            leaves, out_spec = pytree.tree_flatten(node.args[0])
            for pos, arg in enumerate(leaves):
                if isinstance(arg, torch.fx.Node) and arg.meta.get(TOKEN_META):
                    outputs.append(Slot("token", arg.name))
                    result_nodes.append(arg)
                elif _is_computed_scalar(arg):
                    # A value only the program knows (.item(), a comparison of
                    # one): returned as a 0-d tensor, handed over as a scalar.
                    arg = _as_tensor(gm.graph, arg)
                    outputs.append(Slot("scalar", arg.name, TensorType.of(arg.meta["val"])))
                    result_nodes.append(arg)
                    results.append([arg, [("output", pos)]])
                elif isinstance(arg, torch.fx.Node) and isinstance(arg.meta.get("val"), torch.SymInt):
                    # A size: computed from the inputs' sizes at each call.
                    outputs.append(Slot("symint", arg.name, value=dim_of(arg.meta["val"])))
                    result_nodes.append(None)
                elif isinstance(arg, torch.fx.Node):
                    outputs.append(_tensor_output(arg, storages, inputs, elements, view_symbols))
                    src = _alias_source(arg)
                    if src not in result_of:
                        result_of[src] = len(results)
                        result_nodes.append(src)
                        results.append([src, []])
                    results[result_of[src]][1].append(("output", pos))
                else:
                    outputs.append(Slot("constant", value=arg))
            if result_nodes != leaves:  # (always, when a scalar became a tensor)
                gm = _with_outputs(gm, [r for r in result_nodes if r is not None])
    _, in_spec = pytree.tree_flatten((tuple(range(len(inputs))), {}))
    signature = Signature(
        inputs, outputs, args,
        [Result(src.name, TensorType.of(src.meta["val"]), tuple(dests)) for src, dests in results],
        [], in_spec, out_spec,
    )
    signature.checks, signature.values = sizes.value_checks(gm.graph, inputs, sorted(view_symbols))
    return Program(None, signature, graph=gm, objects=objects)


def _tensor_output(node: torch.fx.Node, storages: dict, inputs: List[Slot], elements: dict,
                   view_symbols: set) -> Slot:
    """A ``tensor`` output, or a ``view`` of the input whose storage it shares.

    Through torch.compile, aot_autograd rebuilds an output that is a view of
    an input from that input, with the strides and storage offset of what
    the compiled code returned: a copy (offset 0) would silently give
    ``x[n // 2:]`` the values of ``x[:n - n // 2]``.  The view's layout may
    use values read from inputs (``elements``; added to ``view_symbols``).
    """
    val = node.meta["val"]
    ref = storages.get(StorageWeakRef(val.untyped_storage())) if isinstance(val, torch.Tensor) else None
    if ref is None:
        return Slot("tensor", node.name, TensorType.of(val))
    layout = [*val.stride(), val.storage_offset()]
    unbacked = {str(s) for d in layout if isinstance(d, torch.SymInt) for s in free_unbacked_symbols(d)}
    view_symbols |= unbacked & elements.keys()
    if unbacked - elements.keys():
        frames = _FRAME.findall(node.meta.get("stack_trace") or "")
        raise CompileError(
            f"the program returns a view of input '{inputs[ref].name}' whose strides or storage offset "
            f"depend on data ({', '.join(str(d) for d in layout)}); fxc cannot return it "
            "(return a copy: .clone())", f"{frames[-1][0]}:{frames[-1][1]}" if frames else None)
    value = (ref, [dim_of(d) for d in val.stride()], dim_of(val.storage_offset()))
    return Slot("view", node.name, TensorType.of(val), value)


_SCALAR_DTYPES = {torch.SymInt: torch.int64, torch.SymFloat: torch.float64, torch.SymBool: torch.bool}


def _is_computed_scalar(arg) -> bool:
    """An output scalar that is not a function of the inputs' sizes."""
    val = arg.meta.get("val") if isinstance(arg, torch.fx.Node) else None
    if isinstance(val, torch.SymInt):
        return bool(free_unbacked_symbols(val))
    return isinstance(val, (torch.SymFloat, torch.SymBool))


def _as_tensor(graph: torch.fx.Graph, arg: torch.fx.Node) -> torch.fx.Node:
    """``aten.scalar_tensor(arg)`` of the scalar's dtype, before the output."""
    dtype = _SCALAR_DTYPES[type(arg.meta["val"])]
    with graph.inserting_before(graph.output_node()):
        node = graph.call_function(torch.ops.aten.scalar_tensor.default, (arg,), {"dtype": dtype})
    node.meta["val"] = torch.empty((), dtype=dtype)
    for key in ("stack_trace", "nn_module_stack"):
        if key in arg.meta:
            node.meta[key] = arg.meta[key]
    return node


def has_bare_effects(gm: torch.fx.GraphModule) -> bool:
    """Whether ``gm`` calls an effectful op outside ``with_effects``."""
    from torch._higher_order_ops.effects import _get_effect

    return any(
        n.op == "call_function" and isinstance(n.target, torch._ops.OpOverload) and _get_effect(n.target) is not None
        for n in gm.graph.nodes
    )


_ALIASES = (torch.ops.aten.detach.default, torch.ops.aten.alias.default)


def _alias_source(node: torch.fx.Node) -> torch.fx.Node:
    """The value a chain of ``detach``/``alias`` nodes stands for."""
    while node.op == "call_function" and node.target in _ALIASES:
        node = node.args[0]
    return node


def _with_outputs(gm: torch.fx.GraphModule, results: list) -> torch.fx.GraphModule:
    """A copy of ``gm`` that returns ``results``: each value once and tensors
    only (the caller's graph is left as it is; it may still run eagerly).

    Besides saving copies, this keeps the CPU pipeline away from functions
    that return one value twice (buffer-results-to-out-params with
    hoist-static-allocs crashes on them).
    """
    graph = torch.fx.Graph()
    env = {}
    graph.graph_copy(gm.graph, env)  # all but the output node
    graph.output(tuple(env[r] for r in results))
    return torch.fx.GraphModule(gm, graph)


def has_symbolic_shapes(gm: torch.fx.GraphModule) -> bool:
    """Whether a graph's inputs have symbolic sizes (``make_fx`` with
    ``tracing_mode="symbolic"``)."""
    vals = [n.meta.get("val") for n in gm.graph.nodes if n.op == "placeholder"]
    return any(
        isinstance(v, torch.SymInt) or (isinstance(v, torch.Tensor) and any(isinstance(d, torch.SymInt) for d in v.shape))
        for v in vals
    )


def traced_size_inputs(gm: torch.fx.GraphModule) -> tuple:
    """Zero-filled inputs of the sizes a symbolic graph was traced at (the
    hints of its size symbols), to specialize it when no example is given.

    Raises:
        CompileError: an input's size has no hint.
    """
    hint = lambda d: d.node.hint if isinstance(d, torch.SymInt) else d
    inputs = []
    for node in gm.graph.nodes:
        if node.op != "placeholder":
            continue
        val = node.meta.get("val")
        if isinstance(val, torch.Tensor):
            inputs.append(torch.zeros([hint(d) for d in val.shape], dtype=val.dtype))
        elif isinstance(val, torch.SymInt) and hint(val) is not None:
            inputs.append(hint(val))
        else:
            raise CompileError(f"graph input {node.name} ({val!r}) has no traced size; pass example inputs")
    return tuple(inputs)


def import_program(program: Program, context: ir.Context) -> ir.Module:
    """Imports ``program`` into a new module (the ``torch`` stage)."""
    if program.graph is not None:
        importer = FxcImporter(context=context)
        try:
            graph = normalize_symbolic_scalars(decompose_graph(program.graph)).graph
            importer.import_stateless_graph(graph, func_name=program.entry)
        except NotImplementedError as e:
            raise CompileError(f"fxc cannot import this graph: {e}") from None
        return importer.module
    ep = program.exported
    saved, saved_gm = ep._graph_signature, ep._graph_module
    ep._graph_signature = program.import_signature
    # Symbolic scalar ops torch-mlir has no import for (sym_max, sym_sum, ...)
    # rewritten as on the graph path (a copy; the user's program is untouched).
    ep._graph_module = normalize_symbolic_scalars(saved_gm, exported=True)
    try:
        importer = FxcImporter(context=context)
        try:
            # Size symbols, their ranges and relations become torch.symbolic_int
            # and torch.bind_symbolic_shape ops (fxc-lower-symbolic-shapes).
            importer.import_program(ep, func_name=program.entry,
                                    import_symbolic_shape_expressions=bool(program.signature.symbols))
        except NotImplementedError as e:
            raise CompileError(f"fxc cannot import this program: {e}") from None
        return importer.module
    finally:
        ep._graph_signature, ep._graph_module = saved, saved_gm
