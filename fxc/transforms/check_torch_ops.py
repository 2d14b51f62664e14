"""fxc-check-torch-ops: fail fast on PyTorch ops torch-mlir cannot lower.

The importer turns an ATen op that has no torch-dialect definition into a
generic ``torch.operator "aten.name"``.  No torch-mlir conversion lowers one,
so compiling it can only end in a legalization failure, after the torch
backend pipeline (the slowest stage of a large model) has run.  This pass
runs right after import and names the first such op at the user's line.
"""

from __future__ import annotations

from fxc._mlir_compat import walk
from fxc.compiler.passes import ModulePass, register


@register
class CheckTorchOps(ModulePass):
    name = "fxc-check-torch-ops"
    summary = "Report the first PyTorch op with no torch-dialect definition (torch.operator)"

    def run(self, module_op):
        found = []

        def visit(op):
            if not found and op.name == "torch.operator":
                found.append(op)

        walk(module_op, visit)
        if found:
            op = found[0]
            what = str(op.attributes["name"]).strip('"').removeprefix("torch.")
            raise self.fail(op, f"fxc cannot compile '{what}': torch-mlir has no lowering for this op")
