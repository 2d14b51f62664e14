"""fxc-emit-c-interface: public functions get MLIR's C interface.

Marks every public ``func.func`` with ``llvm.emit_c_interface`` so the LLVM
lowering emits ``_mlir_ciface_<name>``, which takes one pointer per memref
descriptor: the calling convention fxc's runtimes use.
"""

from __future__ import annotations

from torch_mlir import ir

from fxc.compiler.passes import ModulePass, register, public_funcs


@register
class EmitCInterface(ModulePass):
    name = "fxc-emit-c-interface"
    summary = "Mark public functions with llvm.emit_c_interface"

    def run(self, module_op):
        for fn in public_funcs(module_op):
            fn.attributes["llvm.emit_c_interface"] = ir.UnitAttr.get()
