"""fxc-nvvm-verify-mapped: every computation left on the host became a kernel.

After the parallel loops are mapped to ``gpu.launch`` and outlined, a public
function may only hold what the host plan (``plan.py``) runs: kernel
launches, host calls, buffer allocations, copies, views, constants and
globals.  Anything else is an op the NVVM backend does not map to the GPU
yet (a sequential ``scf.for`` at the top level, a ``tm_tensor`` op, ...):
this pass raises a CompileError at its user line naming the op, instead of
letting a later stage fail on it or the host silently compute it.
"""

from __future__ import annotations

from fxc.compiler.passes import ModulePass, funcs_with_body, register

#: Ops a host function may keep (``plan.py`` runs each of them).
HOST_OPS = frozenset({
    "gpu.launch_func", "func.call", "func.return", "memref.alloc", "memref.alloca", "memref.dealloc",
    "memref.copy", "memref.get_global", "memref.expand_shape", "memref.collapse_shape", "memref.subview",
    "arith.constant",
})


@register
class VerifyMapped(ModulePass):
    name = "fxc-nvvm-verify-mapped"
    summary = "Reject host code that was not mapped to GPU kernels"

    def run(self, module_op):
        for fn in funcs_with_body(module_op):
            for op in fn.regions[0].blocks[0].operations:
                op = op.operation
                if op.name not in HOST_OPS:
                    raise self.fail(op, f"fxc's NVVM backend cannot map '{op.name}' to GPU kernels yet")
