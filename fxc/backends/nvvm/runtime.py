"""Running an NVVM artifact: its cubins and host plan on a CUDA device.

The plan runs on the GPU runtime shared with the Triton backend
(:mod:`fxc.runtime.gpu_plan`: input checks, buffers and their reuse, views,
copies, host calls between launches); this module only says how one kernel
launches: its cubin through the driver API (:mod:`fxc.runtime.cuda`), with
the launch step's grid, block and parameters (``{"arg": i}``: the step's
``i``-th buffer as a bare device pointer, less ``offset`` elements for a
strided view; ``{"scalar", "type"}``: a constant).  Needs torch and a CUDA driver, not MLIR.  Without a CUDA device a
call raises a RuntimeError saying so.
"""

from __future__ import annotations

from fxc.runtime.artifact import Artifact
from fxc.runtime.cuda import CubinLoader
from fxc.runtime.gpu_plan import Launcher, PlanExecutable


def _pointer(t, offset: int):
    """A kernel's bare pointer to ``t``: the base of a strided view (the
    kernel's parameter type adds ``offset`` elements back)."""
    return t if not offset else (t.data_ptr() - offset * t.element_size(), "ptr")


class NvvmLauncher(Launcher):
    name = "NVVM"
    device_types = ("cuda",)

    def __init__(self, artifact: Artifact):
        self.loader = CubinLoader({name[len("cuda/"):-len(".cubin")]: data for name, data in artifact.files.items()
                                   if name.startswith("cuda/") and name.endswith(".cubin")})

    def launch(self, step, args, outs, env, device):
        params = [_pointer(args[p["arg"]], p.get("offset", 0)) if "arg" in p else (p["scalar"], p["type"])
                  for p in step["params"]]
        self.loader.launch(device, step["module"], step["kernel"], step["grid"], step["block"], params,
                           step.get("shared_bytes", 0))


class NvvmExecutable(PlanExecutable):
    """The host plan of an NVVM artifact, callable on flat CUDA tensors."""

    def __init__(self, artifact: Artifact, objects=None):
        super().__init__(artifact, objects, NvvmLauncher(artifact))
