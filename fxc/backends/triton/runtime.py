"""Running a Triton artifact: its host plan, on CPU tensors or on a GPU.

Needs torch and triton, not MLIR.  ``kernels.py`` is written to a private
folder and imported as a module (``triton.jit`` reads each function's
source).  Where the kernels run follows the inputs' device:

* CPU tensors: Triton's interpreter.  ``triton.jit`` decides at decoration
  time whether it makes an interpreted function (``TRITON_INTERPRET``), so
  the module is imported with that variable set, once, and kept apart from
  the GPU copy; the caller's environment is left as it was.
* CUDA tensors: the same source JIT-compiled by the installed triton (the
  cubins an artifact may carry are for inspection and ahead-of-time checks;
  launching them needs the exact triton that built them).

Each call owns its buffers (allocated per call; PyTorch's caching allocator
reuses the memory) and its host-call state, so calls may run concurrently.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import tempfile
import threading
from typing import Dict, List

import torch

from fxc.runtime import host as host_runtime
from fxc.runtime.artifact import Artifact
from fxc.runtime.program import readable
from fxc.runtime.signature import Signature
from fxc.runtime.torch_ops import dtype_of

KERNELS = "kernels.py"
_LOCK = threading.Lock()


@contextlib.contextmanager
def _interpreting():
    """Lets interpreted kernels call triton.language's own jit functions
    (``tl.zeros``, ``tl.sum``...): those were decorated when triton was
    imported, usually without ``TRITON_INTERPRET``, so they are compiled-only
    ``JITFunction``s whose ``__call__`` refuses to run.  Inside an interpreted
    kernel, calling one runs its Python body, as the interpreter does for
    functions it decorated itself.  Outside kernels the call raised anyway."""
    from triton.runtime.jit import JITFunction

    with _LOCK:
        saved = JITFunction.__call__
        JITFunction.__call__ = lambda self, *args, **kwargs: self.fn(*args, **kwargs)
        try:
            yield
        finally:
            JITFunction.__call__ = saved


def _import_kernels(source: str, interpret: bool):
    """The kernels module, decorated for the interpreter or for the GPU."""
    folder = tempfile.mkdtemp(prefix="fxc-triton-")
    name = f"fxc_triton_kernels_{'interp' if interpret else 'gpu'}_{os.path.basename(folder).replace('-', '_')}"
    path = os.path.join(folder, f"{name}.py")
    with open(path, "w") as f:
        f.write(source)
    with _LOCK:
        old = os.environ.get("TRITON_INTERPRET")
        os.environ["TRITON_INTERPRET"] = "1" if interpret else "0"
        try:
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module  # inspect.getsource finds the file through it
            spec.loader.exec_module(module)
        finally:
            if old is None:
                del os.environ["TRITON_INTERPRET"]
            else:
                os.environ["TRITON_INTERPRET"] = old
    return module


class TritonExecutable:
    """The host plan of a Triton artifact, callable on flat tensors."""

    def __init__(self, artifact: Artifact, objects=None):
        manifest = artifact.manifest
        self.signature = Signature.from_json(manifest["signature"])
        self.plan = manifest["plan"]
        self.host = host_runtime.HostRuntime(manifest.get("host_calls", []), objects)
        self._source = artifact.files[KERNELS].decode()
        self._modules: Dict[bool, object] = {}
        sig = self.signature
        self._names = [sig.inputs[ref].name if kind == "input" else ref for kind, ref in sig.args]
        self._types = [(dtype_of(b["dtype"]), tuple(b["shape"])) for b in self.plan["buffers"]]

    def _kernels(self, interpret: bool):
        if interpret not in self._modules:
            self._modules[interpret] = _import_kernels(self._source, interpret)
        return self._modules[interpret]

    def _check(self, tensors) -> torch.device:
        if len(tensors) != len(self.plan["inputs"]):
            raise TypeError(f"expected {len(self.plan['inputs'])} inputs, got {len(tensors)}")
        device = None
        for name, t, b in zip(self._names, tensors, self.plan["inputs"]):
            dtype, shape = self._types[b]
            if not isinstance(t, torch.Tensor):
                raise TypeError(f"input '{name}': expected a torch.Tensor, got {type(t).__name__}")
            if t.dtype != dtype and not (t.dtype.itemsize == dtype.itemsize and t.dtype.is_floating_point
                                         == dtype.is_floating_point):
                raise TypeError(f"input '{name}': expected dtype {dtype}, got {t.dtype}")
            if tuple(t.shape) != shape:
                raise ValueError(f"input '{name}': expected shape [{', '.join(map(str, shape))}], "
                                 f"got [{', '.join(map(str, t.shape))}]")
            if t.device.type not in ("cpu", "cuda") or (device is not None and t.device != device):
                raise ValueError(f"input '{name}': expected a cpu or cuda tensor on the inputs' device, "
                                 f"got device {t.device}")
            device = t.device
        return device or torch.device("cpu")

    def __call__(self, *tensors: torch.Tensor) -> List[torch.Tensor]:
        device = self._check(tensors)
        if device.type == "cpu" and any(dt == torch.bfloat16 for dt, _ in self._types):
            # Measured with triton 3.9: interpreted bf16 loads return garbage
            # (x + x gives NaN), so this is refused rather than run wrong.
            raise RuntimeError("Triton's interpreter does not compute bfloat16 correctly; run this program "
                               "on CUDA tensors (or compile it for target='cpu')")
        kernels = self._kernels(device.type == "cpu")
        bufs: List = [None] * len(self._types)
        for b, t in zip(self.plan["inputs"], tensors):
            bufs[b] = readable(t)
        state = self.host.begin() if self.host.calls else None
        try:
            for step in self.plan["steps"]:
                kind = step["kind"]
                if kind == "view":
                    bufs[step["dst"]] = bufs[step["src"]].reshape(self._types[step["dst"]][1])
                    continue
                outs = [torch.empty(self._types[o][1], dtype=self._types[o][0], device=device) for o in step["outs"]]
                for o, t in zip(step["outs"], outs):
                    bufs[o] = t
                args = [bufs[a] for a in step["args"]]
                if kind == "launch":
                    fn = getattr(kernels, step["kernel"])
                    extra = {"num_warps": step["num_warps"]} if device.type == "cuda" else {}
                    if device.type == "cuda" and "num_stages" in step:
                        extra["num_stages"] = step["num_stages"]
                    if device.type == "cpu":
                        with _interpreting():
                            fn[tuple(step["grid"])](*args, *outs, **step["meta"])
                    else:
                        fn[tuple(step["grid"])](*args, *outs, **step["meta"], **extra)
                else:
                    self.host.run(self.host.calls[step["call"]], args, outs)
        finally:
            if state is not None:
                self.host.end(state)
        return [bufs[o] for o in self.plan["outputs"]]
