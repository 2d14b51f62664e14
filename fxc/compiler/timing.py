"""Where compile time goes: nested, named phases of one compilation.

A :class:`Timing` collects a tree of phases (capture, import, each stage and
each pass within it, LLVM code generation, linking); code anywhere below the
API marks its phases with :func:`phase`, which costs nothing when no timing
is being collected.  Collect one with::

    with fxc.timing() as t:          # or FXC_TIMING=1, or `fxc compile --timing`
        fxc.compile(model, args)
    print(t.report())

While a timing is collected the driver runs a stage's passes one pass
manager each, so that every pass is timed on its own.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import sys
import time
from typing import Iterator, List, Optional

from fxc import config


@dataclasses.dataclass
class Phase:
    """One timed phase: its wall-clock seconds and its sub-phases, in order."""

    name: str
    seconds: float = 0.0
    children: List["Phase"] = dataclasses.field(default_factory=list)

    def child(self, name: str) -> Optional["Phase"]:
        return next((c for c in self.children if c.name == name), None)

    def unaccounted(self) -> float:
        """Seconds of this phase that none of its sub-phases took."""
        return self.seconds - sum(c.seconds for c in self.children)


class Timing:
    """The phases of the compilations run while it is collected (:func:`collect`)."""

    def __init__(self):
        self.root = Phase("total")
        self.notes: List[str] = []
        self._stack = [self.root]

    def report(self) -> str:
        """The tree of phases, with seconds and shares of the total."""
        total = self.root.seconds or 1e-12
        lines = [f"fxc compile time: {self.root.seconds:.3f} s"]

        def emit(p: Phase, depth: int) -> None:
            pad = "  " * depth
            lines.append(f"{pad}{p.name:<{max(8, 64 - len(pad))}} {p.seconds:9.4f} s {100 * p.seconds / total:6.1f} %")
            for c in p.children:
                emit(c, depth + 1)
            if p.children and p.unaccounted() > 0.0005:
                lines.append(f"{pad}  {'(rest of ' + p.name + ')':<{max(8, 62 - len(pad))}} "
                             f"{p.unaccounted():9.4f} s {100 * p.unaccounted() / total:6.1f} %")

        for c in self.root.children:
            emit(c, 1)
        if self.root.children:
            rest = self.root.unaccounted()
            lines.append(f"  {'(outside the phases above)':<62} {rest:9.4f} s {100 * rest / total:6.1f} %")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


_current: contextvars.ContextVar[Optional[Timing]] = contextvars.ContextVar("fxc_timing", default=None)


def active() -> bool:
    """Whether a timing is being collected in this context."""
    return _current.get() is not None


@contextlib.contextmanager
def collect() -> Iterator[Timing]:
    """Collects the phases of what runs inside; nested in another, adds to it."""
    outer = _current.get()
    if outer is not None:
        yield outer
        return
    t = Timing()
    token = _current.set(t)
    start = time.perf_counter()
    try:
        yield t
    finally:
        t.root.seconds = time.perf_counter() - start
        _current.reset(token)


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    """Times what runs inside as a sub-phase of the current one (no-op when
    no timing is collected)."""
    t = _current.get()
    if t is None:
        yield
        return
    p = Phase(name)
    t._stack[-1].children.append(p)
    t._stack.append(p)
    start = time.perf_counter()
    try:
        yield
    finally:
        p.seconds = time.perf_counter() - start
        t._stack.pop()


def note(text: str) -> None:
    """Adds a line to the current timing's report (no-op when none)."""
    t = _current.get()
    if t is not None:
        t.notes.append(text)


@contextlib.contextmanager
def compilation(name: str = "compile") -> Iterator[None]:
    """Wraps one compilation: a phase of the timing being collected, or,
    with ``FXC_TIMING=1``, a timing of its own printed to stderr."""
    if active():
        with phase(name):
            yield
        return
    if not config.timing():
        yield
        return
    with collect() as t:
        yield
    print(t.report(), file=sys.stderr)
