"""Cubins on a CUDA device through the driver API: the GPU plan's loader and launcher.

``libcuda`` through ctypes (``cuModuleLoadData``, ``cuModuleGetFunction``,
``cuLaunchKernel`` on torch's current stream); each cubin is loaded once per
device and kept.  Kernel parameters are device pointers (torch tensors) or
scalars with an MLIR type name (``i32``, ``f32``, ``index``...; ``ptr``: an
address).  Needs torch
and a CUDA driver, nothing of the compiler.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Dict, List, Mapping

import torch

SCALARS = {"ptr": ctypes.c_void_p, "i64": ctypes.c_int64, "index": ctypes.c_int64, "i32": ctypes.c_int32, "i16": ctypes.c_int16,
           "i8": ctypes.c_int8, "i1": ctypes.c_bool, "f32": ctypes.c_float, "f64": ctypes.c_double}


def libcuda():
    try:
        return ctypes.CDLL("libcuda.so.1")
    except OSError as e:
        raise RuntimeError(f"fxc's GPU runtime needs the CUDA driver, which is not loadable here ({e})") from None


def _check(lib, rc: int, what: str) -> None:
    if rc != 0:
        msg = ctypes.c_char_p()
        lib.cuGetErrorString(rc, ctypes.byref(msg))
        raise RuntimeError(f"{what} failed: CUDA error {rc} ({(msg.value or b'').decode()})")


class CubinLoader:
    """Functions of a set of cubins (``{module name: bytes}``), loaded lazily per device."""

    def __init__(self, cubins: Mapping[str, bytes]):
        self._cubins = dict(cubins)
        self._functions: Dict[tuple, ctypes.c_void_p] = {}
        self._lock = threading.Lock()

    def function(self, device: torch.device, module: str, kernel: str) -> ctypes.c_void_p:
        key = (device.index, module, kernel)
        with self._lock:
            if key not in self._functions:
                if module not in self._cubins:
                    raise RuntimeError(f"the artifact has no cubin for '{module}'")
                lib = libcuda()
                torch.cuda.init()
                handle, fn = ctypes.c_void_p(), ctypes.c_void_p()
                with torch.cuda.device(device):
                    torch.cuda.current_stream(device)  # makes the primary context current
                    _check(lib, lib.cuModuleLoadData(ctypes.byref(handle), ctypes.c_char_p(self._cubins[module])),
                           f"loading the cubin of '{module}'")
                    _check(lib, lib.cuModuleGetFunction(ctypes.byref(fn), handle, kernel.encode()),
                           f"finding kernel '{kernel}'")
                self._functions[key] = fn
            return self._functions[key]

    def launch(self, device: torch.device, module: str, kernel: str, grid, block, params: List,
               shared_bytes: int = 0) -> None:
        """Launches ``kernel`` on torch's current stream; ``params`` are tensors
        (passed as device pointers) or ``(value, type)`` scalars."""
        lib = libcuda()
        fn = self.function(device, module, kernel)
        values = [ctypes.c_void_p(p.data_ptr()) if isinstance(p, torch.Tensor) else SCALARS[p[1]](p[0])
                  for p in params]
        argv = (ctypes.c_void_p * len(values))(*[ctypes.cast(ctypes.byref(v), ctypes.c_void_p) for v in values])
        stream = ctypes.c_void_p(torch.cuda.current_stream(device).cuda_stream)
        (gx, gy, gz), (bx, by, bz) = grid, block
        with torch.cuda.device(device):
            _check(lib, lib.cuLaunchKernel(fn, gx, gy, gz, bx, by, bz, shared_bytes, stream, argv, None),
                   f"launching '{module}'")
