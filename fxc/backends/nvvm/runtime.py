"""Running an NVVM artifact: its cubins and host plan on a CUDA device.

Needs torch and a CUDA driver, not MLIR.  The cubins are loaded with the
driver API (``libcuda`` through ctypes: ``cuModuleLoadData``,
``cuModuleGetFunction``, ``cuLaunchKernel`` on torch's current stream), once
per device and kept.  Each call owns its buffers (allocated per call by
PyTorch's caching allocator) and its host-call state, so calls may run
concurrently.  Without a CUDA device a call raises a RuntimeError saying so.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Dict, List

import torch

from fxc.runtime import host as host_runtime
from fxc.runtime.artifact import Artifact
from fxc.runtime.program import readable
from fxc.runtime.signature import Signature
from fxc.runtime.torch_ops import dtype_of

_SCALARS = {"i64": ctypes.c_int64, "index": ctypes.c_int64, "i32": ctypes.c_int32, "i16": ctypes.c_int16,
            "i8": ctypes.c_int8, "i1": ctypes.c_bool, "f32": ctypes.c_float, "f64": ctypes.c_double}


def _libcuda():
    try:
        return ctypes.CDLL("libcuda.so.1")
    except OSError as e:
        raise RuntimeError(f"fxc's NVVM backend runs on a CUDA GPU; the CUDA driver is not loadable here ({e})") \
            from None


def _check(lib, rc: int, what: str) -> None:
    if rc != 0:
        msg = ctypes.c_char_p()
        lib.cuGetErrorString(rc, ctypes.byref(msg))
        raise RuntimeError(f"{what} failed: CUDA error {rc} ({(msg.value or b'').decode()})")


class NvvmExecutable:
    """The host plan of an NVVM artifact, callable on flat CUDA tensors."""

    def __init__(self, artifact: Artifact, objects=None):
        manifest = artifact.manifest
        self.signature = Signature.from_json(manifest["signature"])
        self.plan = manifest["plan"]
        self.host = host_runtime.HostRuntime(manifest.get("host_calls", []), objects)
        self._cubins = {name[len("cuda/"):-len(".cubin")]: data for name, data in artifact.files.items()
                        if name.startswith("cuda/") and name.endswith(".cubin")}
        self._functions: Dict[tuple, ctypes.c_void_p] = {}
        self._lock = threading.Lock()
        sig = self.signature
        self._names = [sig.inputs[ref].name if kind == "input" else ref for kind, ref in sig.args]
        self._types = [(dtype_of(b["dtype"]), tuple(b["shape"])) for b in self.plan["buffers"]]

    def _function(self, lib, device: torch.device, module: str, kernel: str):
        key = (device.index, module, kernel)
        with self._lock:
            if key not in self._functions:
                torch.cuda.init()
                handle, fn = ctypes.c_void_p(), ctypes.c_void_p()
                data = self._cubins[module]
                with torch.cuda.device(device):
                    torch.cuda.current_stream(device)  # makes the primary context current
                    _check(lib, lib.cuModuleLoadData(ctypes.byref(handle), ctypes.c_char_p(data)),
                           f"loading the cubin of '{module}'")
                    _check(lib, lib.cuModuleGetFunction(ctypes.byref(fn), handle, kernel.encode()),
                           f"finding kernel '{kernel}'")
                self._functions[key] = fn
            return self._functions[key]

    def _check_inputs(self, tensors) -> torch.device:
        if not torch.cuda.is_available():
            raise RuntimeError("fxc's NVVM backend runs on a CUDA GPU, and this machine has no CUDA device; "
                               "compile for target='cpu' or 'triton' to run here")
        if len(tensors) != len(self.plan["inputs"]):
            raise TypeError(f"expected {len(self.plan['inputs'])} inputs, got {len(tensors)}")
        device = None
        for name, t, b in zip(self._names, tensors, self.plan["inputs"]):
            dtype, shape = self._types[b]
            if not isinstance(t, torch.Tensor):
                raise TypeError(f"input '{name}': expected a torch.Tensor, got {type(t).__name__}")
            if t.dtype.itemsize != dtype.itemsize or t.dtype.is_floating_point != dtype.is_floating_point:
                raise TypeError(f"input '{name}': expected dtype {dtype}, got {t.dtype}")
            if tuple(t.shape) != shape:
                raise ValueError(f"input '{name}': expected shape [{', '.join(map(str, shape))}], "
                                 f"got [{', '.join(map(str, t.shape))}]")
            if device is not None and t.device != device:
                raise ValueError(f"input '{name}': expected a tensor on {device}, got device {t.device}")
            device = t.device
        device = device or torch.device("cuda", torch.cuda.current_device())
        if device.type != "cuda":
            raise ValueError(f"fxc's NVVM backend runs on CUDA tensors, got device {device}")
        return device

    def __call__(self, *tensors: torch.Tensor) -> List[torch.Tensor]:
        device = self._check_inputs(tensors)
        lib = _libcuda()
        bufs: List = [None] * len(self._types)
        for b, t in zip(self.plan["inputs"], tensors):
            bufs[b] = readable(t).contiguous()
        for o in self.plan["outputs"]:
            bufs[o] = torch.empty(self._types[o][1], dtype=self._types[o][0], device=device)
        state = self.host.begin() if self.host.calls else None
        try:
            for step in self.plan["steps"]:
                kind = step["kind"]
                if kind == "alloc":
                    b = step["buffer"]
                    bufs[b] = torch.empty(self._types[b][1], dtype=self._types[b][0], device=device)
                elif kind == "view":
                    bufs[step["dst"]] = bufs[step["src"]].reshape(self._types[step["dst"]][1])
                elif kind == "copy":
                    bufs[step["dst"]].copy_(bufs[step["src"]])
                elif kind == "launch":
                    self._launch(lib, device, step, bufs)
                else:
                    outs = [torch.empty(self._types[o][1], dtype=self._types[o][0], device=device)
                            for o in step["outs"]]
                    for o, t in zip(step["outs"], outs):
                        bufs[o] = t
                    self.host.run(self.host.calls[step["call"]], [bufs[a] for a in step["args"]], outs)
        finally:
            if state is not None:
                self.host.end(state)
        return [bufs[o] for o in self.plan["outputs"]]

    def _launch(self, lib, device, step: dict, bufs: list) -> None:
        fn = self._function(lib, device, step["module"], step["kernel"])
        values = [ctypes.c_void_p(bufs[a["buffer"]].data_ptr()) if "buffer" in a
                  else _SCALARS[a["type"]](a["scalar"]) for a in step["args"]]
        params = (ctypes.c_void_p * len(values))(*[ctypes.cast(ctypes.byref(v), ctypes.c_void_p) for v in values])
        stream = ctypes.c_void_p(torch.cuda.current_stream(device).cuda_stream)
        (gx, gy, gz), (bx, by, bz) = step["grid"], step["block"]
        with torch.cuda.device(device):
            _check(lib, lib.cuLaunchKernel(fn, gx, gy, gz, bx, by, bz, 0, stream, params, None),
                   f"launching '{step['module']}'")
