"""fxc-check-lowered: nothing of torch, torch_c or fxc is left after lowering.

torch-mlir's conversions are partial: an op they cannot convert stays behind
and surfaces later as an obscure type-conversion failure.  This pass names
the first such op and the user's source line instead.
"""

from __future__ import annotations

from fxc._mlir_compat import walk
from fxc.compiler.passes import ModulePass, register

_LEFTOVER_DIALECTS = ("torch.", "torch_c.", "fxc.")
_OPERAND_ONLY = ("torch.constant.", "torch.prim.ListConstruct", "torch_c.")


@register
class CheckLowered(ModulePass):
    name = "fxc-check-lowered"
    summary = "Report the first torch/fxc op that was not lowered to linalg"

    def run(self, module_op):
        left = []

        def visit(op):
            if op.name.startswith(_LEFTOVER_DIALECTS):
                left.append(op)

        walk(module_op, visit)
        if left:
            # Name the op that needed a conversion, not a constant feeding it.
            real = [o for o in left if not o.name.startswith(_OPERAND_ONLY)]
            op = (real or left)[0]
            what = op.name
            if what == "torch.operator":
                what = f"torch.operator {op.attributes['name']}"
            raise self.fail(op, f"fxc cannot lower '{what}' to linalg: no conversion for this op")
