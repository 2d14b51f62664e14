"""fxc-expand-f64-to-half: ``arith.truncf`` from f64 to f16/bf16 without
compiler-rt.

LLVM lowers ``fptrunc double to half`` / ``to bfloat`` to calls to
``__truncdfhf2`` / ``__truncdfbf2``, which the JIT cannot resolve (they live
in compiler-rt / libgcc_s, not in the process).  This pass truncates through
f32 instead: f64 -> f32 -> f16/bf16, each step rounding to nearest even.
That is what PyTorch does (``c10::Half`` and ``c10::BFloat16`` convert a
double through ``float``), so results match eager bit for bit, including the
rare double rounding a direct conversion would avoid.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import arith

from fxc._mlir_compat import ops_named
from fxc.compiler.passes import ModulePass, register


def _is(t: ir.Type, cls) -> bool:
    return isinstance(t, cls) or isinstance(getattr(t, "maybe_downcast", lambda: t)(), cls)


@register
class ExpandF64ToHalf(ModulePass):
    name = "fxc-expand-f64-to-half"
    summary = "Truncate f64 to f16/bf16 through f32, as PyTorch does (no __truncdfhf2/__truncdfbf2)"

    def run(self, module_op):
        changed = False
        for op in ops_named(module_op, "arith.truncf"):
            src, dst = op.operands[0].type, op.results[0].type
            if not (_is(src, ir.F64Type) and (_is(dst, ir.F16Type) or _is(dst, ir.BF16Type))):
                continue
            changed = True
            if "roundingmode" in op.attributes:
                raise self.fail(op, "fxc-expand-f64-to-half: truncf with an explicit rounding mode is not supported")
            with op.location, ir.InsertionPoint(op):
                value = arith.truncf(dst, arith.truncf(ir.F32Type.get(), op.operands[0]))
            op.results[0].replace_all_uses_with(value)
            op.erase()
        return changed
