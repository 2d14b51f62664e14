"""The host runtime: Python callbacks behind fxc's host-runtime calls.

fxc-lower-effects turns each effectful op into a call to a declaration such
as ``@fxc_host_0`` carrying the PyTorch op (``fxc.op``) and its constant
arguments (``fxc.args``); fxc-bufferize-host-calls makes it take memrefs
(arguments, then result buffers to fill).  This module reads those
declarations and registers one ctypes callback per declaration.

If a callback raises, the exception is kept, later host calls of the same
run do nothing, and :meth:`HostRuntime.end` re-raises it in the caller.
"""

from __future__ import annotations

import ctypes
from typing import List

import torch
from torch_mlir import ir

from fxc.backends.cpu.descriptors import descriptor_class, tensor_view
from fxc.dialects.torch_types import MLIR_ASM_TO_TORCH_DTYPE, resolve_overload
from fxc.errors import CompileError

_ELEMENT_DTYPES = {"f32": torch.float32, "f64": torch.float64, "f16": torch.float16,
                   "bf16": torch.bfloat16, "i1": torch.bool, "i8": torch.int8,
                   "i16": torch.int16, "i32": torch.int32, "i64": torch.int64}


def _attr_value(attr: ir.Attribute):
    """The Python value of a constant-argument attribute made by fxc-lower-effects."""
    for cls in (ir.BoolAttr, ir.IntegerAttr, ir.FloatAttr, ir.StringAttr):
        try:
            return cls(attr).value
        except ValueError:
            continue
    try:
        return [_attr_value(a) for a in ir.ArrayAttr(attr)]
    except ValueError:
        pass
    try:
        ir.UnitAttr(attr)
        return None
    except ValueError:
        raise TypeError(f"unexpected attribute {attr}") from None


class HostCall:
    """One host-runtime declaration and the Python callback behind it."""

    def __init__(self, runtime: "HostRuntime", decl: ir.Operation):
        self.name = ir.StringAttr(decl.attributes["sym_name"]).value
        self.op_name = ir.StringAttr(decl.attributes["fxc.op"]).value
        self.op = resolve_overload(self.op_name)
        if self.op is None:
            raise CompileError(f"the host runtime cannot call '{self.op_name}': no such PyTorch operator in this process")
        self.args = [ir.DictAttr(a) for a in ir.ArrayAttr(decl.attributes["fxc.args"])]
        memrefs = [ir.MemRefType(ir.TypeAttr(t).value) for t in ir.ArrayAttr(decl.attributes["fxc.buffer_types"])]
        n_results = ir.IntegerAttr(decl.attributes["fxc.num_results"]).value if "fxc.num_results" in decl.attributes else 0
        self.n_inputs = len(memrefs) - n_results
        self.dtypes = [_ELEMENT_DTYPES[str(m.element_type)] for m in memrefs]
        self._classes = [descriptor_class(m.rank) for m in memrefs]
        self._runtime = runtime
        proto = ctypes.CFUNCTYPE(None, *[ctypes.POINTER(c) for c in self._classes])
        self.callback = proto(self._call)

    def _call(self, *desc_ptrs):
        rt = self._runtime
        if rt.error is not None:
            return
        try:
            views = [tensor_view(p.contents, dt) for p, dt in zip(desc_ptrs, self.dtypes)]
            tensors, outs = views[: self.n_inputs], views[self.n_inputs :]
            call_args = []
            for a in self.args:
                if "tensor" in a:
                    call_args.append(tensors[ir.IntegerAttr(a["tensor"]).value])
                else:
                    call_args.append(_attr_value(a["value"]))
            result = self.op(*call_args)
            results = [] if result is None else list(result) if isinstance(result, (tuple, list)) else [result]
            results = [r for r in results if r is not None]
            for out, r in zip(outs, results):
                out.copy_(r)
        except BaseException as e:  # surfaced by HostRuntime.end
            rt.error = e
            rt.error_op = self.op_name


class HostRuntime:
    """All host calls of one compiled module."""

    def __init__(self, module: ir.Module):
        self.error = None
        self.error_op = None
        self.calls: List[HostCall] = []
        for op in module.body.operations:
            if "fxc.op" in op.attributes:
                self.calls.append(HostCall(self, op.operation))

    def register(self, engine) -> None:
        for call in self.calls:
            engine.register_runtime(call.name, call.callback)

    def begin(self) -> None:
        self.error = None

    def end(self) -> None:
        if self.error is not None:
            err, op = self.error, self.error_op
            self.error = None
            raise type(err)(*err.args) from err if _reraisable(err) else RuntimeError(f"host call {op} failed: {err}")


def _reraisable(err) -> bool:
    try:
        type(err)(*err.args)
        return True
    except Exception:
        return False
