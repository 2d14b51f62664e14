"""Small helpers over torch-mlir types and PyTorch dtypes.

The torch dialect's Python bindings expose no type classes, so tensor types
are read from and written to their textual form here, in one place.
"""

from __future__ import annotations

import re
from typing import List, Optional, Tuple

import torch
from torch_mlir import ir
from torch_mlir.extras.fx_importer import TORCH_DTYPE_TO_MLIR_TYPE_ASM

from fxc.runtime.torch_ops import resolve_overload  # noqa: F401  (re-exported)

_VTENSOR = re.compile(r"^!torch\.vtensor<\[([^\]]*)\],([^,>]+)>$")

MLIR_ASM_TO_TORCH_DTYPE = {v: k for k, v in TORCH_DTYPE_TO_MLIR_TYPE_ASM.items()}
# torch-mlir's lowering of sign-ambiguous builtin types.
_SIGNLESS = {"si8": "i8", "ui8": "i8", "si16": "i16", "si32": "i32", "si64": "i64"}


def vtensor_parts(t: ir.Type) -> Optional[Tuple[List[Optional[int]], str]]:
    """``([5, None], "si8")`` for ``!torch.vtensor<[5,?],si8>``; None otherwise."""
    m = _VTENSOR.match(str(t))
    if not m:
        return None
    dims = [] if not m.group(1) else [None if d == "?" else int(d) for d in m.group(1).split(",")]
    return dims, m.group(2)


def vtensor_type(shape, dtype_asm: str) -> ir.Type:
    dims = ",".join("?" if d is None else str(d) for d in shape)
    return ir.Type.parse(f"!torch.vtensor<[{dims}],{dtype_asm}>")


def torch_dtype(asm: str) -> torch.dtype:
    return MLIR_ASM_TO_TORCH_DTYPE[asm]


def dtype_asm(dtype: torch.dtype) -> str:
    return TORCH_DTYPE_TO_MLIR_TYPE_ASM[dtype]


def builtin_element(asm: str) -> ir.Type:
    """The signless builtin element type the linalg backend uses for ``asm``."""
    return ir.Type.parse(_SIGNLESS.get(asm, asm))


def builtin_tensor_type(shape, asm: str) -> ir.Type:
    dims = "x".join("?" if d is None else str(d) for d in shape)
    elem = _SIGNLESS.get(asm, asm)
    return ir.Type.parse(f"tensor<{dims}x{elem}>" if shape else f"tensor<{elem}>")


# PyTorch's ScalarType numbering, which torch-mlir uses for dtype operands.
SCALAR_TYPE_INDEX = {
    torch.uint8: 0, torch.int8: 1, torch.int16: 2, torch.int32: 3, torch.int64: 4,
    torch.float16: 5, torch.float32: 6, torch.float64: 7, torch.bool: 11,
    torch.bfloat16: 15,
}


class TorchBuilder:
    """Creates torch-dialect ops at the current insertion point and location."""

    @staticmethod
    def op(name: str, operands, result_type: ir.Type) -> ir.Value:
        return ir.Operation.create(name, results=[result_type], operands=list(operands)).result

    @staticmethod
    def int(v: int) -> ir.Value:
        attr = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), v)
        return ir.Operation.create("torch.constant.int", results=[ir.Type.parse("!torch.int")], attributes={"value": attr}).result

    @staticmethod
    def bool(v: bool) -> ir.Value:
        return ir.Operation.create(
            "torch.constant.bool", results=[ir.Type.parse("!torch.bool")], attributes={"value": ir.BoolAttr.get(v)}
        ).result

    @staticmethod
    def none() -> ir.Value:
        return ir.Operation.create("torch.constant.none", results=[ir.Type.parse("!torch.none")]).result

    @classmethod
    def int_list(cls, values) -> ir.Value:
        return cls.op("torch.prim.ListConstruct", [cls.int(v) for v in values], ir.Type.parse("!torch.list<int>"))

    @classmethod
    def cast(cls, value: ir.Value, dtype: torch.dtype) -> ir.Value:
        """``value`` as ``dtype`` (``aten.to.dtype``); itself if it already is."""
        dims, asm = vtensor_parts(value.type)
        if torch_dtype(asm) == dtype:
            return value
        return cls.op(
            "torch.aten.to.dtype",
            [value, cls.int(SCALAR_TYPE_INDEX[dtype]), cls.bool(False), cls.bool(False), cls.none()],
            vtensor_type(dims, dtype_asm(dtype)),
        )

    @classmethod
    def view(cls, value: ir.Value, shape) -> ir.Value:
        return cls.op("torch.aten.view", [value, cls.int_list(shape)], vtensor_type(shape, vtensor_parts(value.type)[1]))
