"""fxc-torch-narrow-int-operands: 8-bit integer ops get operands of their dtype.

torch-mlir's ``convert-torch-to-linalg`` crashes (a segfault, in this wheel)
on elementwise ops whose result is an 8-bit integer tensor and whose other
operand is a ``!torch.int`` scalar or a 0-d tensor of another integer dtype:
``x * 2``, ``x - zero_point``, ``x // 2``, ``x % 3`` on int8/uint8 tensors.

PyTorch computes such ops in the result's dtype (a scalar or 0-d tensor does
not promote an integer tensor of the same category), so converting that
operand to the result dtype first is exact.  This pass does so, on the torch
backend contract, before the conversion to linalg:

* ``aten.<op>.Scalar(x, c)`` with a constant ``c`` becomes
  ``aten.<op>.Tensor(x, literal(c))``, the literal 0-d and of ``x``'s dtype
  (``c`` wrapped to 8 bits as PyTorch's cast does); other operands (an
  ``alpha``) are kept;
* a 0-d integer literal operand of another dtype is re-made in the result
  dtype; any other 0-d integer operand of another dtype gets ``aten.to.dtype``;
* comparisons of a ``bool`` or 8-bit tensor with another dtype compare in
  the promoted dtype (``b > b.to(torch.int8)`` crashes the conversion);
* ``aten.where.self`` gets its value operands in the result dtype (the
  conversion crashes on ``where(c, x_i8, c)``, a ``bool`` operand);
* ``aten.mm`` / ``aten.bmm`` / ``aten.matmul`` of 8-bit integers (which
  crash the conversion too) multiply in ``int32`` and truncate: integer
  arithmetic wraps, so the result is what PyTorch's 8-bit arithmetic gives.
"""

from __future__ import annotations

import torch
from torch_mlir import ir

from fxc._mlir_compat import walk
from fxc.dialects.torch_types import TorchBuilder, torch_dtype, vtensor_parts, vtensor_type
from fxc.compiler.passes import ModulePass, register

_NARROW = {"si8": (8, True), "ui8": (8, False)}
_INTS = ("si8", "ui8", "si16", "si32", "si64")


def _wrap(value: int, asm: str) -> int:
    bits, signed = _NARROW[asm]
    value &= (1 << bits) - 1
    return value - (1 << bits) if signed and value >= 1 << (bits - 1) else value


def _literal(value: int, asm: str) -> ir.Value:
    elem = ir.IntegerType.get_signed(8) if asm == "si8" else ir.IntegerType.get_unsigned(8)
    attr = ir.DenseElementsAttr.get_splat(ir.RankedTensorType.get([], elem), ir.IntegerAttr.get(elem, _wrap(value, asm)))
    return ir.Operation.create(
        "torch.vtensor.literal", results=[vtensor_type([], asm)], attributes={"value": attr}
    ).result


def _int_constant(value: ir.Value):
    owner = value.owner
    if isinstance(owner, (ir.Operation, ir.OpView)) and owner.name == "torch.constant.int":
        return ir.IntegerAttr(owner.attributes["value"]).value
    return None


def _literal_int(value: ir.Value):
    owner = value.owner
    if isinstance(owner, (ir.Operation, ir.OpView)) and owner.name == "torch.vtensor.literal":
        attr = ir.DenseIntElementsAttr(owner.attributes["value"])
        if attr.is_splat:
            return int(attr[0]) if len(attr) else None
    return None


_MATMULS = ("torch.aten.mm", "torch.aten.bmm", "torch.aten.matmul")


def _widen_matmul(op) -> None:
    """``mm(a, b) : i8`` -> ``to(mm(to(a, i32), to(b, i32)) : i32, i8)``."""
    result = op.results[0]
    dims, asm = vtensor_parts(result.type)
    if any(not vtensor_parts(v.type) for v in op.operands[:2]):
        return
    with op.location, ir.InsertionPoint(op):
        wide = [TorchBuilder.cast(v, torch.int32) for v in op.operands[:2]]
        product = TorchBuilder.op(op.name, wide, vtensor_type(dims, "si32"))
        narrow = TorchBuilder.cast(product, torch_dtype(asm))
    result.replace_all_uses_with(narrow)
    op.erase()


_COMPARISONS = tuple(f"torch.aten.{c}.Tensor" for c in ("eq", "ne", "lt", "le", "gt", "ge"))


def _promote_comparison(op) -> None:
    """A comparison of a ``bool`` or 8-bit tensor with a tensor of another
    dtype (which crashes the conversion: ``b > b.to(torch.int8)``) compares
    both in their promoted dtype, as eager does."""
    parts = [vtensor_parts(v.type) for v in op.operands[:2]]
    if None in parts or parts[0][1] == parts[1][1] or not {"i1", *_NARROW} & {parts[0][1], parts[1][1]}:
        return
    dtype = torch.promote_types(torch_dtype(parts[0][1]), torch_dtype(parts[1][1]))
    with op.location, ir.InsertionPoint(op):
        cast = [TorchBuilder.cast(v, dtype) for v in op.operands[:2]]
    for i in (0, 1):
        op.operands[i] = cast[i]


def _where_operands(op) -> None:
    """``where(c, x, y)``: ``x`` and ``y`` in the result's dtype."""
    asm = vtensor_parts(op.results[0].type)[1]
    operands = list(op.operands)
    with op.location, ir.InsertionPoint(op):
        for i in (1, 2):
            parts = vtensor_parts(operands[i].type)
            if parts and parts[1] != asm:
                operands[i] = TorchBuilder.cast(operands[i], torch_dtype(asm))
    for i in (1, 2):
        op.operands[i] = operands[i]


@register
class TorchNarrowIntOperands(ModulePass):
    name = "fxc-torch-narrow-int-operands"
    summary = "Give 8-bit integer elementwise ops scalar operands of their own dtype"

    def run(self, module_op):
        todo = []

        def visit(op):
            if op.name.startswith("torch.aten.") and len(op.results) == 1:
                parts = vtensor_parts(op.results[0].type)
                if parts and parts[1] in _NARROW and len(op.operands) >= 2:
                    todo.append(op)

        walk(module_op, visit)
        walk(module_op, lambda op: todo.append(op) if op.name in _COMPARISONS else None)
        for op in todo:
            if op.name in _COMPARISONS:
                _promote_comparison(op)
            elif op.name in _MATMULS:
                _widen_matmul(op)
            elif op.name == "torch.aten.where.self":
                _where_operands(op)
            else:
                self._rewrite(op)

    def _rewrite(self, op):
        asm = vtensor_parts(op.results[0].type)[1]
        operands = list(op.operands)
        name = op.name
        with op.location, ir.InsertionPoint(op):
            other = operands[1]
            c = _int_constant(other)
            if c is not None and name.endswith((".Scalar", ".Scalar_mode")) and vtensor_parts(operands[0].type):
                operands[1] = _literal(c, asm)
                name = name.replace(".Scalar", ".Tensor")
            else:
                parts = vtensor_parts(other.type)
                if not parts or parts[0] or parts[1] == asm or parts[1] not in _INTS:
                    return
                lit = _literal_int(other)
                operands[1] = _literal(lit, asm) if lit is not None else TorchBuilder.cast(other, torch_dtype(asm))
            new = ir.Operation.create(name, results=[op.results[0].type], operands=operands)
        op.results[0].replace_all_uses_with(new.result)
        op.erase()
