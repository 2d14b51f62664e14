"""The compiled entry function agrees with the signature, or no code is built.

The runtime allocates results and reads arguments by the signature (the
shapes and dtypes PyTorch's tracing recorded); the code reads and writes by
its own types.  A decomposition or lowering that changed a result's shape
would make compiled code write past a buffer: :func:`check_entry` compares
the entry function's types in the ``linalg`` stage with the signature and
turns any difference into a CompileError naming the position.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch_mlir import ir

from fxc.errors import CompileError, location_of
from fxc.runtime.signature import Signature, TensorType

_ELEMENT = {torch.float32: "f32", torch.float64: "f64", torch.float16: "f16", torch.bfloat16: "bf16",
            torch.bool: "i1", torch.int8: "i8", torch.uint8: "i8", torch.int16: "i16", torch.int32: "i32",
            torch.int64: "i64", torch.complex64: "complex<f32>", torch.complex128: "complex<f64>"}


def _mismatch(t: ir.Type, expected: Optional[TensorType]) -> Optional[str]:
    if expected is None:  # an integer argument
        return None if str(t) in ("i64", "index") else f"an integer, but the code takes {t}"
    try:
        rt = ir.RankedTensorType(t)
    except ValueError:
        return f"a tensor, but the code has {t}"
    elem = _ELEMENT.get(expected.dtype)
    if elem is not None and str(rt.element_type) != elem:
        return f"{expected.dtype}, but the code has element type {rt.element_type}"
    if rt.rank != len(expected.shape):
        return f"rank {len(expected.shape)}, but the code has {t}"
    for d, (dim, want) in enumerate(zip(rt.shape, expected.shape)):
        if isinstance(want, int) and not rt.is_dynamic_dim(d) and dim != want:
            return f"shape [{', '.join(map(str, expected.shape))}], but the code has {t}"
    return None


def check_entry(module: ir.Module, signature: Signature) -> None:
    """Raises a CompileError if the public ``signature.entry`` function's
    argument or result types differ from the signature's."""
    fn = next((op for op in module.body.operations
               if op.operation.name == "func.func" and ir.StringAttr(op.attributes["sym_name"]).value == signature.entry),
              None)
    if fn is None:
        raise CompileError(f"the module has no entry function '{signature.entry}'")
    ftype = ir.FunctionType(ir.TypeAttr(fn.attributes["function_type"]).value)
    where = location_of(fn.location)
    if len(ftype.inputs) != len(signature.args) or len(ftype.results) != len(signature.results):
        raise CompileError(f"fxc's compiled entry takes {len(ftype.inputs)} arguments and returns "
                           f"{len(ftype.results)} results; the signature says {len(signature.args)} and "
                           f"{len(signature.results)} (internal error)", where)
    names = [signature.inputs[ref].name if kind == "input" else ref for kind, ref in signature.args]
    for name, t, expected in zip(names, ftype.inputs, signature.arg_types()):
        bad = _mismatch(t, expected)
        if bad:
            raise CompileError(f"input '{name}' is {bad} (internal error: a lowering changed its type)", where)
    for r, t in zip(signature.results, ftype.results):
        bad = _mismatch(t, r.type)
        if bad:
            raise CompileError(f"result '{r.name}' is {bad} (internal error: a decomposition or lowering "
                               f"changed its type; running it would write past its buffer)", where)
