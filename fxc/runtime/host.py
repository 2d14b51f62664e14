"""The host runtime: Python callbacks behind fxc's host calls.

fxc-lower-effects (effects) and the importer (functionalized mutating ops)
turn each op fxc does not compile into a call to a declaration such as
``@fxc_host_0`` that names the PyTorch op and says how to build its
arguments (``fxc/dialects/host_calls.py``); fxc-bufferize-host-calls makes it
take memrefs (arguments, then result buffers to fill).  This module reads
those declarations from the lowered module and registers one ctypes
callback per declaration with the ExecutionEngine.

Whether an op can be called at all (it is registered in this process and
has a kernel for CPU; the script objects it names exist) is checked when the
module is loaded, so a bad op is a compile error at the user's line.

A callback gets copies of its tensor operands (Python code never sees, keeps
or writes compiled buffers), checks that each result has the shape and dtype
compiled code expects, and copies it into its result buffer.  If a callback
raises, the exception is kept, the remaining host calls of that run do
nothing but zero their result buffers (so compiled code reads defined
values), and :meth:`HostRuntime.end` re-raises it in the caller with a note
naming the op.
"""

from __future__ import annotations

import ctypes
from typing import Dict, List, Optional

import torch
from torch_mlir import ir

from fxc.backends.cpu.descriptors import descriptor_class, tensor_view
from fxc.dialects.host_calls import HOST_PREFIX
from fxc.dialects.torch_types import torch_dtype, resolve_overload
from fxc.errors import CompileError, location_of

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


def _has_cpu_kernel(op) -> bool:
    name = op._schema.name + ("" if op._overloadname == "default" else f".{op._overloadname}")
    return torch._C._dispatch_has_computed_kernel_for_dispatch_key(name, "CPU")


class _Arg:
    """How to build one argument of the op from the call's (copied) operands."""

    def __init__(self, attr: ir.Attribute, objects: Dict[str, object], call: "HostCall"):
        self.items: Optional[List["_Arg"]] = None
        if not isinstance(attr, ir.DictAttr):
            try:
                self.items = [_Arg(a, objects, call) for a in ir.ArrayAttr(attr)]
                return
            except ValueError:
                raise CompileError(f"host call {call.name}: bad fxc.args entry {attr}", call.location) from None
        fields = {a.name: a.attr for a in attr}
        self.kind = next(iter(fields))
        if self.kind == "value":
            self.value = _attr_value(fields["value"])
        elif self.kind == "object":
            name = ir.StringAttr(fields["object"]).value
            if name not in objects:
                raise CompileError(f"{call.op_name} takes the script object '{name}', which the program does not hold",
                                   call.location)
            self.value = objects[name]
        elif self.kind in ("tensor", "base"):
            self.index = ir.IntegerAttr(fields[self.kind]).value
            self.size = _attr_value(fields["size"]) if "size" in fields else None
            self.stride = _attr_value(fields["stride"]) if "stride" in fields else None
            self.offset = _attr_value(fields["offset"]) if "offset" in fields else 0
            self.slice = _attr_value(fields["slice"]) if "slice" in fields else None
        else:
            raise CompileError(f"host call {call.name}: unknown fxc.args entry {attr}", call.location)

    def build(self, tensors: list, bases: list):
        if self.items is not None:
            return [a.build(tensors, bases) for a in self.items]
        if self.kind in ("value", "object"):
            return self.value
        if self.kind == "tensor":
            return tensors[self.index]
        base = bases[self.index]
        if self.size is not None:
            return torch.as_strided(base, self.size, self.stride, self.offset)
        if self.slice is not None:
            return torch.ops.aten.slice.Tensor(base, *self.slice)
        return base


class HostCall:
    """One host-call declaration and the Python callback behind it."""

    def __init__(self, runtime: "HostRuntime", decl: ir.Operation, objects: Dict[str, object]):
        self.name = ir.StringAttr(decl.attributes["sym_name"]).value
        self.op_name = ir.StringAttr(decl.attributes["fxc.op"]).value
        self.location = location_of(decl.location)
        self.op = resolve_overload(self.op_name)
        if self.op is None:
            raise CompileError(f"fxc's host runtime cannot call '{self.op_name}': no such PyTorch operator "
                               f"is registered in this process", self.location)
        if not _has_cpu_kernel(self.op):
            raise CompileError(f"fxc's host runtime cannot call '{self.op_name}': it has no CPU kernel "
                               f"(only a fake/meta implementation?)", self.location)
        self.args = [_Arg(a, objects, self) for a in ir.ArrayAttr(decl.attributes["fxc.args"])]
        params = self.op._schema.arguments
        if len(params) != len(self.args):
            raise CompileError(f"host call {self.name}: {self.op_name} takes {len(params)} arguments, "
                               f"fxc.args has {len(self.args)}", self.location)
        # Keyword-only parameters are passed by name.
        self.keywords = [p.name if p.kwarg_only else None for p in params]
        self.bases = _attr_value(decl.attributes["fxc.bases"]) if "fxc.bases" in decl.attributes else []
        memrefs = [ir.MemRefType(ir.TypeAttr(t).value) for t in ir.ArrayAttr(decl.attributes["fxc.buffer_types"])]
        n_results = ir.IntegerAttr(decl.attributes["fxc.num_results"]).value if "fxc.num_results" in decl.attributes else 0
        self.n_inputs = len(memrefs) - n_results
        if "fxc.dtypes" in decl.attributes:  # recorded by fxc-lower-effects
            self.dtypes = [torch_dtype(_attr_value(a)) for a in ir.ArrayAttr(decl.attributes["fxc.dtypes"])]
        else:
            self.dtypes = [_ELEMENT_DTYPES[str(m.element_type)] for m in memrefs]
        self._classes = [descriptor_class(m.rank) for m in memrefs]
        self._runtime = runtime
        proto = ctypes.CFUNCTYPE(None, *[ctypes.POINTER(c) for c in self._classes])
        self.callback = proto(self._call)

    def _call(self, *desc_ptrs):
        rt = self._runtime
        try:
            views = [tensor_view(p.contents, dt) for p, dt in zip(desc_ptrs, self.dtypes)]
            outs = views[self.n_inputs :]
            if rt.error is not None:
                for out in outs:
                    out.zero_()
                return
            tensors = [v.clone() for v in views[: self.n_inputs]]
            del views
            bases = [tensors[i] for i in self.bases]
            args, kwargs = [], {}
            for a, keyword in zip(self.args, self.keywords):
                if keyword is None:
                    args.append(a.build(tensors, bases))
                else:
                    kwargs[keyword] = a.build(tensors, bases)
            results = self._results(self.op(*args, **kwargs)) + bases
            self._check(results, outs)
            for out, r in zip(outs, results):
                out.copy_(r)
        except BaseException as e:  # surfaced by HostRuntime.end
            rt.error, rt.error_op = e, self.op_name
            for out in outs if "outs" in locals() else ():
                out.zero_()

    @staticmethod
    def _results(result) -> list:
        results = [] if result is None else list(result) if isinstance(result, (tuple, list)) else [result]
        return [r for r in results if r is not None]

    def _check(self, results: list, outs: list) -> None:
        if len(results) != len(outs):
            raise RuntimeError(f"{self.op_name} returned {len(results)} tensors; the compiled program expects {len(outs)}")
        for i, (r, out) in enumerate(zip(results, outs)):
            if not isinstance(r, torch.Tensor) or r.shape != out.shape or r.dtype != out.dtype:
                got = f"shape {tuple(r.shape)} and dtype {r.dtype}" if isinstance(r, torch.Tensor) else repr(r)
                raise RuntimeError(f"{self.op_name} returned {got} as result {i}; the compiled program expects "
                                   f"shape {tuple(out.shape)} and dtype {out.dtype}")


def _forget_buffers(tb) -> None:
    """Drops this module's frame locals from a kept traceback: they view
    compiled buffers that are freed once the call returns."""
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == __file__:
            try:
                tb.tb_frame.clear()
            except RuntimeError:  # the frame is still running
                pass
        tb = tb.tb_next


class HostRuntime:
    """All host calls of one compiled module.

    Args:
        module: the module in its last (LLVM) stage.
        objects: the program's script objects, by the names host calls use.
    """

    def __init__(self, module: ir.Module, objects: Optional[Dict[str, object]] = None):
        self.error = None
        self.error_op = None
        self.calls: List[HostCall] = []
        for op in module.body.operations:
            name = ir.StringAttr(op.attributes["sym_name"]).value if "sym_name" in op.attributes else ""
            # The C-interface wrapper (_mlir_ciface_...) repeats the attributes.
            if "fxc.op" in op.attributes and name.startswith(HOST_PREFIX):
                self.calls.append(HostCall(self, op.operation, objects or {}))

    def register(self, engine) -> None:
        for call in self.calls:
            engine.register_runtime(call.name, call.callback)

    def begin(self) -> None:
        self.error = None

    def end(self) -> None:
        """Re-raises the first exception a host call raised during the run."""
        if self.error is not None:
            err, op = self.error, self.error_op
            self.error = self.error_op = None
            _forget_buffers(err.__traceback__)
            err.add_note(f"(raised by {op}, called by fxc-compiled code through the host runtime)")
            raise err
