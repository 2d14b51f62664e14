"""fxc-convert-memref-copy-to-linalg: strided copies become loops, not calls.

MLIR lowers a ``memref.copy`` between contiguous buffers to ``memcpy`` but a
strided one to a call to ``memrefCopy`` from ``libmlir_c_runner_utils``, a
library the torch-mlir wheel does not ship (the JIT then fails with "Symbols
not found: memrefCopy").  This pass rewrites each copy that involves a
non-identity layout into ``linalg.copy``, which ``convert-linalg-to-loops``
turns into a loop nest; contiguous copies are left for ``memcpy``.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import linalg

from fxc._mlir_compat import ops_named
from fxc.compiler.passes import ModulePass, register


def _contiguous(t: ir.Type) -> bool:
    try:
        mt = ir.MemRefType(t)
    except ValueError:
        return False
    return mt.layout.is_identity if hasattr(mt.layout, "is_identity") else "strided" not in str(mt)


@register
class ConvertMemrefCopyToLinalg(ModulePass):
    name = "fxc-convert-memref-copy-to-linalg"
    summary = "Rewrite strided memref.copy ops into linalg.copy"

    def run(self, module_op):
        for op in ops_named(module_op, "memref.copy"):
            src, dst = op.operands
            if _contiguous(src.type) and _contiguous(dst.type):
                continue
            with op.location, ir.InsertionPoint(op):
                linalg.copy(src, outs=[dst])
            op.erase()
