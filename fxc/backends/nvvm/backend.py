"""The NVVM backend's compiler side: its stages, options and artifacts.

Stages after the common ``linalg``:

* ``bufferized``: one-shot bufferization of the whole program (results
  become out-params, so the host plan allocates every buffer; no
  deallocation pipeline: the runtime's allocator owns the memory).
* ``gpu``: every linalg op to ``scf.parallel`` loops (reductions keep an
  inner ``scf.for``: one thread per output element), tiled so the inner loops
  become threads and the outer ones blocks (``gpu-map-parallel-loops``,
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
from typing import Tuple

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
            tile_sizes: ``scf-parallel-loop-tiling`` sizes: the tiles are the
                threads of a block (leading loop dimensions first).
        """

        chip: str = "sm_90"
        ptx_version: int = 87
        tile_sizes: Tuple[int, ...] = (1, 256)

    def stages(self, options):
        tiles = ",".join(map(str, options.tile_sizes))
        return (
            Stage("bufferized", ("linalg", "tensor", "arith", "func"), (
                "func.func(linalg-fuse-elementwise-ops)",
                "one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map}",
                "buffer-results-to-out-params{modify-public-functions=true hoist-static-allocs=true}",
                "canonicalize",
            )),
            Stage("gpu", ("linalg", "memref", "arith", "func"), (
                "func.func(convert-linalg-to-parallel-loops)",
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
        steps = plan.host_plan(module, signature.entry, len(signature.results), host_calls)
        manifest = {"target": "nvvm", "options": options_dict(options), "host_calls": host_calls, "plan": steps}
        return Artifact(manifest, plan.cubins(module))
