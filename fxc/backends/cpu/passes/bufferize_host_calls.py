"""fxc-bufferize-host-calls: host-runtime calls take and fill buffers.

Runs before one-shot-bufferize.  A call to a host-runtime declaration (one
carrying ``fxc.op``, made by fxc-lower-effects) on tensors becomes a call on
memrefs: each tensor argument is passed as its buffer
(``bufferization.to_buffer ... read_only``), and each result is a fresh
``memref.alloc`` that the host fills, handed back to tensor code with
``bufferization.to_tensor restrict``, so ownership stays with compiled code
and the deallocation pipeline frees it.  The declaration's type changes to
``(args..., results...) -> ()``.

A result of dynamic size is sized by the call's last ``fxc.result_sizes``
operands, 0-d ``i64`` tensors holding its dynamic dimensions in order (the
frontend computes them from the op's fake result).
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import arith, bufferization, func, memref, tensor

from fxc._mlir_compat import ops_named
from fxc.compiler.passes import ModulePass, register


def _memref_of(t: ir.Type) -> ir.Type:
    rt = ir.RankedTensorType(t)
    return ir.MemRefType.get(rt.shape, rt.element_type)


@register
class BufferizeHostCalls(ModulePass):
    name = "fxc-bufferize-host-calls"
    summary = "Turn tensor host-runtime calls into calls on buffers"

    def run(self, module_op):
        body = module_op.regions[0].blocks[0]
        decls = {
            ir.StringAttr(o.attributes["sym_name"]).value: o.operation
            for o in body.operations
            if o.operation.name == "func.func" and "fxc.op" in o.attributes
        }
        for name, decl in decls.items():
            ftype = ir.FunctionType(ir.TypeAttr(decl.attributes["function_type"]).value)
            if any(isinstance(t, ir.MemRefType) or str(t).startswith("memref") for t in ftype.inputs) and not ftype.results:
                continue  # already bufferized
            ins = [_memref_of(t) for t in ftype.inputs]
            outs = [_memref_of(t) for t in ftype.results]
            decl.attributes["function_type"] = ir.TypeAttr.get(ir.FunctionType.get(ins + outs, []))
            # Kept for runtimes, which read host calls after the LLVM lowering
            # has replaced the function type.
            decl.attributes["fxc.buffer_types"] = ir.ArrayAttr.get([ir.TypeAttr.get(t) for t in ins + outs])
            decl.attributes["fxc.num_results"] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), len(outs))
            sized = "fxc.result_sizes" in decl.attributes
            n_sizes = ir.IntegerAttr(decl.attributes["fxc.result_sizes"]).value if sized else 0
            for call in ops_named(module_op, "func.call"):
                if ir.FlatSymbolRefAttr(call.attributes["callee"]).value == name:
                    self._rewrite_call(call, name, ins, outs, n_sizes)

    def _rewrite_call(self, call, name, ins, outs, n_sizes):
        with call.location, ir.InsertionPoint(call):
            operands = list(call.operands)
            sizes = [arith.IndexCastOp(ir.IndexType.get(), tensor.ExtractOp(v, []).result).result
                     for v in operands[len(operands) - n_sizes:]]
            args = [
                bufferization.ToBufferOp(mt, v, read_only=True).result
                for v, mt in zip(operands, ins)
            ]
            allocs = []
            for mt in outs:
                n_dynamic = sum(1 for d in ir.MemRefType(mt).shape if d == ir.ShapedType.get_dynamic_size())
                if n_dynamic > len(sizes):
                    raise self.fail(call, f"host call {name}: a result of dynamic size {mt} has no sizes")
                allocs.append(memref.AllocOp(mt, sizes[:n_dynamic], []).result)
                sizes = sizes[n_dynamic:]
            func.CallOp([], ir.FlatSymbolRefAttr.get(name), args + allocs)
            results = [
                bufferization.ToTensorOp(r.type, a, restrict=True, writable=True).result
                for r, a in zip(call.results, allocs)
            ]
        for old, new in zip(call.results, results):
            old.replace_all_uses_with(new)
        call.erase()
