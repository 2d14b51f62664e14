"""fxc's public Python API."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import torch
import torch.utils._pytree as pytree

from fxc import _mlir_compat, config
from fxc.compiler.backend import get_backend
from fxc.compiler.driver import run_stage
from fxc.compiler.stage import IMPORT
from fxc.errors import CompileError
from fxc.frontend.capture import (
    TOKEN,
    Program,
    TensorSpec,
    capture,
    capture_graph,
    has_bare_effects,
    has_symbolic_shapes,
    traced_size_inputs,
    flatten_inputs,
    import_program,
    unflatten_outputs,
)
from fxc.transforms.stages import pipeline_of

__all__ = ["compile", "export", "CompiledModule", "ExportOutput", "CompileError", "stages"]


def stages(target: str = "cpu") -> list:
    """Names of the stages for ``target``, in order."""
    backend = get_backend(target)
    return [IMPORT.name] + [s.name for s in list(pipeline_of(backend, backend.Options()))]


@dataclasses.dataclass
class ExportOutput:
    """A program imported into MLIR (the ``torch`` stage).

    Attributes:
        program: the captured program and its calling convention.
        mlir: the module's text.
    """

    program: Program
    mlir: str

    def save(self, path) -> None:
        Path(path).write_text(self.mlir)


def export(model, example_args: Sequence = (), example_kwargs: Optional[dict] = None) -> ExportOutput:
    """Captures ``model`` with torch.export and imports it into MLIR.

    Args:
        model: an ``nn.Module``, a function, or an ``ExportedProgram``.
        example_args: positional example inputs.
        example_kwargs: keyword example inputs.

    Returns:
        An :class:`ExportOutput` holding the ``torch``-stage module.
    """
    program = capture(model, example_args, example_kwargs)
    ctx = _mlir_compat.new_context()
    module = import_program(program, ctx)
    return ExportOutput(program, _mlir_compat.module_asm(module, debug_info=True))


class CompiledModule:
    """A compiled program: call it like the original model.

    Attributes:
        mlir: the text of the last stage that ran.
        target: the target it was compiled for.
    """

    def __init__(self, program: Program, ir_by_stage: Dict[str, str], target: str, runner):
        self.program = program
        self._ir = ir_by_stage
        self.target = target
        self._run = runner
        self._tensor_positions = [i for i, s in enumerate(program.inputs) if isinstance(s, TensorSpec)]
        # Fast paths for the common calling conventions (no pytree work per call).
        n_in, n_out = len(program.inputs), len(program.outputs)
        self._plain_inputs = (
            len(self._tensor_positions) == n_in
            and program.in_spec == _spec_of((tuple(range(n_in)), {}))
            and not program.has_state
        )
        self._plain_outputs = all(isinstance(s, TensorSpec) for s in program.outputs) and not program.has_state
        if program.out_spec == _spec_of(0):
            self._pack = lambda outs: outs[0]
        elif program.out_spec == _spec_of(tuple(range(n_out))):
            self._pack = tuple
        else:
            self._pack = lambda outs: unflatten_outputs(program, outs)

    @property
    def mlir(self) -> str:
        return self._ir[list(self._ir)[-1]]

    def ir(self, stage: str) -> str:
        """The module as it was after ``stage`` (see :func:`stages`)."""
        if stage not in self._ir:
            raise KeyError(f"no IR for stage '{stage}'; have {list(self._ir)}")
        return self._ir[stage]

    def save(self, directory) -> None:
        """Writes ``<stage>.mlir`` for every stage that ran into ``directory``."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        for name, text in self._ir.items():
            (d / f"{name}.mlir").write_text(text)

    def __call__(self, *args, **kwargs):
        """Runs the compiled program; inputs are checked before any compiled code runs.

        Raises:
            TypeError / ValueError: an input has the wrong count, structure,
                dtype, shape or device; the message names the input.
        """
        if self._plain_inputs and not kwargs and self._run is not None:
            if len(args) != len(self._tensor_positions):
                raise TypeError(f"expected {len(self._tensor_positions)} inputs, got {len(args)}")
            outs = self._run(*args)
            if self._plain_outputs:
                return self._pack(outs)
            return self._pack(self._with_constants(outs))
        return self._pack(self.call_flat(flatten_inputs(self.program, args, kwargs)))

    def call_flat(self, flat: Sequence) -> list:
        """Runs the compiled program on flat inputs; returns flat outputs.

        Inputs and module buffers the program mutates are updated in place
        after the call, as eager PyTorch leaves them (not if it raised).
        """
        if self._run is None:
            raise RuntimeError(f"compilation stopped after stage '{list(self._ir)[-1]}'; nothing to run")
        if len(flat) != len(self.program.inputs):
            raise TypeError(f"expected {len(self.program.inputs)} inputs, got {len(flat)}")
        for i, (value, spec) in enumerate(zip(flat, self.program.inputs)):
            if not isinstance(spec, TensorSpec) and spec is not TOKEN and value != spec:
                raise ValueError(f"input {i}: the program was compiled for the constant {spec!r}, got {value!r}")
        if not self.program.has_state:
            return self._with_constants(self._run(*[flat[i] for i in self._tensor_positions]))
        args = [flat[a] if isinstance(a, int) else a.tensor for a in self.program.call_args]
        results = self._run(*args)
        outs = [torch.empty(0) if s is TOKEN else s for s in self.program.outputs]
        with torch.no_grad():
            for places, value in zip(self.program.call_results, results):
                for where in places:
                    if isinstance(where, int):
                        outs[where] = value
                    elif isinstance(where.target, int):
                        flat[where.target].copy_(value)  # a user input the program mutates
                    else:
                        where.target.tensor.copy_(value)  # a module buffer the program mutates
        return outs

    def _with_constants(self, tensors: list) -> list:
        if self._plain_outputs:
            return tensors
        outs = iter(tensors)
        return [
            next(outs) if isinstance(s, TensorSpec) else torch.empty(0) if s is TOKEN else s
            for s in self.program.outputs
        ]


def _spec_of(tree):
    return pytree.tree_flatten(tree)[1]


def compile(
    model,
    example_args: Sequence = (),
    example_kwargs: Optional[dict] = None,
    *,
    target: str = "cpu",
    stop_after: Optional[str] = None,
    options: Any = None,
) -> CompiledModule:
    """Compiles a PyTorch program with fxc.

    Args:
        model: an ``nn.Module`` (including a ``GraphModule``), a function, or
            an ``ExportedProgram``.  A ``GraphModule`` with symbolic shapes
            (``make_fx(..., tracing_mode="symbolic")``) is specialized to the
            shapes of ``example_args`` (default: the sizes it was traced at).
        example_args: positional example inputs (their shapes and dtypes are
            the ones the compiled program accepts).
        example_kwargs: keyword example inputs.
        target: a backend target, e.g. ``"cpu"``.
        stop_after: a stage name (see :func:`stages`); compile no further.
        options: the backend's ``Options`` (default: its defaults).

    Returns:
        A :class:`CompiledModule`.

    Raises:
        CompileError: the program cannot be compiled; the message points at
            the user's source line.
    """
    if isinstance(model, torch.fx.GraphModule) and has_symbolic_shapes(model):
        # fxc compiles static shapes: re-export at the example inputs' shapes.
        program = capture(model, example_args or traced_size_inputs(model), example_kwargs)
    elif isinstance(model, torch.fx.GraphModule) and _has_metadata(model):
        program = capture_graph(model)
    else:
        program = capture(model, example_args, example_kwargs)
    return compile_program(program, target=target, stop_after=stop_after, options=options)


def _next_dump_dir(root) -> Path:
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    n = sum(1 for _ in root.iterdir())
    return root / f"{n:04d}-{os.getpid()}"


def _has_metadata(gm: torch.fx.GraphModule) -> bool:
    """Whether ``gm`` can be compiled as it is: it has metadata and its
    effects are already functionalized (a ``make_fx`` graph calls
    ``aten._print`` bare; torch.export gives it tokens)."""
    return all("val" in n.meta for n in gm.graph.nodes if n.op == "placeholder") and not has_bare_effects(gm)


def compile_program(program: Program, *, target: str = "cpu", stop_after: Optional[str] = None, options: Any = None) -> CompiledModule:
    """Compiles a captured :class:`Program` (see :func:`compile`)."""
    backend = get_backend(target)
    options = options or backend.Options()
    ctx = _mlir_compat.new_context()
    module = import_program(program, ctx)
    ir_by_stage = {IMPORT.name: _mlir_compat.module_asm(module)}
    all_stages = pipeline_of(backend, options)
    names = [IMPORT.name] + [s.name for s in all_stages]
    if stop_after is not None and stop_after not in names:
        raise CompileError(f"unknown stage '{stop_after}'; stages are {', '.join(names)}")
    for stage in all_stages:
        if stop_after == list(ir_by_stage)[-1]:
            break
        run_stage(module, stage)
        ir_by_stage[stage.name] = _mlir_compat.module_asm(module)
    if config.dump_dir():
        CompiledModule(program, ir_by_stage, target, None).save(_next_dump_dir(config.dump_dir()))
    runner = None
    if stop_after is None or stop_after == names[-1]:
        runner = backend.load(module, program, options)
    return CompiledModule(program, ir_by_stage, target, runner)
