"""A loaded program: an artifact's executable bound to live state.

:func:`load` reads an artifact and returns a :class:`LoadedProgram`, which is
called like the original model.  Weights that were not frozen into the code
are read from the bound module (or state dict) at every call, so the program
sees the module as it is when called: after an optimizer step,
``load_state_dict`` or an in-place change, as eager PyTorch does.

Each backend provides the executable of its artifacts (:data:`RUNTIMES`, or
the ``fxc.runtimes`` entry-point group): ``Executable(artifact, objects)``
is callable on the compiled function's flat tensor arguments (in
``signature.args`` order) and returns its results.  It checks its arguments
before running any compiled code, and owns no state shared between calls:
a loaded program may be called from many threads at once.
"""

from __future__ import annotations

import importlib
from importlib import metadata
from typing import Any, Dict, List, Optional, Sequence

import torch
import torch.utils._pytree as pytree

from fxc.runtime import host_cpu
from fxc.runtime.artifact import Artifact, ArtifactError
from fxc.runtime.shapes import ShapeGuards
from fxc.runtime.signature import Signature, TensorType

#: target -> "module:Class" of each built-in backend's executable.
RUNTIMES: Dict[str, str] = {
    "cpu": "fxc.backends.cpu.runtime:CpuExecutable",
    "triton": "fxc.backends.triton.runtime:TritonExecutable",
    "nvvm": "fxc.backends.nvvm.runtime:NvvmExecutable",
}


def _executable_class(target: str):
    table = dict(RUNTIMES)
    for ep in metadata.entry_points(group="fxc.runtimes"):
        table.setdefault(ep.name, ep.value)
    if target not in table:
        raise ArtifactError(f"no runtime for target '{target}'; known: {', '.join(sorted(table))}")
    mod, _, cls = table[target].partition(":")
    return getattr(importlib.import_module(mod), cls)


def check_host(manifest: dict) -> None:
    """Refuses an artifact whose code needs CPU features this host lacks."""
    needs = set(manifest.get("host", {}).get("features", []))
    missing = sorted(needs - host_cpu.features())
    if manifest.get("host", {}).get("arch") not in (None, host_cpu.arch()) or missing:
        raise ArtifactError(
            f"this artifact was compiled for a {manifest['host'].get('arch')} CPU with "
            f"{', '.join(missing) or 'another architecture'}, which this host lacks: recompile it here"
        )


def check_tensor(t, name: str, expected: TensorType) -> None:
    """Raises the TypeError/ValueError for a value that is not a tensor of
    ``expected`` type that compiled code can read; returns if it is one."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"input '{name}': expected a torch.Tensor, got {type(t).__name__}")
    kind = _unreadable(t)
    if kind:
        raise TypeError(f"input '{name}': {kind} has no data compiled code can read; pass a plain tensor")
    if t.dtype != expected.dtype:
        raise TypeError(f"input '{name}': expected dtype {expected.dtype}, got {t.dtype}")
    if t.device.type != expected.device:
        raise ValueError(f"input '{name}': expected a {expected.device} tensor, got device {t.device}")
    if len(t.shape) != len(expected.shape) or any(
        isinstance(d, int) and d != s for d, s in zip(expected.shape, t.shape)
    ):
        raise ValueError(f"input '{name}': expected shape [{', '.join(map(str, expected.shape))}], "
                         f"got [{', '.join(map(str, t.shape))}]")


def _unreadable(t: torch.Tensor) -> Optional[str]:
    """Why a tensor's memory cannot be handed to compiled code, or None."""
    from torch._subclasses.fake_tensor import FakeTensor
    from torch.utils._python_dispatch import is_traceable_wrapper_subclass

    if isinstance(t, FakeTensor):
        return "a FakeTensor"
    if is_traceable_wrapper_subclass(t) or t.is_nested:
        return f"a tensor subclass ({type(t).__name__})"
    if type(t).__torch_dispatch__ is not torch.Tensor.__torch_dispatch__:
        return f"a tensor subclass with its own dispatch ({type(t).__name__})"
    if t.device.type == "meta":
        return "a meta tensor"
    if t.layout != torch.strided:
        return f"a {t.layout} tensor"
    try:
        t.untyped_storage()
    except (RuntimeError, NotImplementedError):
        return f"a tensor without storage ({type(t).__name__})"
    return None


def readable(t: torch.Tensor) -> torch.Tensor:
    """A plain, contiguous tensor with the values of ``t`` (itself when it is
    one): conjugate and negative bits resolved, views made contiguous,
    plain subclasses viewed as ``torch.Tensor``."""
    if type(t) is not torch.Tensor and type(t) is not torch.nn.Parameter:
        t = t.as_subclass(torch.Tensor)
    if t.is_conj():
        t = t.resolve_conj()
    if t.is_neg():
        t = t.resolve_neg()
    if not t.is_contiguous():
        t = t.contiguous()
    return t


class _StateSource:
    """Where a program's parameters and buffers come from at each call."""

    def __init__(self, signature: Signature, state):
        self._getters = {}
        for s in signature.state:
            self._getters[s.fqn] = self._getter(state, s.fqn, s.role)

    @staticmethod
    def _getter(state, fqn: str, role: str):
        if isinstance(state, torch.nn.Module):
            prefix, _, leaf = fqn.rpartition(".")
            try:
                owner = state.get_submodule(prefix) if prefix else state
            except AttributeError:
                owner = None
            for table in (getattr(owner, "_parameters", {}), getattr(owner, "_buffers", {})):
                if leaf in table:
                    return lambda table=table, leaf=leaf: table[leaf]  # live: sees reassignment too
            raise ValueError(f"the module has no {role} '{fqn}', which the compiled program reads")
        if isinstance(state, dict):
            if fqn not in state:
                raise ValueError(f"the state dict has no '{fqn}', which the compiled program reads")
            return lambda t=state[fqn]: t
        raise TypeError(
            f"the compiled program reads the {role} '{fqn}': bind it to the module or a state dict "
            f"(fxc.load(path, module)), or compile with freeze=True"
        )

    def get(self, fqn: str) -> torch.Tensor:
        return self._getters[fqn]()


class LoadedProgram:
    """A compiled program, callable like the model it was compiled from.

    Attributes:
        signature: the program's ABI (:class:`~fxc.runtime.signature.Signature`).
        target: the target it was compiled for.
        artifact: the :class:`~fxc.runtime.artifact.Artifact` it runs.
    """

    def __init__(self, artifact: Artifact, state=None, objects: Optional[Dict[str, Any]] = None):
        check_host(artifact.manifest)
        self.artifact = artifact
        self.target = artifact.target
        self.signature = Signature.from_json(artifact.manifest["signature"])
        objects = dict(objects or {})
        for name in artifact.manifest.get("objects", []):
            if name not in objects and isinstance(state, torch.nn.Module):
                objects[name] = _attr_path(state, name)
        self._exe = _executable_class(self.target)(artifact, objects)
        self._state = _StateSource(self.signature, state)
        sig = self.signature
        # Integer outputs (sizes) are computed from the inputs' sizes.
        self._size_outputs = [(i, s.value) for i, s in enumerate(sig.outputs) if s.kind == "symint"]
        self._view_outputs = [(i, s.value) for i, s in enumerate(sig.outputs) if s.kind == "view"]
        if self._size_outputs or self._view_outputs:
            sized = [i for i, s in enumerate(sig.inputs) if s.kind in ("tensor", "symint")]
            self._size_inputs = sized
            self._sizes = ShapeGuards([(sig.inputs[i].name, tuple(sig.inputs[i].type.shape) if sig.inputs[i].type
                                        else sig.inputs[i].value) for i in sized], sig.symbols,
                                      values=[(sym, sized.index(i), j) for sym, i, j in sig.values])
        self._scalar_outputs = [i for i, s in enumerate(sig.outputs) if s.kind == "scalar"]
        self._plain = sig.is_plain
        n_out = len(sig.outputs)
        if sig.out_spec == _spec_of(0):
            self._pack = lambda outs: outs[0]
        elif sig.out_spec == _spec_of(tuple(range(n_out))):
            self._pack = tuple
        else:
            self._pack = lambda outs: pytree.tree_unflatten(outs, sig.out_spec)

    def save(self, path) -> None:
        """Writes the artifact (one file) to ``path``; ``fxc.load`` reads it."""
        self.artifact.save(path)

    def __call__(self, *args, **kwargs):
        """Runs the compiled program; inputs are checked before any compiled code runs.

        Raises:
            TypeError / ValueError: an input has the wrong count, structure,
                dtype, shape or device, or is a tensor compiled code cannot
                read (a FakeTensor, a meta or wrapper-subclass tensor); the
                message names the input.
        """
        if self._plain and not kwargs:  # the executable checks the count
            return self._pack(self._exe(*args))
        flat, spec = pytree.tree_flatten((tuple(args), dict(kwargs)))
        if len(flat) != len(self.signature.inputs) and not kwargs and len(args) != len(self.signature.inputs):
            raise TypeError(f"expected {len(self.signature.inputs)} inputs, got {len(args)}")
        if spec != self.signature.in_spec:
            raise TypeError(
                f"inputs do not match the structure the program was compiled for: "
                f"expected {self.signature.in_spec}, got {spec}"
            )
        return self._pack(self.call_flat(flat))

    def call_flat(self, flat: Sequence) -> list:
        """Runs the compiled program on flat inputs; returns flat outputs.

        Inputs, parameters and buffers the program mutates are updated in
        place after the call, as eager PyTorch leaves them (not if it raised).
        """
        sig = self.signature
        if len(flat) != len(sig.inputs):
            raise TypeError(f"expected {len(sig.inputs)} inputs, got {len(flat)}")
        for i, (value, slot) in enumerate(zip(flat, sig.inputs)):
            if slot.kind == "constant" and value != slot.value:
                raise ValueError(f"input {i}: the program was compiled for the constant {slot.value!r}, got {value!r}")
        args = [flat[ref] if kind == "input" else self._state.get(ref) for kind, ref in sig.args]
        results = self._exe(*args)
        outs: List[Any] = [torch.empty(0) if s.kind == "token" else s.value for s in sig.outputs]
        env = None
        if self._size_outputs or self._view_outputs:
            env = self._sizes.bind([flat[i] for i in self._size_inputs])
            for i, expr in self._size_outputs:
                outs[i] = ShapeGuards.shape((expr,), env)[0]
        with torch.no_grad():
            for r, value in zip(sig.results, results):
                for kind, ref in r.dests:
                    if kind == "output":
                        outs[ref] = value
                    elif kind == "input":
                        flat[ref].copy_(value)  # a user input the program mutates
                    else:
                        self._state.get(ref).copy_(value)  # a parameter or buffer it mutates
        for i in self._scalar_outputs:
            outs[i] = outs[i].item()
        for i, (ref, strides, offset) in self._view_outputs:
            # The program returns the values; the caller gets the view itself
            # (aot_autograd rebuilds such an output from the input with the
            # returned tensor's strides and storage offset).
            strides, (offset,) = ShapeGuards.shape(tuple(strides), env), ShapeGuards.shape((offset,), env)
            outs[i] = flat[ref].as_strided(outs[i].shape, strides, offset)
        return outs


def _spec_of(tree):
    return pytree.tree_flatten(tree)[1]


def _attr_path(obj, dotted: str):
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def load(path, state=None, *, objects: Optional[Dict[str, Any]] = None) -> LoadedProgram:
    """Loads an artifact written by ``CompiledModule.save`` / ``fxc compile -o``.

    Runs nothing of the compiler: the artifact's code is loaded as it is.

    Args:
        path: the artifact file.
        state: where the program's parameters and buffers come from at each
            call, unless they were frozen into it: the ``nn.Module`` (read
            live at every call) or a state dict.
        objects: script objects (torchbind) the program's effects take, by
            name (default: looked up on ``state`` when it is a module).

    Returns:
        A :class:`LoadedProgram`.

    Raises:
        ArtifactError: the file is not an artifact this fxc reads, or its code
            needs CPU features this host lacks.
    """
    return LoadedProgram(Artifact.read(path), state, objects)
