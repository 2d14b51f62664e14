"""fxc-torch-batch-unbatched-pools: average pools of unbatched inputs get a
batch dimension of 1.

PyTorch's ``avg_pool{1,2,3}d`` accept an input without its batch dimension
(``[C, L]``, ``[C, H, W]``, ``[C, D, H, W]``).  torch-mlir's conversion to
linalg assumes a batched input: the 2-d pool fails to verify and the 3-d one
crashes the process.  This pass computes such a pool on the input unsqueezed
at dimension 0 and squeezes the result, before the conversion to linalg.
"""

from __future__ import annotations

from torch_mlir import ir

from fxc._mlir_compat import walk
from fxc.compiler.passes import ModulePass, register
from fxc.dialects.torch_types import TorchBuilder, vtensor_parts, vtensor_type

#: op -> the rank of an unbatched input.
_POOLS = {"torch.aten.avg_pool1d": 2, "torch.aten.avg_pool2d": 3, "torch.aten.avg_pool3d": 4}


@register
class TorchBatchUnbatchedPools(ModulePass):
    name = "fxc-torch-batch-unbatched-pools"
    summary = "Give the unbatched inputs of average pools a batch dimension of 1"

    def run(self, module_op):
        todo = []
        walk(module_op, lambda op: todo.append(op) if op.name in _POOLS else None)
        for op in todo:
            self._rewrite(op)

    @staticmethod
    def _rewrite(op):
        operands = list(op.operands)
        source, result = vtensor_parts(operands[0].type), vtensor_parts(op.results[0].type)
        if not source or not result or len(source[0]) != _POOLS[op.name]:
            return
        with op.location, ir.InsertionPoint(op):
            zero = TorchBuilder.int(0)
            operands[0] = TorchBuilder.op("torch.aten.unsqueeze", [operands[0], zero],
                                          vtensor_type([1, *source[0]], source[1]))
            pooled = TorchBuilder.op(op.name, operands, vtensor_type([1, *result[0]], result[1]))
            squeezed = TorchBuilder.op("torch.aten.squeeze.dim", [pooled, zero], op.results[0].type)
        op.results[0].replace_all_uses_with(squeezed)
        op.erase()
