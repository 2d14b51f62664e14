"""The target-independent stages: ``torch`` (import) -> ``fxc`` -> ``linalg``.

Backends append theirs (``Backend.stages``).  Read by the API, the CLI and
``fxc-opt``.
"""

from __future__ import annotations

from typing import Tuple

import fxc.transforms  # noqa: F401  (registers the passes named below)
from fxc.compiler.stage import IMPORT, Stage

COMMON_STAGES: Tuple[Stage, ...] = (
    Stage(
        "fxc",
        ("torch", "fxc"),
        (
            # First: the autocast policy applies to the ops as imported,
            # before anything moves them out of their region.
            "fxc-apply-autocast",
            "fxc-verify",
            # Before the torch backend pipeline: an op nothing lowers fails
            # here, not after minutes of work on a large model.
            "fxc-check-torch-ops",
            "fxc-lower-effects",
            "fxc-lower-out-dtype",
            "torchdynamo-export-to-torch-backend-pipeline",
        ),
    ),
    Stage(
        "linalg",
        ("torch",),
        (
            # torch-mlir's torch-backend-to-linalg-on-tensors-backend-pipeline,
            # less its final contract check, which rejects the func.call ops
            # of fxc's host runtime; fxc-check-lowered takes its place.
            # Size symbols go first: torch-to-linalg has no lowering for them.
            "fxc-lower-symbolic-shapes",
            "fxc-torch-narrow-int-operands",
            "fxc-torch-widen-half-reductions",
            # torch-to-linalg pools batched inputs only (an unbatched 3-d
            # average pool crashes it).
            "fxc-torch-batch-unbatched-pools",
            "func.func(torch-scalarize-shapes)",
            "func.func(convert-torch-to-tmtensor)",
            "func.func(convert-torch-to-linalg)",
            "fxc-unsigned-matmul-rebuild",
            "func.func(convert-torch-to-scf)",
            "fxc-convert-float-scalars-to-arith",
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
            # Frozen weights transposed once, at compile time (linear's).
            "fxc-fold-constant-transposes",
            "fxc-check-lowered",
        ),
    ),
)


def pipeline_of(backend, options) -> Tuple[Stage, ...]:
    """Every stage after import for ``backend`` with ``options``."""
    return COMMON_STAGES + tuple(backend.stages(options))


def stage_names(backend, options) -> list:
    return [IMPORT.name] + [s.name for s in pipeline_of(backend, options)]
