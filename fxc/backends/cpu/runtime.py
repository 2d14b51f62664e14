"""Running a CPU artifact: its shared object, called on torch tensors.

Needs torch and a C library loader, not MLIR.  The shared object is loaded
from memory (a ``memfd``), so each load is a separate instance with its own
host-call table, even for one artifact loaded twice.

The entry function has MLIR's C interface with out-params
(``_mlir_ciface_main(in0*, ..., out0*, ...)``); its packed wrapper
``_mlir__mlir_ciface_main`` takes one ``void**`` array.  The descriptors and
that array form a *frame*; frames are taken from a pool for one call and
returned after it, so concurrent calls (ctypes releases the GIL) never share
one, and a steady caller reuses the same frame at no allocation cost.

Host calls arrive at ctypes callbacks whose addresses the loader writes into
the function-pointer globals fxc-indirect-host-calls made; they run on the
calling thread, inside that call's host state (``fxc.runtime.host``).
"""

from __future__ import annotations

import ctypes
import functools
import os
import tempfile
import weakref
from typing import List

import torch

from fxc.backends.cpu import openmp
from fxc.backends.cpu.descriptors import descriptor_class, make_descriptor, tensor_view
from fxc.runtime import host as host_runtime
from fxc.runtime.artifact import Artifact, ArtifactError
from fxc.runtime.program import check_tensor, readable
from fxc.runtime.shapes import ShapeGuards
from fxc.runtime.signature import Signature

#: The file of an artifact that holds the code.
SHARED_OBJECT = "program.so"
_Parameter, _Tensor, _empty = torch.nn.Parameter, torch.Tensor, torch.empty
host_runtime.BUFFER_FRAMES.add(__file__)


def _dlopen(data: bytes):
    """Loads a shared object from bytes as a fresh instance; returns the
    library and a closer to call once it is no longer used.

    The loader returns an already loaded library for a path it has seen, so
    the path must be unique among loaded ones: the memfd stays open (and its
    ``/proc/self/fd/N`` name taken) until the library is closed.
    """
    mode = os.RTLD_NOW | os.RTLD_LOCAL
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("fxc-program", 0)
        try:
            os.write(fd, data)
            lib = ctypes.CDLL(f"/proc/self/fd/{fd}", mode=mode)
        except BaseException:
            os.close(fd)
            raise
        return lib, functools.partial(_close, lib._handle, fd)
    d = tempfile.mkdtemp(prefix="fxc-")
    path = os.path.join(d, "program.so")
    with open(path, "wb") as f:
        f.write(data)
    lib = ctypes.CDLL(path, mode=mode)
    return lib, functools.partial(_close, lib._handle, None, path, d)


def _close(handle: int, fd=None, path=None, folder=None) -> None:
    try:
        import _ctypes

        _ctypes.dlclose(handle)
    except (ImportError, OSError):
        pass
    if fd is not None:
        os.close(fd)
    if path is not None:
        os.unlink(path)
        os.rmdir(folder)


class _Frame:
    """The descriptors and packed argument array of one call in flight.

    A tensor position holds a memref descriptor (the packed array points at a
    cell holding its address: the C interface takes descriptors by pointer);
    an integer position (``shape`` None) holds an ``int64`` the array points
    at directly.  Static descriptors are filled once; symbolic ones per call.

    With ``returned`` result ranks, the function returns its results instead
    of filling out-params: the C interface then takes a pointer to a struct
    of their descriptors first, and ``outs`` are that struct's descriptors.
    """

    __slots__ = ("descs", "cells", "packed", "ptr", "ins", "outs", "results")

    def __init__(self, shapes: list, n_in: int, returned=None):
        self.descs = [ctypes.c_int64() if s is None else _descriptor(s) for s in shapes]
        self.cells = [d if s is None else ctypes.c_void_p(ctypes.addressof(d)) for d, s in zip(self.descs, shapes)]
        self.ins = self.descs[:n_in]
        self.outs = self.descs[n_in:]
        self.results = None
        if returned is not None:
            self.results = _result_struct(returned)()
            self.cells = [ctypes.c_void_p(ctypes.addressof(self.results))] + self.cells[:n_in]
            self.outs = [self.results] if len(returned) == 1 else [getattr(self.results, f"r{i}")
                                                                   for i in range(len(returned))]
        self.packed = (ctypes.c_void_p * len(self.cells))(*[ctypes.addressof(c) for c in self.cells])
        self.ptr = ctypes.addressof(self.packed)


def _result_struct(ranks):
    """The C-interface return type of memref results of ``ranks``: the
    descriptor itself for one, a struct of them for several."""
    if len(ranks) == 1:
        return descriptor_class(ranks[0])
    return type("Results", (ctypes.Structure,), {"_fields_": [(f"r{i}", descriptor_class(r))
                                                              for i, r in enumerate(ranks)]})


_libc = ctypes.CDLL(None)
_libc.free.argtypes = [ctypes.c_void_p]


def _take_buffer(desc, dtype: torch.dtype) -> torch.Tensor:
    """A tensor owning a buffer compiled code allocated and returned (freed
    with the tensor's storage; no copy)."""
    rank = len(desc.sizes) if hasattr(desc, "sizes") else 0
    sizes = [desc.sizes[i] for i in range(rank)]
    numel = 1
    for d in sizes:
        numel *= d
    itemsize = _ITEMSIZE[dtype]
    if numel == 0:
        _libc.free(desc.allocated)
        return torch.empty(sizes, dtype=dtype)
    buf = (ctypes.c_char * (numel * itemsize)).from_address(desc.aligned + desc.offset * itemsize)
    weakref.finalize(buf, _libc.free, desc.allocated)
    return torch.frombuffer(buf, dtype=dtype, count=numel).view(sizes)


_ITEMSIZE = {dt: torch.empty((), dtype=dt).element_size() for dt in
             (torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.bool, torch.int8, torch.uint8,
              torch.int16, torch.int32, torch.int64)}


def _descriptor(shape):
    if all(isinstance(d, int) for d in shape):
        return make_descriptor(shape)
    return descriptor_class(len(shape))()


def _set_shape(desc, shape) -> None:
    """Writes the sizes and contiguous strides of ``shape`` into ``desc``."""
    stride = 1
    for i in range(len(shape) - 1, -1, -1):
        desc.sizes[i] = shape[i]
        desc.strides[i] = stride
        stride *= max(shape[i], 1)


def _guarded(lib, entry: int, messages: List[str]):
    """The entry called through the shared object's ``fxc_guarded_call``: a
    check that fails in the code (fxc-recoverable-checks) raises its
    message as a RuntimeError."""
    guard = lib.fxc_guarded_call
    guard.argtypes, guard.restype = [ctypes.c_void_p, ctypes.c_void_p], ctypes.c_int

    def call(args):
        failed = guard(entry, args)
        if failed >= 0:
            raise RuntimeError(messages[failed])

    return call


class CpuExecutable:
    """The compiled function of a CPU artifact, callable on flat tensors."""

    def __init__(self, artifact: Artifact, objects=None):
        manifest = artifact.manifest
        sig = Signature.from_json(manifest["signature"])
        if manifest.get("options", {}).get("openmp") and not openmp.load_runtime():
            raise ArtifactError("this artifact runs parallel loops on PyTorch's OpenMP threads (libgomp), "
                                "and this PyTorch has no OpenMP; recompile with openmp=False")
        self.host = host_runtime.HostRuntime(manifest.get("host_calls", []), objects)
        try:
            self._lib, closer = _dlopen(artifact.files[SHARED_OBJECT])
        except OSError as e:
            # An unresolved __kmpc_* symbol: built by an fxc that ran its loops on libiomp5.
            raise ArtifactError(f"the artifact's compiled code cannot be loaded here ({e}); "
                                "recompile it with this fxc") from None
        weakref.finalize(self, closer)
        self._callbacks = [self._install(call) for call in self.host.calls]
        entry = ctypes.cast(getattr(self._lib, f"_mlir__mlir_ciface_{sig.entry}"), ctypes.c_void_p).value
        self._fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(entry)
        if manifest.get("checks"):
            self._fn = _guarded(self._lib, entry, manifest["checks"])
        arg_types, result_types = sig.arg_types(), sig.result_types()
        names = [sig.inputs[ref].name if kind == "input" else ref for kind, ref in sig.args]
        self._checks = list(zip(names, arg_types))
        self._shapes = [None if t is None else t.shape for t in arg_types + result_types]
        self._n_in = len(arg_types)
        self._free: List[_Frame] = []
        self._has_host_calls = bool(self.host.calls)
        self._result_types = result_types
        self._dynamic = not all(t is not None and t.is_static for t in arg_types + result_types) or bool(sig.values)
        # How results come back (fxc-results-to-out-params decided it on the code's types).
        self._returned = [len(t.shape) for t in result_types] if manifest.get("results") == "returned" else None
        if self._dynamic:
            # Per input: None for an int, else what a tensor the code can read
            # as it is has (the fast test; anything else takes _slow_input).
            self._fast = [None if t is None else
                          (t.dtype, len(t.shape), tuple((j, d) for j, d in enumerate(t.shape) if isinstance(d, int)))
                          for t in arg_types]
            self._guards = ShapeGuards(
                [(n, sig.inputs[ref].value if t is None else tuple(t.shape))
                 for n, t, (kind, ref) in zip(names, arg_types, sig.args)], sig.symbols, sig.checks,
                [(sym, sig.args.index(("input", i)), j) for sym, i, j in sig.values])
            return
        self._shapes_in = [torch.Size(t.shape) for t in arg_types]
        self._dtypes_in = [t.dtype for t in arg_types]
        # torch.empty(*dims) is faster than torch.empty(shape); () needs the tuple.
        self._out_alloc = [(tuple(t.shape) or ((),), t.dtype) for t in result_types]

    def _install(self, call: host_runtime.HostCall):
        """A ctypes callback for ``call``, its address written into its slot."""
        classes = [descriptor_class(r) for r in call.ranks]
        n_in, dtypes, rt = call.n_inputs, call.dtypes, self.host

        def callback(*desc_ptrs):
            views = [tensor_view(p.contents, dt) for p, dt in zip(desc_ptrs, dtypes)]
            rt.run(call, views[:n_in], views[n_in:])

        cb = ctypes.CFUNCTYPE(None, *[ctypes.POINTER(c) for c in classes])(callback)
        ctypes.c_void_p.in_dll(self._lib, call.symbol).value = ctypes.cast(cb, ctypes.c_void_p).value
        return cb

    def __call__(self, *tensors: torch.Tensor) -> List[torch.Tensor]:
        if self._dynamic:
            return self._call_dynamic(*tensors)
        if len(tensors) != self._n_in:
            raise TypeError(f"expected {self._n_in} inputs, got {len(tensors)}")
        free = self._free
        frame = free.pop() if free else _Frame(self._shapes, self._n_in)
        try:
            keep, i = None, 0
            for t, desc, shape, dtype in zip(tensors, frame.ins, self._shapes_in, self._dtypes_in):
                tt = type(t)
                if not ((tt is _Tensor or tt is _Parameter) and t.dtype is dtype and t.shape == shape
                        and t.is_contiguous() and t.is_cpu and not t.is_neg()):
                    t = self._slow_input(i, t)
                    keep = (keep or []) + [t]
                # Compiled code never frees its inputs, so `allocated` is not set.
                desc.aligned = t.data_ptr()
                i += 1
            outs = [_empty(*dims, dtype=dtype) for dims, dtype in self._out_alloc]
            for o, desc in zip(outs, frame.outs):
                desc.aligned = o.data_ptr()
            if self._has_host_calls:
                state = self.host.begin()
                self._fn(frame.ptr)
                self.host.end(state)
            else:
                self._fn(frame.ptr)
            return outs
        finally:
            free.append(frame)

    def _call_dynamic(self, *values) -> List[torch.Tensor]:
        """A call with symbolic sizes: bind and guard them, then size the
        descriptors and the results for this call."""
        if len(values) != self._n_in:
            raise TypeError(f"expected {self._n_in} inputs, got {len(values)}")
        values = list(values)
        for i, (v, fast) in enumerate(zip(values, self._fast)):
            if fast is None:
                values[i] = self._checked_int(i, v)
                continue
            dtype, rank, static = fast
            tt = type(v)
            if not ((tt is _Tensor or tt is _Parameter) and v.dtype is dtype and v.dim() == rank
                    and v.is_contiguous() and v.is_cpu and not v.is_neg() and all(v.shape[j] == n for j, n in static)):
                values[i] = self._slow_input(i, v)
        env = self._guards.bind(values)
        free = self._free
        frame = free.pop() if free else _Frame(self._shapes, self._n_in, self._returned)
        try:
            for v, desc, (_, ttype) in zip(values, frame.ins, self._checks):
                if ttype is None:
                    desc.value = v
                else:
                    desc.aligned = v.data_ptr()
                    if not ttype.is_static:
                        _set_shape(desc, v.shape)
            outs = []
            if self._returned is None:  # out-params, sized from the symbols
                for t, desc in zip(self._result_types, frame.outs):
                    shape = ShapeGuards.shape(t.shape, env)
                    o = _empty(shape, dtype=t.dtype)
                    outs.append(o)
                    desc.aligned = o.data_ptr()
                    if not t.is_static:
                        _set_shape(desc, shape)
            if self._has_host_calls:
                state = self.host.begin()
                try:
                    self._fn(frame.ptr)
                finally:
                    if self._returned is not None:  # owned by the caller: never leak them
                        outs = [_take_buffer(d, t.dtype) for d, t in zip(frame.outs, self._result_types)]
                self.host.end(state)
            else:
                self._fn(frame.ptr)
                if self._returned is not None:
                    outs = [_take_buffer(d, t.dtype) for d, t in zip(frame.outs, self._result_types)]
            return outs
        finally:
            free.append(frame)

    def _checked_int(self, i: int, v) -> int:
        if isinstance(v, torch.SymInt) or not isinstance(v, int) or isinstance(v, bool):
            raise TypeError(f"input '{self._checks[i][0]}': expected an int, got {type(v).__name__}")
        return v

    def _slow_input(self, i: int, t) -> torch.Tensor:
        """Checks an input that failed the fast test; returns a tensor compiled
        code can read (materialized), or raises naming it."""
        name, ttype = self._checks[i]
        check_tensor(t, name, ttype)
        return readable(t)
