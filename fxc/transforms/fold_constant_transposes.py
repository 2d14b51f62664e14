"""fxc-fold-constant-transposes: a ``linalg.transpose`` of a constant becomes
the transposed constant, computed at compile time.

torch-mlir lowers ``linear`` to a transpose of the weight and a matmul.  With
``freeze=True`` the weight is a constant, and without this pass every call
transposes every weight again (an MLP's whole parameter set copied per
call).  The transposed data is a new ``dense_resource`` blob (``<name>_t``);
the original stays as long as something else uses it.  Splat constants
(``dense<c>``) fold to the same splat of the new shape.
"""

from __future__ import annotations

import numpy as np
from torch_mlir import ir

from fxc._mlir_compat import ResourceBlobs, walk
from fxc.compiler.passes import ModulePass, register

#: Element type -> numpy type of the same size (bits are moved, not read).
_RAW = {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}


def _element_bits(t) -> int | None:
    if isinstance(t, (ir.F32Type,)):
        return 32
    if isinstance(t, ir.F64Type):
        return 64
    if isinstance(t, (ir.F16Type, ir.BF16Type)):
        return 16
    if isinstance(t, ir.IntegerType) and ir.IntegerType(t).width in _RAW:
        return ir.IntegerType(t).width
    return None


@register
class FoldConstantTransposes(ModulePass):
    name = "fxc-fold-constant-transposes"
    summary = "Replace linalg.transpose of a constant with the transposed constant"

    def run(self, module_op):
        todo = []
        walk(module_op, lambda op: todo.append(op) if op.name == "linalg.transpose" and len(op.results) == 1 else None)
        blobs = ResourceBlobs(module_op)
        for op in todo:
            source = op.operands[0].owner
            if not isinstance(source, ir.Operation) and hasattr(source, "operation"):
                source = source.operation
            if not isinstance(source, ir.Operation) or source.name != "arith.constant":
                continue
            folded = self._fold(source.attributes["value"], op, blobs)
            if folded is None:
                continue
            with op.location, ir.InsertionPoint(op):
                new = ir.Operation.create("arith.constant", results=[op.results[0].type],
                                          attributes={"value": folded})
            op.results[0].replace_all_uses_with(new.results[0])
            op.erase()
            if not list(source.results[0].uses):
                source.erase()

    @staticmethod
    def _fold(value, op, blobs: ResourceBlobs):
        result_type = ir.RankedTensorType(op.results[0].type)
        source_type = ir.RankedTensorType(op.operands[0].type)
        bits = _element_bits(source_type.element_type)
        if bits is None or not source_type.has_static_shape:
            return None
        perm = list(ir.DenseI64ArrayAttr(op.attributes["permutation"]))
        if isinstance(value, ir.DenseElementsAttr):
            dense = ir.DenseElementsAttr(value)
            if dense.is_splat:
                return ir.DenseElementsAttr.get_splat(result_type, dense.get_splat_value())
            return None  # small literals: left to canonicalization
        text = str(value)
        if not text.startswith("dense_resource<"):
            return None
        name = text[len("dense_resource<"):text.index(">")]
        data = blobs.get(name)
        if data is None:
            return None
        array = np.frombuffer(data, dtype=_RAW[bits]).reshape(source_type.shape)
        transposed = np.ascontiguousarray(array.transpose(perm))
        return ir.DenseResourceElementsAttr.get_from_buffer(memoryview(transposed), f"{name}_t", result_type)
