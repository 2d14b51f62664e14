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

The plan itself (input checks, buffers and their reuse, views, host calls
between launches) runs on the GPU runtime shared with the NVVM backend,
:mod:`fxc.runtime.gpu_plan`; this module is only the Triton
:class:`~fxc.runtime.gpu_plan.Launcher`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import tempfile
import threading
from typing import Dict

import torch

from fxc.runtime.artifact import Artifact
from fxc.runtime.gpu_plan import Launcher, PlanExecutable
from fxc.runtime.shapes import compile_expr

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
    # triton itself is imported first, outside TRITON_INTERPRET: imported
    # inside, its own jit functions (tl.cdiv...) become interpreted ones and
    # a module it imports later (gluon, at the first launch) asserts.
    import triton  # noqa: F401

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


def _launch_values(step: dict, env: Dict[str, int]):
    """A launch's grid, block sizes and size arguments for this call's symbols."""
    env = dict(env)
    for name, expr in step.get("aliases", {}).items():  # the kernel's names for size expressions
        env[name] = compile_expr(expr)[0](env)

    def value(x):
        return x if isinstance(x, int) else compile_expr(x)[0](env)

    grid = tuple(value(g) for g in step["grid"])
    meta = {k: value(v) for k, v in step["meta"].items()}
    for k, limit in step.get("limits", {}).items():
        if meta[k] > limit:
            raise RuntimeError(f"{step['kernel']}: {k} = {meta[k]} at these sizes, over the limit {limit} of "
                               f"fxc's Triton kernels (a persistent reduction holds a whole row)")
    return grid, meta, [env[s] for s in step.get("symbols", ())]


class TritonLauncher(Launcher):
    """Launches ``kernels.py``'s functions: interpreted on CPU tensors, JIT-compiled on CUDA ones."""

    name = "Triton"
    device_types = ("cpu", "cuda")

    def __init__(self, artifact: Artifact):
        self._source = artifact.files[KERNELS].decode()
        self._bf16 = "tl.bfloat16" in self._source or any(
            b["dtype"] == "bfloat16" for b in artifact.manifest["plan"]["buffers"])
        self._modules: Dict[bool, object] = {}

    def check_device(self, device: torch.device) -> None:
        super().check_device(device)
        if device.type == "cpu" and self._bf16:
            # Measured with triton 3.9: interpreted bf16 loads return garbage
            # (x + x gives NaN) and bf16 casts inside kernels round wrongly,
            # so any bf16 buffer or kernel value is refused rather than run wrong.
            raise RuntimeError("Triton's interpreter does not compute bfloat16 correctly; run this program "
                               "on CUDA tensors (or compile it for target='cpu')")

    def _kernels(self, interpret: bool):
        with _LOCK:
            known = self._modules.get(interpret)
        if known is None:
            known = _import_kernels(self._source, interpret)
            with _LOCK:
                known = self._modules.setdefault(interpret, known)
        return known

    def launch(self, step, args, outs, env, device):
        fn = getattr(self._kernels(device.type == "cpu"), step["kernel"])
        grid, meta, sizes = _launch_values(step, env)
        err = [torch.zeros(1, dtype=torch.int32, device=device)] if "checks" in step else []
        if device.type == "cpu":
            with _interpreting():
                fn[grid](*args, *outs, *err, *sizes, **meta)
        else:
            extra = {"num_warps": step["num_warps"]}
            if "num_stages" in step:
                extra["num_stages"] = step["num_stages"]
            fn[grid](*args, *outs, *err, *sizes, **meta, **extra)
        if err and int(err[0]):  # a failed run-time check (an index out of bounds)
            raise RuntimeError(f"{step['kernel']}: {step['checks'][int(err[0]) - 1]}")


class TritonExecutable(PlanExecutable):
    """The host plan of a Triton artifact, callable on flat tensors."""

    def __init__(self, artifact: Artifact, objects=None):
        super().__init__(artifact, objects, TritonLauncher(artifact))
