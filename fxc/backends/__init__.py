"""Backends are plugins.

A :class:`Backend` says which targets it compiles for, its options (a frozen
dataclass whose hash goes into the cache key), the stages it adds after the
target-independent ones, and how it loads the last stage's module into
something callable.  Built-in backends are listed in ``BUILTIN``; third
parties register more through the ``fxc.backends`` entry-point group.
"""

from __future__ import annotations

import dataclasses
import importlib
from importlib import metadata
from typing import Any, Dict, Tuple, Type

from fxc.errors import CompileError


class Backend:
    """The interface every backend implements."""

    #: Target names this backend accepts (``fxc.compile(..., target=...)``).
    targets: Tuple[str, ...] = ()

    @dataclasses.dataclass(frozen=True)
    class Options:
        pass

    def stages(self, options) -> tuple:
        """Stages run after the common ones, ending in the loadable IR."""
        raise NotImplementedError

    def load(self, module, program, options) -> Any:
        """A callable running the compiled entry function on torch tensors."""
        raise NotImplementedError


#: target -> "module:Class" of the built-in backends.
BUILTIN: Dict[str, str] = {
    "cpu": "fxc.backends.cpu:CpuBackend",
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
