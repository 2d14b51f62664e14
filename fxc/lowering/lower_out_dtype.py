"""fxc-lower-out-dtype: ``fxc.out_dtype`` to mixed-precision linalg or torch ops.

Runs on imported torch IR, before torch-mlir's simplification (whose backend
contract admits no foreign ops).  One pattern per kind of wrapped op:

* :class:`IntMatmul` -- ``aten.mm`` of two int8 (or two uint8) tensors into
  int32 becomes an ``aten.mm`` typed into int32, which torch-mlir converts
  to one ``linalg.matmul`` with i8 inputs and an i32 accumulator (sign or
  zero extension inside the op): no int32 copies of the inputs, no i64
  accumulator.
* :class:`Generic` -- anything else, with eager's exact semantics: the
  arguments are promoted together with the out dtype
  (``elementwise_dtypes``, as ``out_dtype_fallback`` does), the op runs in
  that type as an ordinary torch op, and the result is cast to the out dtype.
"""

from __future__ import annotations

import torch
from torch._prims_common import ELEMENTWISE_TYPE_PROMOTION_KIND, elementwise_dtypes
from torch_mlir import ir

from fxc._mlir_compat import apply_patterns
from fxc.dialects import fxc as fxc_d
from fxc.dialects.torch_types import (
    SCALAR_TYPE_INDEX,
    dtype_asm,
    resolve_overload,
    torch_dtype,
    vtensor_parts,
    vtensor_type,
)
from fxc.lowering.lower_effects import constant_value
from fxc.lowering.pass_base import ModulePass


class IntMatmul:
    """aten.mm(i8, i8) -> i32 (or u8, u8): the mm itself, typed into i32.

    torch-mlir converts an ``aten.mm`` whose result element type is wider
    than its operands' into one ``linalg.matmul`` with i8 inputs and an i32
    accumulator (``cast_signed`` / ``cast_unsigned``), which is exactly the
    int8 GEMM out_dtype asks for; the promoting fallback would instead
    materialise int32 copies of both inputs.
    """

    root = "fxc.out_dtype"
    benefit = 2
    _INPUTS = ("si8", "ui8")

    def rewrite(self, op, rewriter) -> bool:
        if fxc_d.wrapped_op_name(op) != "aten.mm.default":
            return False
        lhs, rhs = op.operands
        (_, la), (_, ra) = vtensor_parts(lhs.type), vtensor_parts(rhs.type)
        if la != ra or la not in self._INPUTS or vtensor_parts(op.results[0].type)[1] != "si32":
            return False
        with op.location, ir.InsertionPoint(op):
            mm = ir.Operation.create("torch.aten.mm", results=[op.results[0].type], operands=[lhs, rhs])
        rewriter.replace_op(op, mm)
        return True


def _meta_arg(value: ir.Value):
    """A stand-in for an operand when asking PyTorch for result dtypes."""
    parts = vtensor_parts(value.type)
    if parts is not None:
        dims, asm = parts
        return torch.empty([d or 1 for d in dims], dtype=torch_dtype(asm), device="meta")
    try:
        return constant_value(value)
    except KeyError:
        return {"!torch.float": 1.0, "!torch.int": 1, "!torch.bool": True}.get(str(value.type))


class Generic:
    """Any allowed op: promote, compute as a torch op, cast (eager's fallback)."""

    root = "fxc.out_dtype"
    benefit = 1

    def rewrite(self, op, rewriter) -> bool:
        overload = resolve_overload(fxc_d.wrapped_op_name(op))
        out_dims, out_asm = vtensor_parts(op.results[0].type)
        out_dtype = torch_dtype(out_asm)
        args = list(op.operands)
        metas = [_meta_arg(a) for a in args]
        leaves = [m for m in metas if m is not None and not isinstance(m, (str, list))]
        promote = elementwise_dtypes(
            *leaves, torch.ones(1, dtype=out_dtype, device="meta"),
            type_promotion_kind=ELEMENTWISE_TYPE_PROMOTION_KIND.DEFAULT,
        )[0]
        casted = [m.to(promote) if isinstance(m, torch.Tensor) else m for m in metas]
        computed = overload(*casted).dtype
        with op.location, ir.InsertionPoint(op):
            operands = [self._cast(a, promote) if vtensor_parts(a.type) else a for a in args]
            mlir_name = "torch." + overload._schema.name.replace("::", ".")
            if overload._overloadname != "default":
                mlir_name += "." + overload._overloadname
            value = ir.Operation.create(
                mlir_name, results=[vtensor_type(out_dims, dtype_asm(computed))], operands=operands
            ).result
            value = self._cast(value, out_dtype)
        rewriter.replace_op(op, [value])
        return True

    @staticmethod
    def _cast(value: ir.Value, dtype: torch.dtype) -> ir.Value:
        dims, asm = vtensor_parts(value.type)
        if torch_dtype(asm) == dtype:
            return value
        int_t = ir.Type.parse("!torch.int")
        bool_t = ir.Type.parse("!torch.bool")
        cst = lambda name, t, attr: ir.Operation.create(name, results=[t], attributes={"value": attr}).result
        dt = cst("torch.constant.int", int_t, ir.IntegerAttr.get(ir.IntegerType.get_signless(64), SCALAR_TYPE_INDEX[dtype]))
        false = cst("torch.constant.bool", bool_t, ir.BoolAttr.get(False))
        none = ir.Operation.create("torch.constant.none", results=[ir.Type.parse("!torch.none")]).result
        return ir.Operation.create(
            "torch.aten.to.dtype",
            results=[vtensor_type(dims, dtype_asm(dtype))],
            operands=[value, dt, false, false, none],
        ).result


class LowerOutDtype(ModulePass):
    name = "fxc-lower-out-dtype"
    summary = "Lower fxc.out_dtype to mixed-precision linalg ops or promoted torch ops"

    def run(self, module_op):
        apply_patterns(module_op, [IntMatmul(), Generic()])
