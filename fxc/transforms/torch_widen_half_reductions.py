"""fxc-torch-widen-half-reductions: float16/bfloat16 sums and means
accumulate in float32, as eager's do.

torch-mlir lowers ``aten.sum`` / ``aten.mean`` of a half-precision tensor to
a reduction in that type, rounding after every addition; eager accumulates
in float32 and rounds once (the difference is an ulp of the result or more
as the reduction grows).  This pass computes such reductions on the input
cast to float32 and casts the result back, before the conversion to linalg.
Only reductions with no explicit ``dtype`` argument are rewritten.
"""

from __future__ import annotations

import torch
from torch_mlir import ir

from fxc._mlir_compat import walk
from fxc.compiler.passes import ModulePass, register
from fxc.dialects.torch_types import TorchBuilder, torch_dtype, vtensor_parts, vtensor_type

_REDUCTIONS = {  # op -> index of its dtype operand
    "torch.aten.sum.dim_IntList": 3,
    "torch.aten.mean.dim": 3,
    "torch.aten.sum": 1,
    "torch.aten.mean": 1,
}
_HALF = ("f16", "bf16")


def _is_none(value: ir.Value) -> bool:
    owner = value.owner
    return isinstance(owner, (ir.Operation, ir.OpView)) and owner.name == "torch.constant.none"


@register
class TorchWidenHalfReductions(ModulePass):
    name = "fxc-torch-widen-half-reductions"
    summary = "Accumulate float16/bfloat16 sums and means in float32"

    def run(self, module_op):
        todo = []
        walk(module_op, lambda op: todo.append(op) if op.name in _REDUCTIONS else None)
        for op in todo:
            self._rewrite(op)

    def _rewrite(self, op):
        operands = list(op.operands)
        source, result = vtensor_parts(operands[0].type), vtensor_parts(op.results[0].type)
        dtype_at = _REDUCTIONS[op.name]
        if not source or not result or source[1] not in _HALF or result[1] != source[1]:
            return
        if len(operands) <= dtype_at or not _is_none(operands[dtype_at]):
            return
        with op.location, ir.InsertionPoint(op):
            operands[0] = TorchBuilder.cast(operands[0], torch.float32)
            wide = TorchBuilder.op(op.name, operands, vtensor_type(result[0], "f32"))
            narrow = TorchBuilder.cast(wide, torch_dtype(result[1]))
        op.results[0].replace_all_uses_with(narrow)
        op.erase()
