"""The NVVM backend's compiler side: its stages, options and artifacts.

Stages after the common ``linalg``:

* ``bufferized``: one-shot bufferization of the whole program (results
  become out-params, so the host plan allocates every buffer; no
  deallocation pipeline: the runtime's allocator owns the memory).
* ``gpu``: every linalg op to ``scf.parallel`` loops, parallel dims first
  (fxc-nvvm-interchange-reductions: a reduction over a leading dim keeps an
  inner ``scf.for``: one thread per output element; what has no parallel
  dim, a full reduction, runs as a one-thread kernel: fxc-nvvm-wrap-serial-code;
  a long row reduction is one block per row, its threads combined by
  ``gpu.all_reduce``: fxc-nvvm-block-reductions); each parallel loop nest a
  ``gpu.launch`` over its linearized iterations, ``threads`` per block
  (fxc-nvvm-map-parallel-loops; loops it cannot map statically go through
  ``scf-parallel-loop-tiling``, ``gpu-map-parallel-loops`` and
  ``convert-parallel-loops-to-gpu``), outlined into one ``gpu.module`` per
  kernel with ``gpu.launch_func`` on the host; fxc-nvvm-verify-mapped rejects
  what is left unmapped, naming the op.
* ``nvvm``: ``nvvm-attach-target`` and ``convert-gpu-to-nvvm`` (bare-pointer
  kernel arguments).
* ``ptx``: each ``gpu.module`` as a ``gpu.binary`` of PTX (fxc-nvvm-module-to-ptx).

``build`` assembles each PTX into a cubin with ``ptxas`` and writes the host
plan (``plan.py``); ``runtime.NvvmExecutable`` runs it on a CUDA device.
"""

from __future__ import annotations

import dataclasses

import fxc.backends.nvvm.passes  # noqa: F401  (registers the passes named below)
from fxc.backends.nvvm import plan
from fxc.compiler.backend import Backend, options_dict
from fxc.compiler.stage import Stage
from fxc.runtime.artifact import Artifact


class NvvmBackend(Backend):
    targets = ("nvvm",)

    @dataclasses.dataclass(frozen=True)
    class Options:
        """Options of the NVVM backend.

        Attributes:
            chip: the GPU the kernels are compiled for (sm_90: H100/H200).
            ptx_version: the PTX ISA version (87 loads on a CUDA 13.0 driver
                and is within what the wheel's CUDA 12.9 ptxas accepts).
            threads: threads per block of the kernels of parallel loops
                (fxc-nvvm-map-parallel-loops); what it leaves (dynamic
                bounds) is tiled by ``scf-parallel-loop-tiling`` with
                ``(1, threads)``.
        """

        chip: str = "sm_90"
        ptx_version: int = 87
        threads: int = 256

    def stages(self, options):
        tiles = f"1,{options.threads}"
        return (
            Stage("bufferized", ("linalg", "tensor", "arith", "func"), (
                "fxc-fuse-elementwise-ops",
                "one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map}",
                "buffer-results-to-out-params{modify-public-functions=true hoist-static-allocs=true}",
                "canonicalize",
            )),
            Stage("gpu", ("linalg", "memref", "arith", "func"), (
                "func.func(linalg-generalize-named-ops)",
                "fxc-nvvm-interchange-reductions",
                "fxc-nvvm-block-reductions",
                "func.func(convert-linalg-to-parallel-loops)",
                "fxc-nvvm-wrap-serial-code",
                f"fxc-nvvm-map-parallel-loops{{threads={options.threads}}}",
                # No canonicalize before mapping: it would merge the tile
                # loops back into one.
                f"func.func(scf-parallel-loop-tiling{{parallel-loop-tile-sizes={tiles} no-min-max-bounds=true}})",
                "func.func(gpu-map-parallel-loops)",
                "func.func(convert-parallel-loops-to-gpu)",
                "gpu-kernel-outlining",
                "canonicalize",
                "fxc-nvvm-verify-mapped",
            )),
            Stage("nvvm", ("gpu", "memref", "arith", "scf", "func"), (
                f"nvvm-attach-target{{chip={options.chip} features=+ptx{options.ptx_version}}}",
                "gpu.module(expand-strided-metadata,lower-affine,convert-scf-to-cf,"
                "convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=true},canonicalize,reconcile-unrealized-casts)",
            )),
            Stage("ptx", ("gpu", "llvm", "nvvm", "memref", "func"), ("fxc-nvvm-module-to-ptx",)),
        )

    def build(self, module, signature, options):
        host_calls = plan.host_call_specs(module)
        files = plan.cubins(module)
        steps = plan.host_plan(module, signature.entry, len(signature.results), host_calls, files)
        manifest = {"target": "nvvm", "options": options_dict(options), "host_calls": host_calls, "plan": steps}
        return Artifact(manifest, files)
