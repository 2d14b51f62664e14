"""Running JIT-compiled fxc functions on torch tensors.

The entry function has MLIR's C interface with out-params (from
``buffer-results-to-out-params``): ``_mlir_ciface_main(in0*, ..., out0*, ...)``.
Its packed wrapper takes one ``void**`` array; fxc builds that array and one
descriptor per position once, so a call only checks the inputs, writes their
data pointers, allocates the outputs and makes one ctypes call.

Host-runtime calls (effects) arrive at Python callbacks registered under the
names fxc-lower-effects gave their declarations.
"""

from __future__ import annotations

import ctypes
from typing import List, Sequence

import torch
from torch_mlir import ir
from torch_mlir.execution_engine import ExecutionEngine

from fxc.backends.cpu.descriptors import descriptor_class, make_descriptor
from fxc.runtime.host import HostRuntime
from fxc.errors import CompileError
from fxc.frontend.capture import TensorSpec


class JitFunction:
    """The compiled entry function, callable with flat torch tensors."""

    def __init__(self, module: ir.Module, program, *, opt_level: int = 3, shared_libs: Sequence[str] = ()):
        self._program = program
        self._in_specs: List[TensorSpec] = program.call_arg_specs()
        self._out_specs: List[TensorSpec] = program.call_result_specs()
        self.host = HostRuntime(module, program.objects)
        self._engine = ExecutionEngine(module, opt_level=opt_level, shared_libs=list(shared_libs))
        self.host.register(self._engine)
        fn_addr = self._engine.raw_lookup(f"_mlir_ciface_{program.entry}")
        if not fn_addr:
            raise CompileError(
                f"the JIT could not link '{program.entry}': a symbol the compiled code calls is missing "
                "(LLVM printed 'JIT session error: Symbols not found: [...]' above)"
            )
        self._fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(fn_addr)
        specs = self._in_specs + self._out_specs
        self._descs = [make_descriptor(s.shape) for s in specs]
        self._cells = [ctypes.c_void_p(ctypes.addressof(d)) for d in self._descs]
        self._packed = (ctypes.c_void_p * len(specs))(*[ctypes.addressof(c) for c in self._cells])
        self._packed_ptr = ctypes.addressof(self._packed)
        self._in_descs = self._descs[: len(self._in_specs)]
        self._out_descs = self._descs[len(self._in_specs) :]
        self._in_checks = [(s.name, torch.Size(s.shape), s.dtype) for s in self._in_specs]
        # torch.empty(*dims) is faster than torch.empty(shape); () needs the tuple.
        self._out_alloc = [(tuple(s.shape) or ((),), s.dtype) for s in self._out_specs]
        self._host_calls = bool(self.host.calls)

    def __call__(self, *tensors: torch.Tensor) -> List[torch.Tensor]:
        if len(tensors) != len(self._in_checks):
            raise TypeError(f"expected {len(self._in_checks)} tensor inputs, got {len(tensors)}")
        keep = []
        for t, desc, check in zip(tensors, self._in_descs, self._in_checks):
            if type(t) is not torch.Tensor or t.dtype is not check[2] or t.shape != check[1] or not t.is_cpu:
                self._reject(t, *check)
            if not t.is_contiguous():
                t = t.contiguous()
                keep.append(t)
            # Compiled code never frees its inputs, so `allocated` is not set.
            desc.aligned = t.data_ptr()
        outs = [torch.empty(*dims, dtype=dtype) for dims, dtype in self._out_alloc]
        for o, desc in zip(outs, self._out_descs):
            desc.aligned = o.data_ptr()
        if self._host_calls:
            self.host.begin()
            self._fn(self._packed_ptr)
            self.host.end()
        else:
            self._fn(self._packed_ptr)
        return outs

    @staticmethod
    def _reject(t, name, shape, dtype):
        """Raises the error for an input that failed the fast check (or returns
        for a tensor subclass that passes the full one)."""
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"input '{name}': expected a torch.Tensor, got {type(t).__name__}")
        if t.dtype != dtype:
            raise TypeError(f"input '{name}': expected dtype {dtype}, got {t.dtype}")
        if t.shape != shape:
            raise ValueError(f"input '{name}': expected shape {tuple(shape)}, got {tuple(t.shape)}")
        if not t.is_cpu:
            raise ValueError(f"input '{name}': expected a cpu tensor, got device {t.device}")
