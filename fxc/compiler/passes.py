"""The open pass registry and what every fxc pass shares.

Passes are Python classes with a ``name`` (what a pipeline writes) and a
``run(module_op)``; a module defining one registers it with
:func:`register`.  Target-independent passes live in ``fxc.transforms``,
each backend registers its own from ``fxc/backends/<name>/passes``, and
third-party plugins may register more.  The driver, ``fxc-opt`` and the
stage tables all read :data:`PASSES`.
"""

from __future__ import annotations

from typing import Dict, Optional, Type

from torch_mlir import ir

from fxc.errors import CompileError, location_of, naming_torch_op


class PassFailure(CompileError):
    """Raised by a pass; carries the location of the op that failed."""


class ModulePass:
    """A pass over a ``builtin.module``: subclasses set ``name`` and ``summary``.

    ``run`` may return ``False`` to say it left the module as it was; the
    driver then skips verifying it (as MLIR does for a pass that preserved
    all analyses).  Any other result means it may have changed it.
    """

    name = ""
    summary = ""

    def run(self, module_op: ir.Operation) -> Optional[bool]:  # pragma: no cover - abstract
        raise NotImplementedError

    def fail(self, op: ir.Operation, message: str) -> PassFailure:
        return PassFailure(naming_torch_op(message, op.location), location_of(op.location))


#: Every registered pass: pipeline name -> class.
PASSES: Dict[str, Type[ModulePass]] = {}


def register(cls: Type[ModulePass]) -> Type[ModulePass]:
    """Class decorator: makes ``cls`` runnable under ``cls.name`` in pipelines."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no pass name")
    if PASSES.get(cls.name, cls) is not cls:
        raise ValueError(f"pass '{cls.name}' is registered twice ({PASSES[cls.name].__name__}, {cls.__name__})")
    PASSES[cls.name] = cls
    return cls


def python_passes() -> dict:
    """``{name: callable(module_op, **options)}`` for the pass manager adapter
    (``name{vector-bits=256}`` passes ``vector_bits="256"``)."""
    return {name: (lambda op, cls=cls, **options: cls(**options).run(op)) for name, cls in PASSES.items()}


def public_funcs(module_op: ir.Operation):
    for op in module_op.regions[0].blocks[0].operations:
        if op.operation.name == "func.func" and "sym_visibility" not in op.attributes:
            yield op.operation


def funcs_with_body(module_op: ir.Operation):
    for op in module_op.regions[0].blocks[0].operations:
        if op.operation.name == "func.func" and len(op.regions[0].blocks) > 0:
            yield op.operation
