"""The backend interface and the table of targets.

A :class:`Backend` says which targets it compiles for, its options (a frozen
dataclass whose fields go into the compile cache key and the artifact's
manifest), the stages it adds after the target-independent ones, and how it
turns the last stage's module into an :class:`~fxc.runtime.artifact.Artifact`.
Loading an artifact is the runtime's job (``fxc.runtime.load``), so a saved
program runs without the compiler.

Built-in backends are listed in :data:`BUILTIN`; third parties register more
through the ``fxc.backends`` entry-point group.  The compiler core never
imports a backend: it resolves them by name here.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping
from importlib import metadata
from typing import Dict, Tuple, Type

from fxc.errors import CompileError


class Backend:
    """The interface every backend implements."""

    #: Target names this backend accepts (``fxc.compile(..., target=...)``).
    targets: Tuple[str, ...] = ()

    @dataclasses.dataclass(frozen=True)
    class Options:
        pass

    def stages(self, options) -> tuple:
        """Stages run after the common ones, ending in the backend's last IR."""
        raise NotImplementedError

    def host_features(self, options) -> Tuple[str, ...]:
        """Host features the generated code needs (part of the cache key and
        the manifest; the runtime refuses an artifact on a host lacking one)."""
        return ()

    def build(self, module, signature, options):
        """The :class:`~fxc.runtime.artifact.Artifact` of a module in the
        backend's last stage."""
        raise NotImplementedError


#: target -> "module:Class" of the built-in backends.
BUILTIN: Dict[str, str] = {
    "cpu": "fxc.backends.cpu.backend:CpuBackend",
    "triton": "fxc.backends.triton.backend:TritonBackend",
    "nvvm": "fxc.backends.nvvm.backend:NvvmBackend",
}


def _resolve(spec: str) -> Type[Backend]:
    mod, _, cls = spec.partition(":")
    return getattr(importlib.import_module(mod), cls)


def targets() -> Dict[str, str]:
    table = dict(BUILTIN)
    for ep in metadata.entry_points(group="fxc.backends"):
        table.setdefault(ep.name, ep.value)
    return table


def get_backend(target: str) -> Backend:
    table = targets()
    if target not in table:
        raise CompileError(f"unknown target '{target}'; known targets: {', '.join(sorted(table))}")
    return _resolve(table[target])()


def options_dict(options) -> dict:
    """An Options instance as plain data (for the manifest and the cache key)."""
    return {f.name: getattr(options, f.name) for f in dataclasses.fields(options)}


def make_options(backend: Backend, options=None, *, also_known=()):
    """``backend``'s Options from None (its defaults), an Options instance,
    or a mapping of field names (an unknown name is a ``ValueError`` that
    lists the known ones, ``also_known`` included)."""
    if options is None:
        return backend.Options()
    if isinstance(options, backend.Options):
        return options
    if not isinstance(options, Mapping):
        raise TypeError(f"fxc: options must be a dict or {type(backend).__name__}.Options, got {type(options).__name__}")
    fields = {f.name for f in dataclasses.fields(backend.Options)}
    unknown = sorted(set(options) - fields)
    if unknown:
        known = ", ".join([*also_known, *sorted(fields)])
        raise ValueError(f"fxc: unknown option(s) {unknown}; known: {known}")
    return backend.Options(**options)
