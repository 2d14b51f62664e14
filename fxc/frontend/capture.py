"""Capture a PyTorch program with torch.export and import it into MLIR.

The result of capture is a :class:`Program`: the decomposed ExportedProgram
and its calling convention (which flat inputs/outputs are user tensors and
which are effect tokens).  :func:`import_program` turns it into a module in
the ``torch`` stage: torch-dialect ops plus fxc ops, one public ``func.func``.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any, List, Optional, Sequence

import torch
import torch.utils._pytree as pytree
from torch.export import ExportedProgram
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
from fxc.frontend.importer import TOKEN_META, FxcImporter, tag_tokens


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
    """

    exported: ExportedProgram
    inputs: List[Any]
    outputs: List[Any]
    in_spec: Any
    out_spec: Any
    entry: str = "main"
    graph: Optional[torch.fx.GraphModule] = None


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
            ep = torch.export.export(
                model, tuple(args), kwargs or {}, strict=False, dynamic_shapes=dynamic_shapes
            )
        ep = ep.run_decompositions()
    return _program_of(ep)


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


def _program_of(ep: ExportedProgram) -> Program:
    nodes = {n.name: n for n in ep.graph.nodes}
    inputs: List[Any] = []
    for spec in ep.graph_signature.input_specs:
        if spec.kind != InputKind.USER_INPUT:
            continue
        if isinstance(spec.arg, ConstantArgument):
            inputs.append(spec.arg.value)
        else:
            inputs.append(TensorSpec.of(spec.arg.name, nodes[spec.arg.name].meta["val"]))
    outputs: List[Any] = []
    for spec in ep.graph_signature.output_specs:
        if spec.kind == OutputKind.USER_OUTPUT:
            if isinstance(spec.arg, ConstantArgument):
                outputs.append(spec.arg.value)
            else:
                outputs.append(TensorSpec.of(spec.arg.name, nodes[spec.arg.name].meta["val"]))
    for spec in ep.graph_signature.output_specs:
        if spec.kind in (OutputKind.BUFFER_MUTATION, OutputKind.USER_INPUT_MUTATION):
            raise CompileError(
                f"fxc does not compile programs that mutate {spec.kind.name.lower().replace('_', ' ')}s yet ({spec.target})"
            )
    return Program(ep, inputs, outputs, ep.call_spec.in_spec, ep.call_spec.out_spec)


def _lift_tokens_to_user(ep: ExportedProgram) -> List[str]:
    """Turns TOKEN inputs/outputs into user ones so torch-mlir imports them.

    Their nodes are tagged so they get the ``!fxc.token`` type.  Returns the
    token placeholder names.
    """
    sig = ep.graph_signature
    tokens = [s.arg.name for s in sig.input_specs if s.kind == InputKind.TOKEN]
    if not tokens and not any(s.kind == OutputKind.TOKEN for s in sig.output_specs):
        tag_tokens(ep.graph)
        return []
    ins = [
        InputSpec(InputKind.USER_INPUT, TensorArgument(s.arg.name), None) if s.kind == InputKind.TOKEN else s
        for s in sig.input_specs
    ]
    outs = [
        OutputSpec(OutputKind.USER_OUTPUT, TensorArgument(s.arg.name), None) if s.kind == OutputKind.TOKEN else s
        for s in sig.output_specs
    ]
    ep._graph_signature = ExportGraphSignature(input_specs=ins, output_specs=outs)
    tag_tokens(ep.graph, tokens)
    return tokens


def capture_graph(gm: torch.fx.GraphModule) -> Program:
    """A Program for an ATen-level FX graph that already carries metadata.

    This is the route of graphs handed to fxc by ``torch.compile`` (through
    aot_autograd): flat tensor inputs and a flat tuple of outputs, effect
    tokens (if any) as plain inputs and outputs.
    """
    tag_tokens(gm.graph)
    inputs, outputs = [], []
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            val = node.meta.get("val")
            if node.meta.get(TOKEN_META):
                inputs.append(TOKEN)
            elif isinstance(val, torch.Tensor):
                inputs.append(TensorSpec.of(node.name, val))
            else:
                raise CompileError(f"graph input {node.name} is a {type(val).__name__}; fxc compiles tensor inputs")
        elif node.op == "output":
            leaves, out_spec = pytree.tree_flatten(node.args[0])
            for arg in leaves:
                if isinstance(arg, torch.fx.Node) and arg.meta.get(TOKEN_META):
                    outputs.append(TOKEN)
                elif isinstance(arg, torch.fx.Node):
                    outputs.append(TensorSpec.of(arg.name, arg.meta["val"]))
                else:
                    outputs.append(arg)
    _, in_spec = pytree.tree_flatten((tuple(range(len(inputs))), {}))
    return Program(None, inputs, outputs, in_spec, out_spec, graph=gm)


def import_program(program: Program, context: ir.Context) -> ir.Module:
    """Imports ``program`` into a new module (the ``torch`` stage)."""
    if program.graph is not None:
        importer = FxcImporter(context=context)
        try:
            importer.import_stateless_graph(program.graph.graph, func_name=program.entry)
        except NotImplementedError as e:
            raise CompileError(f"fxc cannot import this graph: {e}") from None
        return importer.module
    ep = program.exported
    saved = ep._graph_signature
    _lift_tokens_to_user(ep)
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
