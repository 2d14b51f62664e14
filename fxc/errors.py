"""One error type for compile failures, carrying the user's source location."""

from __future__ import annotations

import re
from typing import Iterable, Optional

_FILE_LINE = re.compile(r'"([^"]+)":(\d+):(\d+)')


def location_of(loc) -> Optional[str]:
    """``file:line`` of the innermost frame of an MLIR location, if it has one.

    fxc gives imported ops ``callsite(innermost at outer...)`` locations (from
    the FX node's stack trace), so the first file location in the printed form
    is the user's line.
    """
    if loc is None:
        return None
    m = _FILE_LINE.search(str(loc))
    return f"{m.group(1)}:{m.group(2)}" if m else None


_TORCH_OP = re.compile(r'loc\("((?:aten|prims|higher_order|[A-Za-z_][A-Za-z0-9_]*)\.[A-Za-z0-9_.]+)"\(')


def torch_op_of(loc) -> Optional[str]:
    """The PyTorch op (``aten.cumsum.default``) an MLIR location names: the
    importer wraps each op's location in a name location for it."""
    if loc is None:
        return None
    m = _TORCH_OP.search(str(loc))
    return m.group(1) if m else None


def naming_torch_op(message: str, loc) -> str:
    """``message``, saying which PyTorch op failed if it does not already."""
    op = torch_op_of(loc)
    if op is None or op.rsplit(".", 1)[0] in message:
        return message
    return f"{message} (while compiling PyTorch op '{op}')"


class CompileError(Exception):
    """fxc could not compile a program.

    Attributes:
        message: what went wrong, in the user's terms.
        location: ``file:line`` of the user's source line, or None.
        notes: extra lines (e.g. how to reproduce the failure with fxc-opt).
    """

    def __init__(self, message: str, location: Optional[str] = None, notes: Iterable[str] = ()):
        self.message = message
        self.location = location
        self.notes = list(notes)
        super().__init__(str(self))

    def in_file(self, filename: str) -> "CompileError":
        """Names ``filename`` where MLIR's parser said ``-`` (a string buffer)."""
        fix = lambda t: f"{filename}:{t[2:]}" if t and t.startswith("-:") else t
        return CompileError(self.message, fix(self.location), [fix(n) for n in self.notes])

    def __str__(self) -> str:
        head = f"{self.location}: error: {self.message}" if self.location else f"error: {self.message}"
        return "\n".join([head, *self.notes])


_ILLEGAL_OP = re.compile(
    r"failed to legalize operation '(?P<op>[^']+)'(?: that was explicitly marked illegal)?(?::.*?name = \"(?P<name>[^\"]+)\")?"
)


def _plain(message: str) -> str:
    """Rewords torch-mlir's legalization failures in terms of the PyTorch op."""
    m = _ILLEGAL_OP.match(message)
    if not m:
        return message
    op = m.group("name") or m.group("op")
    if op.startswith("torch."):
        op = op[len("torch."):]
    return f"fxc cannot compile '{op}': there is no lowering for this op (failed to legalize '{m.group('op')}')"


def from_mlir_error(err, *, notes: Iterable[str] = ()) -> CompileError:
    """Turns an ``MLIRError`` into a CompileError at its first diagnostic."""
    diags = list(getattr(err, "error_diagnostics", []) or [])
    if not diags:
        return CompileError(str(err), notes=notes)
    first = diags[0]
    extra = []
    if "(while compiling PyTorch op" not in first.message:
        first_message = naming_torch_op(_plain(first.message), first.location)
    else:
        first_message = _plain(first.message)
    for d in diags[1:]:
        loc = location_of(d.location)
        msg = _plain(d.message)
        extra.append(f"{loc}: error: {msg}" if loc else f"error: {msg}")
    for n in getattr(first, "notes", []) or []:
        loc = location_of(n.location)
        msg = n.message.splitlines()[0] if n.message else ""
        if msg.startswith("see current operation"):
            continue
        extra.append(f"{loc}: note: {msg}" if loc else f"note: {msg}")
    return CompileError(first_message, location_of(first.location), [*extra, *notes])
