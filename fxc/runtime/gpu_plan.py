"""The GPU host plan: one format and one executor for every GPU backend.

The Triton and NVVM backends both compile a program to kernels plus a
*host plan*, plain data in the artifact's manifest (``manifest["plan"]``)
that this module runs with torch alone (no MLIR, no compiler):

``buffers``
    one entry per tensor the plan handles: ``shape`` (ints or size
    expressions over the signature's symbols), ``dtype``, and optionally
    ``slot`` (shared storage, :func:`assign_slots`) or ``const`` (the
    artifact file holding its bytes, read once at load).
``inputs`` / ``outputs``
    buffer ids of the arguments, in signature order, and of the results.
``steps``
    in program order, one of

    * ``alloc`` ``{buffer}``: storage for a buffer kernels write in place;
    * ``launch`` ``{kernel, args, outs, ...}``: a kernel; ``args`` are the
      buffers it takes, ``outs`` the buffers it defines (allocated here);
      everything else is the backend's launch data, read by its
      :class:`Launcher`;
    * ``host`` ``{call, args, outs}``: a host call (an effect), run by
      :mod:`fxc.runtime.host`, exactly once, in order;
    * ``view`` ``{src, dst}``: ``dst`` is ``src`` reshaped (no copy);
    * ``alias`` ``{src, dst}``: ``dst`` is a strided view of the storage of
      ``src`` (``dst``'s buffer has ``strides`` and ``offset``, in elements
      from the start of the view's root buffer);
    * ``copy`` ``{src, dst}``: ``dst`` gets ``src``'s elements;
    * ``check`` ``{cond, msg}``: a condition on the sizes, else RuntimeError.
``slots``
    how many reusable storages a call allocates.

:class:`PlanExecutable` checks the inputs (count, dtype, shape, device, the
symbols' guards) before anything runs, allocates buffers (reusing slots),
runs the steps and returns the outputs.  Each call owns its buffers and its
host-call state, so calls may run concurrently.  What differs between
backends is only how one kernel is launched: a :class:`Launcher`.
"""

from __future__ import annotations

import functools
from typing import Callable, Dict, List, Sequence, Set, Tuple

import torch

from fxc.runtime import host as host_runtime
from fxc.runtime.artifact import Artifact
from fxc.runtime.program import readable
from fxc.runtime.shapes import ShapeGuards, compile_expr
from fxc.runtime.signature import Signature
from fxc.runtime.torch_ops import dtype_of


def _numel_key(shape: Sequence) -> str:
    """The element count of a shape, as a key (a product of its factors)."""
    static = functools.reduce(lambda a, b: a * b, (d for d in shape if isinstance(d, int)), 1)
    symbolic = sorted(f"({d})" for d in shape if not isinstance(d, int))
    return "*".join([str(static), *symbolic]) if static else "0"


def _reads(step: dict) -> List[int]:
    kind = step["kind"]
    if kind in ("view", "alias", "copy"):
        return [step["src"], step["dst"]]
    if kind == "alloc":
        return [step["buffer"]]
    return [*step.get("args", ()), *step.get("outs", ())]


def assign_slots(plan: dict, numel: Callable[[Sequence], object] = _numel_key) -> None:
    """Buffer reuse: adds ``slot`` to the buffers an ``alloc`` or a launch
    defines and ``slots`` (how many) to ``plan``.

    A slot is storage a call allocates once and hands to every buffer
    assigned to it.  It is free again after the last step that touches any
    buffer stored in it (a view's uses count for the buffer it views), and a
    later buffer of the same dtype and element count (``numel``: the same
    size expression, for dynamic shapes) takes it.  Steps run in order on
    one stream, so a step's buffers never share a slot with each other (a
    slot is freed only after the step that last uses it).

    Never reused: the program's inputs and outputs, constants, and buffers a
    host call reads or writes (a callback may keep a reference).
    """
    steps, buffers = plan["steps"], plan["buffers"]
    root: Dict[int, int] = {}  # a view -> the buffer whose storage it is
    last: Dict[int, int] = {}  # a storage-owning buffer -> the last step using it
    pinned: Set[int] = set(plan["inputs"]) | {b for b, buf in enumerate(buffers) if "const" in buf}

    def owner(b: int) -> int:
        return root.get(b, b)

    for i, step in enumerate(steps):
        if step["kind"] in ("view", "alias"):
            root[step["dst"]] = owner(step["src"])
        for b in _reads(step):
            last[owner(b)] = i
        if step["kind"] == "host":
            pinned.update(owner(b) for b in (*step["args"], *step["outs"]))
    pinned.update(owner(b) for b in plan["outputs"])

    free: Dict[tuple, List[int]] = {}
    count = 0
    for i, step in enumerate(steps):
        defined = [step["buffer"]] if step["kind"] == "alloc" else step["outs"] if step["kind"] == "launch" else []
        for o in defined:
            if o in pinned:
                continue
            key = (buffers[o]["dtype"], str(numel(buffers[o]["shape"])))
            if free.get(key):
                buffers[o]["slot"] = free[key].pop()
            else:
                buffers[o]["slot"], count = count, count + 1
        for b in {owner(b) for b in _reads(step)}:
            if "slot" in buffers[b] and last.get(b, i) <= i:
                key = (buffers[b]["dtype"], str(numel(buffers[b]["shape"])))
                free.setdefault(key, []).append(buffers[b]["slot"])
    plan["slots"] = count


class Launcher:
    """How one backend's kernels run: the part of a GPU plan that differs.

    Attributes:
        name: the backend, for messages.
        device_types: where its kernels run (``"cuda"``; Triton also ``"cpu"``,
            through its interpreter).
    """

    name = "GPU"
    device_types: Tuple[str, ...] = ("cuda",)

    def check_device(self, device: torch.device) -> None:
        """Raises a RuntimeError/ValueError when the kernels cannot run on ``device``."""
        wants_cuda = device.type == "cuda" or device.type not in self.device_types
        if wants_cuda and "cuda" in self.device_types and not torch.cuda.is_available():
            raise RuntimeError(f"fxc's {self.name} backend runs on a CUDA GPU, and this machine has no CUDA "
                               "device; compile for target='cpu' or 'triton' to run here")
        if device.type not in self.device_types:
            raise ValueError(f"fxc's {self.name} backend runs on {' or '.join(self.device_types)} tensors, "
                             f"got device {device}")

    def launch(self, step: dict, args: List[torch.Tensor], outs: List[torch.Tensor], env: Dict[str, int],
               device: torch.device) -> None:
        raise NotImplementedError


def _constant(data: bytes, dtype: torch.dtype, shape) -> torch.Tensor:
    if not data:
        return torch.zeros(shape, dtype=dtype)
    return torch.frombuffer(bytearray(data), dtype=dtype).reshape(shape)


class PlanExecutable:
    """The host plan of a GPU artifact, callable on flat tensors.

    Args:
        artifact: the artifact (its manifest holds ``signature``, ``plan`` and
            ``host_calls``).
        objects: script objects the host calls take, by name.
        launcher: the backend's :class:`Launcher`.
    """

    def __init__(self, artifact: Artifact, objects, launcher: Launcher):
        manifest = artifact.manifest
        self.signature = Signature.from_json(manifest["signature"])
        self.plan = manifest["plan"]
        self.launcher = launcher
        self.host = host_runtime.HostRuntime(manifest.get("host_calls", []), objects)
        sig = self.signature
        self._names = [sig.inputs[ref].name if kind == "input" else ref for kind, ref in sig.args]
        self._types = [(dtype_of(b["dtype"]), tuple(b["shape"])) for b in self.plan["buffers"]]
        self._constants = {i: _constant(artifact.files[b["const"]], *self._types[i])
                           for i, b in enumerate(self.plan["buffers"]) if "const" in b}
        self._on_device: Dict[torch.device, Dict[int, torch.Tensor]] = {}
        self._dynamic = not all(isinstance(d, int) for _, shape in self._types for d in shape)
        if self._dynamic:
            self._guards = ShapeGuards([(n, self._types[b][1]) for n, b in zip(self._names, self.plan["inputs"])],
                                       sig.symbols, sig.checks)

    def _alloc(self, b: int, shape, device, slots) -> torch.Tensor:
        dtype, slot = self._types[b][0], self.plan["buffers"][b].get("slot")
        if slot is None:
            return torch.empty(shape, dtype=dtype, device=device)
        if slot not in slots:
            slots[slot] = torch.empty(shape, dtype=dtype, device=device)
        return slots[slot].view(shape)  # same dtype and element count (assign_slots)

    def _device_constants(self, device: torch.device) -> Dict[int, torch.Tensor]:
        if device not in self._on_device:  # read-only: shared by concurrent calls
            self._on_device[device] = {b: t.to(device) for b, t in self._constants.items()}
        return self._on_device[device]

    def _check(self, tensors) -> Tuple[torch.device, Dict[str, int]]:
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
            if len(t.shape) != len(shape) or any(isinstance(d, int) and d != n for d, n in zip(shape, t.shape)):
                raise ValueError(f"input '{name}': expected shape [{', '.join(map(str, shape))}], "
                                 f"got [{', '.join(map(str, t.shape))}]")
            if device is not None and t.device != device:
                raise ValueError(f"input '{name}': expected a tensor on the inputs' device {device}, "
                                 f"got device {t.device}")
            device = t.device
        device = device or torch.device(self.launcher.device_types[0])
        if device.type == "cuda" and device.index is None and torch.cuda.is_available():
            device = torch.device("cuda", torch.cuda.current_device())
        self.launcher.check_device(device)
        env = self._guards.bind(tensors) if self._dynamic else {}
        return device, env

    def __call__(self, *tensors: torch.Tensor) -> List[torch.Tensor]:
        device, env = self._check(tensors)
        shapes = [ShapeGuards.shape(s, env) for _, s in self._types] if self._dynamic else [s for _, s in self._types]
        bufs: List = [None] * len(self._types)
        slots: Dict[int, torch.Tensor] = {}  # this call's reused storage (plan["buffers"][i]["slot"])
        for b, t in zip(self.plan["inputs"], tensors):
            bufs[b] = readable(t)
        for b, t in self._device_constants(device).items():
            bufs[b] = t
        state = self.host.begin() if self.host.calls else None
        try:
            for step in self.plan["steps"]:
                self._step(step, bufs, shapes, slots, env, device)
        finally:
            if state is not None:
                self.host.end(state)
        return [bufs[o] for o in self.plan["outputs"]]

    def _step(self, step: dict, bufs: list, shapes: list, slots: dict, env: dict, device) -> None:
        kind = step["kind"]
        if kind == "check":
            if not compile_expr(step["cond"])[0](env):
                raise RuntimeError(step["msg"])
        elif kind == "view":
            bufs[step["dst"]] = bufs[step["src"]].reshape(shapes[step["dst"]])
        elif kind == "alias":
            src, dst = bufs[step["src"]], self.plan["buffers"][step["dst"]]
            root = src.storage_offset() - self.plan["buffers"][step["src"]].get("offset", 0)
            bufs[step["dst"]] = src.as_strided(shapes[step["dst"]], dst["strides"], root + dst["offset"])
        elif kind == "copy":
            bufs[step["dst"]].copy_(bufs[step["src"]])
        elif kind == "alloc":
            b = step["buffer"]
            bufs[b] = self._alloc(b, shapes[b], device, slots)
        else:
            outs = [self._alloc(o, shapes[o], device, slots) for o in step["outs"]]
            for o, t in zip(step["outs"], outs):
                bufs[o] = t
            args = [bufs[a] for a in step["args"]]
            if kind == "launch":
                self.launcher.launch(step, args, outs, env, device)
            elif kind == "host":
                self.host.run(self.host.calls[step["call"]], args, outs)
            else:
                raise RuntimeError(f"this fxc cannot run a '{kind}' step of a GPU plan (a newer artifact?)")
