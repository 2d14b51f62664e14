"""Capture a PyTorch program with torch.export and import it into MLIR.

The result of capture is a :class:`Program`: the decomposed ExportedProgram
and its calling convention (which flat inputs/outputs are user tensors and
which are effect tokens).  :func:`import_program` turns it into a module in
the ``torch`` stage: torch-dialect ops plus fxc ops, one public ``func.func``.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any, Dict, List, Optional, Sequence

import torch
import torch.utils._pytree as pytree
from torch.export import ExportedProgram
from torch.fx.experimental.symbolic_shapes import GuardOnDataDependentSymNode
from torch.export.graph_signature import (
    ConstantArgument,
    ExportGraphSignature,
    InputKind,
    InputSpec,
    OutputKind,
    OutputSpec,
    TensorArgument,
)
from torch_mlir import ir

from fxc.errors import CompileError
from fxc.frontend.decompose import TABLE, decompose_graph
from fxc.frontend.importer import _FRAME, OBJECT_META, TOKEN_META, FxcImporter, tag_tokens


@dataclasses.dataclass(frozen=True)
class TensorSpec:
    """What a compiled function expects (or returns) at one position."""

    name: str
    shape: tuple
    dtype: torch.dtype

    @staticmethod
    def of(name: str, val) -> "TensorSpec":
        return TensorSpec(name, tuple(val.shape), val.dtype)


class _Token:
    """Marks an effect-token position in a calling convention."""

    def __repr__(self):
        return "TOKEN"


#: An input or output position that carries an effect token: the compiled
#: function has no argument or result there (tokens vanish in lowering); the
#: caller passes anything and gets an empty tensor back, as PyTorch does.
TOKEN = _Token()


@dataclasses.dataclass(eq=False)
class StateInput:
    """A module buffer (or parameter) the program mutates.

    The compiled function takes it as an argument at every call (its value
    then, by reference) and returns its new value, which a :class:`WriteBack`
    copies into it.
    """

    name: str
    tensor: torch.Tensor


@dataclasses.dataclass(eq=False)
class WriteBack:
    """A result of the compiled function that is state, not a user output.

    After each call it is copied into ``target``: an ``int`` is the position
    of a flat user input the program mutates, a :class:`StateInput` a
    mutated buffer.
    """

    name: str
    target: Any


@dataclasses.dataclass
class Program:
    """A captured program and its calling convention.

    Attributes:
        exported: the decomposed ExportedProgram fxc compiles, or None for a
            graph given directly (``graph``).
        inputs: one entry per flat user input: a TensorSpec, TOKEN, or the
            constant value of a non-tensor input that export specialised.
        outputs: one entry per flat user output: a TensorSpec, TOKEN, or a
            constant.
        in_spec / out_spec: pytree specs of (args, kwargs) and of the result.
        entry: the name of the public function in the module.
        call_args: the compiled function's tensor arguments, in order: an
            ``int`` is a flat user-input position, a StateInput a mutated
            buffer.  Default: the tensor positions of ``inputs``.
        call_results: the compiled function's tensor results, in order,
            each the list of places it goes to: an ``int`` is a flat
            user-output position, a WriteBack a mutation.  A value the
            program returns more than once (an output that is also a
            mutation, an output and its ``detach``) is a result once.
            Default: one result per tensor position of ``outputs``.
        objects: script objects (torchbind) the program passes to effectful
            ops, by the name the IR refers to them with.
        import_signature: the graph signature torch-mlir imports (tokens,
            mutated state and mutations as plain inputs/outputs).
    """

    exported: ExportedProgram
    inputs: List[Any]
    outputs: List[Any]
    in_spec: Any
    out_spec: Any
    entry: str = "main"
    graph: Optional[torch.fx.GraphModule] = None
    call_args: Optional[List[Any]] = None
    call_results: Optional[List[Any]] = None
    objects: Dict[str, Any] = dataclasses.field(default_factory=dict)
    import_signature: Optional[ExportGraphSignature] = None

    def __post_init__(self):
        if self.call_args is None:
            self.call_args = [i for i, s in enumerate(self.inputs) if isinstance(s, TensorSpec)]
        if self.call_results is None:
            self.call_results = [[i] for i, s in enumerate(self.outputs) if isinstance(s, TensorSpec)]

    @property
    def has_state(self) -> bool:
        """Whether calls read module state, write anything back, or fan a
        result out to several places (anything but one result per output)."""
        return not (
            all(isinstance(a, int) for a in self.call_args)
            and all(len(r) == 1 and isinstance(r[0], int) for r in self.call_results)
        )

    def call_arg_specs(self) -> List[TensorSpec]:
        """The TensorSpec of each argument of the compiled function."""
        return [self.inputs[a] if isinstance(a, int) else TensorSpec.of(a.name, a.tensor) for a in self.call_args]

    def call_result_specs(self) -> List[TensorSpec]:
        """The TensorSpec of each result of the compiled function."""
        specs = []
        for r, *_ in self.call_results:
            if isinstance(r, int):
                specs.append(self.outputs[r])
            else:
                t = r.target
                specs.append(TensorSpec(r.name, *(
                    (t.tensor.shape, t.tensor.dtype) if isinstance(t, StateInput)
                    else (self.inputs[t].shape, self.inputs[t].dtype))))
        return specs


def capture(model, args: Sequence = (), kwargs: Optional[dict] = None, *, dynamic_shapes=None) -> Program:
    """Exports ``model`` (non-strict) and decomposes it to core ATen.

    Args:
        model: an ``nn.Module`` (a ``GraphModule`` from ``make_fx`` is one),
            a plain function, or an ``ExportedProgram``.
        args, kwargs: example inputs.
        dynamic_shapes: passed to ``torch.export.export``.
    """
    with warnings.catch_warnings():
        # torch 2.13 deep-copies its own deprecated LeafSpec while exporting.
        warnings.filterwarnings("ignore", message=".*LeafSpec.*", category=FutureWarning)
        if isinstance(model, ExportedProgram):
            ep = model
        else:
            if not isinstance(model, torch.nn.Module):
                model = _FunctionModule(model)
            with _lifted_tokens():
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
            ep = ep.run_decompositions(TABLE)
    _check_outputs(ep)
    return _program_of(ep)


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


def _program_of(ep: ExportedProgram) -> Program:
    """The calling convention of a decomposed ExportedProgram.

    The module fxc imports takes and returns plain values only: effect
    tokens, the buffers the program mutates and the new values of mutated
    buffers and user inputs become ordinary arguments and results (see
    ``import_signature``).  Tokens vanish in lowering; the others are the
    ``call_args`` / ``call_results`` the runtime reads and writes back.
    """
    sig = ep.graph_signature
    nodes = {n.name: n for n in ep.graph.nodes}
    state_targets = {s.target for s in sig.output_specs if s.kind in _STATE_MUTATIONS}
    user_positions = {}
    inputs: List[Any] = []
    call_args: List[Any] = []
    states = {}
    objects = {}
    import_ins: List[InputSpec] = []
    for spec in sig.input_specs:
        if spec.kind == InputKind.USER_INPUT:
            import_ins.append(spec)
            if isinstance(spec.arg, ConstantArgument):
                inputs.append(spec.arg.value)
                continue
            user_positions[spec.arg.name] = len(inputs)
            call_args.append(len(inputs))
            inputs.append(TensorSpec.of(spec.arg.name, nodes[spec.arg.name].meta["val"]))
        elif spec.kind == InputKind.TOKEN:
            import_ins.append(InputSpec(InputKind.USER_INPUT, TensorArgument(spec.arg.name), None))
        elif spec.kind in (InputKind.BUFFER, InputKind.PARAMETER) and spec.target in state_targets:
            state = StateInput(spec.target, _state_tensor(ep, spec))
            states[spec.target] = state
            call_args.append(state)
            import_ins.append(InputSpec(InputKind.USER_INPUT, TensorArgument(spec.arg.name), None))
        elif spec.kind == InputKind.CUSTOM_OBJ:
            # Not a function argument: each use imports a reference by name.
            objects[spec.target] = ep.constants[spec.target]
            nodes[spec.arg.name].meta[OBJECT_META] = spec.target
        else:
            import_ins.append(spec)
    outputs: List[Any] = []
    call_results: List[Any] = []
    import_outs: List[OutputSpec] = []
    result_of = {}  # FX node name -> index in call_results

    def sink(name, where):
        if name not in result_of:
            result_of[name] = len(call_results)
            call_results.append([])
            import_outs.append(OutputSpec(OutputKind.USER_OUTPUT, TensorArgument(name), None))
        call_results[result_of[name]].append(where)

    for spec in sig.output_specs:
        if spec.kind == OutputKind.USER_OUTPUT and isinstance(spec.arg, ConstantArgument):
            outputs.append(spec.arg.value)  # not a result of the function
        elif spec.kind == OutputKind.USER_OUTPUT:
            sink(spec.arg.name, len(outputs))
            outputs.append(TensorSpec.of(spec.arg.name, nodes[spec.arg.name].meta["val"]))
        elif spec.kind == OutputKind.TOKEN:
            import_outs.append(OutputSpec(OutputKind.USER_OUTPUT, TensorArgument(spec.arg.name), None))
        elif spec.kind == OutputKind.USER_INPUT_MUTATION:
            sink(spec.arg.name, WriteBack(spec.target, user_positions[spec.target]))
        elif spec.kind in _STATE_MUTATIONS:
            sink(spec.arg.name, WriteBack(spec.target, states[spec.target]))
        else:
            raise CompileError(f"fxc does not compile programs with {spec.kind.name} outputs ({spec.arg})")
    tag_tokens(ep.graph, [s.arg.name for s in sig.input_specs if s.kind == InputKind.TOKEN])
    return Program(
        ep, inputs, outputs, ep.call_spec.in_spec, ep.call_spec.out_spec,
        call_args=call_args, call_results=call_results, objects=objects,
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
    aot_autograd): flat tensor inputs and a flat tuple of outputs, effect
    tokens (if any) as plain inputs and outputs.
    """
    tag_tokens(gm.graph)
    inputs, outputs = [], []
    objects = {}
    for node in gm.graph.nodes:
        if node.op == "get_attr" and isinstance(getattr(gm, node.target, None), torch.ScriptObject):
            # A torchbind object (aot_export_module's ``_torchbind_obj0``).
            objects[node.target] = getattr(gm, node.target)
            node.meta[OBJECT_META] = node.target
        elif node.op == "placeholder":
            val = node.meta.get("val")
            if node.meta.get(TOKEN_META):
                inputs.append(TOKEN)
            elif isinstance(val, torch.Tensor):
                inputs.append(TensorSpec.of(node.name, val))
            else:
                raise CompileError(f"graph input {node.name} is a {type(val).__name__}; fxc compiles tensor inputs")
        elif node.op == "output":
            leaves, out_spec = pytree.tree_flatten(node.args[0])
            results, call_results, result_of = [], [], {}
            for pos, arg in enumerate(leaves):
                if isinstance(arg, torch.fx.Node) and arg.meta.get(TOKEN_META):
                    outputs.append(TOKEN)
                    results.append(arg)
                elif isinstance(arg, torch.fx.Node):
                    outputs.append(TensorSpec.of(arg.name, arg.meta["val"]))
                    src = _alias_source(arg)
                    if src not in result_of:
                        result_of[src] = len(call_results)
                        results.append(src)
                        call_results.append([])
                    call_results[result_of[src]].append(pos)
                else:
                    outputs.append(arg)
            if results != leaves:
                gm = _with_outputs(gm, results)
    _, in_spec = pytree.tree_flatten((tuple(range(len(inputs))), {}))
    return Program(None, inputs, outputs, in_spec, out_spec, graph=gm, objects=objects, call_results=call_results)


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
            graph = decompose_graph(program.graph).graph
            importer.import_stateless_graph(graph, func_name=program.entry)
        except NotImplementedError as e:
            raise CompileError(f"fxc cannot import this graph: {e}") from None
        return importer.module
    ep = program.exported
    saved = ep._graph_signature
    ep._graph_signature = program.import_signature
    try:
        importer = FxcImporter(context=context)
        try:
            importer.import_program(ep, func_name=program.entry)
        except NotImplementedError as e:
            raise CompileError(f"fxc cannot import this program: {e}") from None
        return importer.module
    finally:
        ep._graph_signature = saved


def flatten_inputs(program: Program, args, kwargs) -> list:
    """Flat user inputs of a call, in the order of ``program.inputs``."""
    flat, spec = pytree.tree_flatten((tuple(args), dict(kwargs or {})))
    if spec != program.in_spec:
        raise TypeError(
            f"inputs do not match the structure the program was compiled for: "
            f"expected {program.in_spec}, got {spec}"
        )
    return flat


def unflatten_outputs(program: Program, flat: list):
    return pytree.tree_unflatten(flat, program.out_spec)
