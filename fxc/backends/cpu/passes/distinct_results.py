"""fxc-distinct-results: every result of a public function is its own tensor.

A function that returns one value twice (``return y, y``, or two equal
computations merged by CSE) would have ``buffer-results-to-out-params``
hoist one allocation into two out-params, which crashes it.  This pass runs
on tensors, before bufferization, and gives each repeated result a copy
(``linalg.copy`` into a fresh ``tensor.empty``), which bufferization then
writes straight into its own out-param.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import arith, linalg, tensor

from fxc._mlir_compat import ops_named
from fxc.compiler.passes import ModulePass, register, public_funcs


@register
class DistinctResults(ModulePass):
    name = "fxc-distinct-results"
    summary = "Copy results that a public function returns more than once"

    def run(self, module_op):
        for fn in public_funcs(module_op):
            for ret in ops_named(fn, "func.return"):
                self._rewrite(ret)

    def _rewrite(self, ret):
        seen = []
        for i, v in enumerate(list(ret.operands)):
            if any(v == s for s in seen) and _is_ranked_tensor(v.type):
                ret.operands[i] = self._copy(ret, v)
            seen.append(v)

    @staticmethod
    def _copy(ret, v: ir.Value) -> ir.Value:
        t = ir.RankedTensorType(v.type)
        with ret.location, ir.InsertionPoint(ret):
            sizes = [
                tensor.DimOp(v, arith.ConstantOp(ir.IndexType.get(), d).result).result
                if size == ir.ShapedType.get_dynamic_size()
                else size
                for d, size in enumerate(t.shape)
            ]
            empty = tensor.EmptyOp(sizes, t.element_type).result
            return linalg.copy(v, outs=[empty])


def _is_ranked_tensor(t: ir.Type) -> bool:
    try:
        ir.RankedTensorType(t)
        return True
    except ValueError:
        return False
