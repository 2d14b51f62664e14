"""fxc-indirect-host-calls: host calls go through a table the loader fills.

Runs on the LLVM dialect.  A host-call declaration (an ``llvm.func`` without
body carrying ``fxc.op``, e.g. ``@_mlir_ciface_fxc_host_0``) would be an
undefined symbol of the shared object, which no loader can point at a
Python callback.  This pass gives each one a pointer-sized global of the
same name plus ``_fn`` (``@_mlir_ciface_fxc_host_0_fn``, zero until loaded)
and turns every call into a load of that global and an indirect call.  The
declaration stays, unused, as the record of what the host call is; the
runtime writes each callback's address into its global after loading the
object, so two loads of one artifact never share callbacks.
"""

from __future__ import annotations

from torch_mlir import ir

from fxc._mlir_compat import ops_named
from fxc.compiler.passes import ModulePass, register

#: Suffix of the global holding a host call's function pointer.
SLOT_SUFFIX = "_fn"


@register
class IndirectHostCalls(ModulePass):
    name = "fxc-indirect-host-calls"
    summary = "Call host-runtime declarations through loader-filled function-pointer globals"

    def run(self, module_op):
        body = module_op.regions[0].blocks[0]
        decls = [
            op.operation for op in body.operations
            if op.operation.name == "llvm.func" and "fxc.op" in op.attributes and len(op.regions[0].blocks) == 0
        ]
        if not decls:
            return False
        slots = {}
        for decl in decls:
            name = ir.StringAttr(decl.attributes["sym_name"]).value
            slots[name] = name + SLOT_SUFFIX
            self._declare_slot(body, decl, slots[name])
        # One walk for every declaration (the module is large by now).
        for call in ops_named(module_op, "llvm.call"):
            if "callee" in call.attributes:
                slot = slots.get(ir.FlatSymbolRefAttr(call.attributes["callee"]).value)
                if slot is not None:
                    self._make_indirect(call, slot)

    @staticmethod
    def _declare_slot(body, decl, slot: str) -> None:
        text = (f'llvm.mlir.global external @{slot}() : !llvm.ptr {{\n'
                f'  %0 = llvm.mlir.zero : !llvm.ptr\n  llvm.return %0 : !llvm.ptr\n}}')
        holder = ir.Module.parse(text, decl.context)
        glob = holder.body.operations[0]
        glob.operation.move_before(decl)

    @staticmethod
    def _make_indirect(call, slot: str) -> None:
        ptr = ir.Type.parse("!llvm.ptr", call.context)
        with call.location, ir.InsertionPoint(call):
            addr = ir.Operation.create(
                "llvm.mlir.addressof", results=[ptr],
                attributes={"global_name": ir.FlatSymbolRefAttr.get(slot)},
            ).result
            fn = ir.Operation.create("llvm.load", results=[ptr], operands=[addr],
                                     attributes={"ordering": ir.IntegerAttr.get(ir.IntegerType.get_signless(64), 0)}).result
            attrs = {n: call.attributes[n] for n in call.attributes if n not in ("callee", "operandSegmentSizes")}
            operands = [fn, *call.operands]
            attrs["operandSegmentSizes"] = ir.DenseI32ArrayAttr.get([len(operands), 0])
            new = ir.Operation.create("llvm.call", results=[r.type for r in call.results], operands=operands,
                                      attributes=attrs)
        for old, r in zip(call.results, new.results):
            old.replace_all_uses_with(r)
        call.erase()
