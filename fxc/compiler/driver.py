"""Running stages: the pass manager, failures and their reproducers.

``run_stage`` runs one :class:`~fxc.compiler.stage.Stage` of any table on a
module in place.  On failure it finds the failing pass, writes the module as
it was before that pass (with debug info) to a file, and raises a
CompileError at the user's source line whose notes give the ``fxc-opt``
command that reproduces it (torch-mlir's ``run_pipeline_with_repro_report``
is the model).  Each stage, and each pass while a timing is collected
(:mod:`fxc.compiler.timing`), is a timed phase.
"""

from __future__ import annotations

import os
import tempfile
from typing import Sequence

from torch_mlir import ir

from fxc import _mlir_compat, config
from fxc.compiler import timing
from fxc.compiler.passes import python_passes
from fxc.compiler.stage import Stage
from fxc.errors import CompileError, from_mlir_error


def run_passes(module: ir.Module, elements: Sequence[str]) -> None:
    """Runs pipeline ``elements`` (registered passes or textual ones) on ``module``."""
    pm = _mlir_compat.build_pass_manager(module.context, list(elements), python_passes(),
                                         verify=config.verify_each_pass())
    _mlir_compat.run_pass_manager(pm, module)


def run_stage(module: ir.Module, stage: Stage, *, repro_dir: str | None = None) -> None:
    """Runs ``stage``'s passes on ``module`` in place.

    Raises:
        CompileError: a pass failed; located at the user's line, with the
            ``fxc-opt`` command that reproduces the failing pass.
    """
    if not stage.passes:
        return
    with timing.phase(f"stage {stage.name}"):
        with timing.phase("snapshot for reproducers"):  # a copy: printing it waits for a failure
            before = module.operation.clone()
        try:
            if timing.active():  # one pass manager per pass, each timed
                for element in stage.passes:
                    with timing.phase(element):
                        run_passes(module, [element])
            else:
                run_passes(module, stage.passes)
        except Exception as e:  # noqa: BLE001  (a failing pass is a CompileError, never a traceback)
            err = _as_compile_error(e)
            raise _with_repro(err, stage, _mlir_compat.module_asm(before, debug_info=True), module.context,
                              repro_dir or config.repro_dir()) from None
        finally:
            before.erase()


def _as_compile_error(e: Exception) -> CompileError:
    if isinstance(e, CompileError):
        return e
    if isinstance(e, ir.MLIRError):
        return from_mlir_error(e)
    return CompileError(f"internal error in a pass ({type(e).__name__}): {e}")


def _with_repro(err: CompileError, stage: Stage, before: str, context, directory: str) -> CompileError:
    """Adds how to reproduce ``err``: the IR before the failing pass, and the
    command that runs that pass on it."""
    failing, text = stage.pipeline, before
    module = _mlir_compat.parse_module(before, context)
    for element in stage.passes:  # bisect to the first failing pass
        snapshot = _mlir_compat.module_asm(module, debug_info=True)
        try:
            run_passes(module, [element])
        except Exception:  # noqa: BLE001
            failing, text = f"builtin.module({element})", snapshot
            break
    os.makedirs(directory, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix=f"fxc-repro-{stage.name}-", suffix=".mlir", dir=directory)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    err.notes.append(f"note: stage '{stage.name}' failed; reproduce with:")
    err.notes.append(f"  fxc-opt --pass-pipeline='{failing}' {path}")
    return err
