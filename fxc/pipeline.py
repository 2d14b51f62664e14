"""The compiler's stages, as data.

Each stage is named after the IR it produces and lists the pass-pipeline
elements that produce it from the previous stage's IR.  ``fxc compile
--emit=STAGE``, ``fxc.compile(..., stop_after=STAGE)`` and ``fxc-opt
--stage=STAGE`` read this table; a module dumped after any stage can be fed
back in to run the stages after it.  Backends add their own stages after
``linalg`` (see ``Backend.stages``).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from typing import Sequence, Tuple

from torch_mlir import ir

from fxc import _mlir_compat, config
from fxc.errors import CompileError, from_mlir_error


@dataclasses.dataclass(frozen=True)
class Stage:
    """One step of the pipeline.

    Attributes:
        name: the IR this stage produces (what ``--emit`` names).
        input_dialects: dialects the stage expects in its input.
        passes: pipeline elements: fxc pass names or upstream/torch-mlir
            textual pipeline elements.
    """

    name: str
    input_dialects: Tuple[str, ...]
    passes: Tuple[str, ...]

    @property
    def pipeline(self) -> str:
        return f"builtin.module({','.join(self.passes)})"


#: ``torch`` is produced by the frontend (import); it has no passes.
IMPORT = Stage("torch", ("pytorch",), ())

#: Target-independent stages, after import.
COMMON_STAGES: Tuple[Stage, ...] = (
    Stage(
        "fxc",
        ("torch", "fxc"),
        (
            "fxc-verify",
            "fxc-lower-effects",
            "fxc-lower-out-dtype",
            "torch-function-to-torch-backend-pipeline",
        ),
    ),
    Stage(
        "linalg",
        ("torch",),
        (
            # torch-mlir's torch-backend-to-linalg-on-tensors-backend-pipeline,
            # less its final contract check, which rejects the func.call ops
            # of fxc's host runtime; fxc-check-lowered takes its place.
            "fxc-torch-narrow-int-operands",
            "func.func(torch-scalarize-shapes)",
            "func.func(convert-torch-to-tmtensor)",
            "func.func(convert-torch-to-linalg)",
            "fxc-unsigned-matmul-rebuild",
            "func.func(convert-torch-to-scf)",
            "func.func(convert-torch-to-arith)",
            "func.func(convert-torch-to-tensor)",
            "convert-torch-conversion-to-mlprogram",
            "func.func(memref-expand)",
            "func.func(canonicalize)",
            "func.func(resolve-shaped-type-result-dims)",
            "func.func(cse)",
            "torch-func-backend-type-conversion",
            "func.func(canonicalize)",
            "func.func(torch-finalizing-backend-type-conversion)",
            "fxc-check-lowered",
        ),
    ),
)


def run_stage(module: ir.Module, stage: Stage, *, repro_dir: str | None = None) -> None:
    """Runs ``stage``'s passes on ``module`` in place.

    On failure, finds the failing pass, writes the module as it was before
    that pass (with debug info) to a file, and raises a CompileError at the
    user's source line whose notes give the ``fxc-opt`` command that
    reproduces the failure.
    """
    if not stage.passes:
        return
    before = _mlir_compat.module_asm(module, debug_info=True)
    try:
        _run(module.context, module, stage.passes)
    except (CompileError, ir.MLIRError) as e:
        err = e if isinstance(e, CompileError) else from_mlir_error(e)
        raise _with_repro(err, stage, before, module.context, repro_dir or config.repro_dir()) from None


def _run(context, module, passes) -> None:
    # Imported here: fxc.lowering's CPU kernel pass imports the CPU backend,
    # whose stage table imports this module.
    from fxc.lowering import python_passes

    pm = _mlir_compat.build_pass_manager(context, passes, python_passes())
    _mlir_compat.run_pass_manager(pm, module)


def _with_repro(err: CompileError, stage: Stage, before: str, context, directory: str) -> CompileError:
    """Adds how to reproduce ``err``: the IR before the failing pass, and the
    command that runs that pass on it."""
    failing, text = stage.pipeline, before
    module = _mlir_compat.parse_module(before, context)
    for element in stage.passes:  # bisect to the first failing pass
        snapshot = _mlir_compat.module_asm(module, debug_info=True)
        try:
            _run(context, module, [element])
        except (CompileError, ir.MLIRError):
            failing, text = f"builtin.module({element})", snapshot
            break
    fd, path = tempfile.mkstemp(prefix=f"fxc-repro-{stage.name}-", suffix=".mlir", dir=directory)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    err.notes.append(f"note: stage '{stage.name}' failed; reproduce with:")
    err.notes.append(f"  fxc-opt --pass-pipeline='{failing}' {path}")
    return err


def stage_names(stages: Sequence[Stage]) -> list:
    return [s.name for s in stages]
