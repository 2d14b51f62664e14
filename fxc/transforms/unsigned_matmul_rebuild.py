"""fxc-unsigned-matmul-rebuild: give torch-mlir's unsigned matmuls the body
their ``cast`` attribute says.

torch-mlir converts an ``aten.mm`` of two ``ui8`` tensors (what
fxc-lower-out-dtype emits for ``out_dtype(mm, int32, u8, u8)``) into
``linalg.matmul {cast = #linalg.type_fn<cast_unsigned>}`` but builds the op's
region with the default, *signed* extension (``arith.extsi``).  The printed
op looks right (the custom form shows the attribute, not the region), and a
re-parsed one is right (parsing builds the region from the attribute), but
in memory every pass that reads the region -- ``convert-linalg-to-loops``,
generalization, elementwise fusion -- computes u8 x u8 as s8 x s8.

This pass runs right after ``convert-torch-to-linalg`` and rebuilds each
linalg contraction whose ``cast`` is ``cast_unsigned`` through the linalg
builder, which fills the region from the attributes (``arith.extui``).
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import linalg

from fxc._mlir_compat import walk
from fxc.compiler.passes import ModulePass, register

_UNSIGNED = "#linalg.type_fn<cast_unsigned>"
_BUILDERS = {
    "linalg.matmul": linalg.matmul,
    "linalg.batch_matmul": linalg.batch_matmul,
    "linalg.batch_reduce_matmul": linalg.batch_reduce_matmul,
}


@register
class UnsignedMatmulRebuild(ModulePass):
    name = "fxc-unsigned-matmul-rebuild"
    summary = "Rebuild cast_unsigned linalg contractions so their bodies zero-extend"

    def run(self, module_op):
        ops = []
        walk(module_op, lambda op: ops.append(op) if op.name in _BUILDERS and _is_unsigned(op) else None)
        for op in ops:  # rebuilt outside the walk, which must not see erased ops
            n_ins = list(ir.DenseI32ArrayAttr(op.attributes["operandSegmentSizes"]))[0]
            ins, outs = list(op.operands)[:n_ins], list(op.operands)[n_ins:]
            maps = op.attributes["indexing_maps"] if "indexing_maps" in op.attributes else None
            with op.location, ir.InsertionPoint(op):
                new = _BUILDERS[op.name](*ins, outs=outs, indexing_maps=maps, cast=op.attributes["cast"])
            new_results = [new] if isinstance(new, ir.Value) else list(new)
            for old, value in zip(op.results, new_results):
                old.replace_all_uses_with(value)
            op.erase()


def _is_unsigned(op: ir.Operation) -> bool:
    return "cast" in op.attributes and str(op.attributes["cast"]) == _UNSIGNED
