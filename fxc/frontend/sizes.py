"""Sizes of a captured program: its symbols and the checks on them.

torch.export records a program's size symbols (``s0`` with a range, and
``Dim`` names the user gave) in the ExportedProgram's range constraints and
shape environment, and the checks the program makes on sizes
(``torch._check``, export's own guards) as guard code over the inputs.
These functions turn both into the signature's ``symbols`` and ``checks``
(``fxc.runtime.signature``), which the runtime binds and checks at each call.
"""

from __future__ import annotations

import inspect
import re
from typing import List

import torch
import torch.utils._pytree as pytree
from torch.export import ExportedProgram

from fxc.errors import CompileError
from fxc.runtime.signature import Signature

_SIZE_OF = re.compile(r"__in(\d+)\.size\(\)\[(\d+)\]")


def input_paths(model, ep: ExportedProgram, args, kwargs) -> list:
    """The pytree path of each flat user input, as export's guards name them
    (``L['x']``, ``L['args'][0]``...)."""
    if isinstance(model, ExportedProgram) or not isinstance(model, torch.nn.Module):
        args, kwargs = ep.example_inputs or ((), {})
        model = ep.module()
    bound = inspect.signature(model.forward).bind(*args, **(kwargs or {}))
    bound.apply_defaults()
    return [path for path, _ in pytree.tree_leaves_with_path(bound.arguments)]


def size_checks(guards_code: List[str], paths: list, signature: Signature) -> List[tuple]:
    """export's guards on input sizes as ``(expression over the signature's
    symbols, the guard as the user reads it)``.

    Guards on strides or storage offsets are dropped: compiled code always
    reads contiguous inputs.  Any other guard fxc cannot express raises.
    """
    checks = []
    for code in guards_code:
        expr, shown = code, code
        for i, path in enumerate(paths):
            expr = expr.replace("L" + pytree.keystr(path), f"__in{i}")
            shown = shown.replace("L" + pytree.keystr(path), path[0].key + pytree.keystr(path[1:]))
        if ".stride()" in expr or ".storage_offset()" in expr:
            continue

        def dim(m):
            slot = signature.inputs[int(m.group(1))]
            return f"({slot.type.shape[int(m.group(2))]})"

        expr = _SIZE_OF.sub(dim, expr)
        if "__in" in expr or "L[" in expr:
            raise CompileError(f"fxc cannot check torch.export's guard '{shown}' at run time")
        checks.append((expr, shown))
    return checks


def symbols_of(ep: ExportedProgram) -> dict:
    """``{symbol: (lo, hi, user name)}`` of an ExportedProgram's size symbols
    (``hi`` None: unbounded; the name of the ``Dim`` the user gave, if any)."""
    shape_env = None
    for node in ep.graph.nodes:
        for d in getattr(node.meta.get("val"), "shape", ()):
            if isinstance(d, torch.SymInt):
                shape_env = d.node.shape_env
                break
        if shape_env is not None:
            break
    debug = getattr(shape_env, "source_name_to_debug_name", {}) if shape_env is not None else {}
    symbols = {}
    for sym, vr in ep.range_constraints.items():
        if not sym.is_Symbol or str(sym).startswith("u"):
            continue  # a derived dim's range follows from its root's; unbacked ones have no input
        hi = int(vr.upper) if _finite(vr.upper) else None
        sources = shape_env.var_to_sources.get(sym, []) if shape_env is not None else []
        name = next((debug[_source_name(s)] for s in sources if _source_name(s) in debug), None)
        symbols[str(sym)] = (int(vr.lower) if _finite(vr.lower) else 0, hi, name)
    return symbols


def _finite(bound) -> bool:
    try:
        int(bound)
        return bool(getattr(bound, "is_finite", True))
    except (TypeError, ValueError, AttributeError, OverflowError):
        return False


def _source_name(source) -> str:
    name = source.name
    return name() if callable(name) else name
