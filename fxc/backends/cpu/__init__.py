"""The CPU backend: bufferize, lower to the LLVM dialect, JIT with MLIR's
ExecutionEngine."""

from __future__ import annotations

import dataclasses

from fxc.backends import Backend
from fxc.pipeline import Stage


class CpuBackend(Backend):
    targets = ("cpu",)

    @dataclasses.dataclass(frozen=True)
    class Options:
        """Options of the CPU backend.

        Attributes:
            opt_level: LLVM optimisation level used by the JIT (0-3).
        """

        opt_level: int = 3

    def stages(self, options):
        return (
            Stage(
                "bufferized",
                ("linalg", "tensor", "arith", "func"),
                (
                    "fxc-bufferize-host-calls",
                    "one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map}",
                    "buffer-results-to-out-params{modify-public-functions=true hoist-static-allocs=true}",
                    "buffer-deallocation-pipeline",
                    "canonicalize",
                ),
            ),
            Stage(
                "llvm",
                ("linalg", "memref", "arith", "func"),
                (
                    "fxc-emit-c-interface",
                    "func.func(convert-linalg-to-loops)",
                    "lower-affine",
                    "convert-scf-to-cf",
                    "expand-strided-metadata",
                    "lower-affine",
                    "finalize-memref-to-llvm",
                    "convert-to-llvm",
                    "reconcile-unrealized-casts",
                ),
            ),
        )

    def load(self, module, program, options):
        from fxc.backends.cpu.runtime import JitFunction

        return JitFunction(module, program, opt_level=options.opt_level)
