"""The Triton backend: linalg on tensors -> fused Triton kernels + a host plan.

Stages after the common ``linalg``:

* ``kernels`` (fxc-triton-outline-kernels): the linalg ops partitioned into
  private kernel functions (``@fxc_kernel_N``, ``fxc.kernel`` = pointwise,
  reduction or matmul) that the public function calls in program order,
  with host calls (effects) and views between them.
* ``triton`` (fxc-triton-generate-source): each kernel function carries its
  ``@triton.jit`` source and launch data.

**Why Triton source text, not Triton IR through its builder.**  The source
is Triton's stable, documented interface: the same text runs under the
interpreter (``TRITON_INTERPRET``: how CI checks numerics with no GPU),
JIT-compiles on the GPU machine's own triton (3.6 there, 3.9 here: the
builder's C++ API and TTIR differ between them, the language does not), and
a person can read and edit it.  The builder would tie artifacts to one
triton build and could not run in the interpreter.

Symbolic (dynamic) sizes follow ``sizes.py``: kernels take the symbols as
integer arguments, the plan evaluates grids and shapes per call, and
reuses intermediate buffers (``fxc.runtime.gpu_plan.assign_slots``, shared
with the NVVM backend).

Artifacts hold ``kernels.py`` (all kernels), the host plan, the host
calls and tensor constants (``const/N.bin``); with ``Options(cuda_arch=90)`` also each kernel's PTX and cubin for
that architecture, compiled here by ``triton.compile`` (``ptx.py``).
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import fxc.backends.triton.passes  # noqa: F401  (registers the passes named below)
from fxc.backends.triton import plan
from fxc.compiler.backend import Backend, options_dict
from fxc.compiler.stage import Stage
from fxc.runtime.artifact import Artifact


class TritonBackend(Backend):
    targets = ("triton",)

    @dataclasses.dataclass(frozen=True)
    class Options:
        """Options of the Triton backend.

        Attributes:
            cuda_arch: also compile each kernel to PTX and a cubin for this
                compute capability (90: H100/H200) and keep them in the
                artifact; None: kernels.py only (the GPU JIT-compiles it).
            ptx_version: the PTX ISA version of that PTX (87 loads on a
                CUDA 13.0 driver, which rejects triton 3.9's default).
        """

        cuda_arch: Optional[int] = None
        ptx_version: int = 87

    def stages(self, options):
        return (
            Stage("kernels", ("linalg", "tensor", "arith", "func"),
                  ("fxc-triton-outline-kernels", "canonicalize")),
            Stage("triton", ("linalg", "tensor", "arith", "func"), ("fxc-triton-generate-source",)),
        )

    def build(self, module, signature, options):
        host_calls = plan.host_call_specs(module)
        files = {plan.KERNELS: plan.kernel_module(module).encode()}
        steps = plan.host_plan(module, signature.entry, host_calls, files)
        if options.cuda_arch is not None:
            from fxc.backends.triton import ptx

            files.update(ptx.compile_all(files[plan.KERNELS].decode(), steps, options.cuda_arch,
                                         options.ptx_version))
        manifest = {"target": "triton", "options": options_dict(options), "host_calls": host_calls,
                    "plan": steps}
        return Artifact(manifest, files)
