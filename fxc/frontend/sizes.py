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
from typing import List, Tuple

import torch
import torch.utils._pytree as pytree
from torch.export import ExportedProgram
from torch.utils._sympy.printers import PythonPrinter

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


def input_elements(graph: torch.fx.Graph) -> dict:
    """``{unbacked symbol: (input index, flat element)}`` for the values the
    program reads from its inputs (``x.item()``, ``x.tolist()``)."""
    placeholders = {n.name: i for i, n in enumerate(n for n in graph.nodes if n.op == "placeholder")}
    elements = {}
    for node in graph.nodes:
        if node.target is torch.ops.aten._local_scalar_dense.default:
            val, where = node.meta.get("val"), _element_of(node.args[0], placeholders)
            if isinstance(val, torch.SymInt) and val.node.expr.is_Symbol and where is not None:
                elements[str(val.node.expr)] = where
    return elements


def value_checks(graph: torch.fx.Graph, inputs: list, used_elsewhere=()) -> Tuple[List[tuple], List[tuple]]:
    """The program's checks on values read from its inputs (``torch._check(x.item()
    <= 10)``, ``_check_is_size``), run before its code: ``(checks, values)``
    for the signature (``values`` binds each such symbol, and those in
    ``used_elsewhere``, to its element of an input).  A check on anything
    else stays in the code only."""
    bound = {d for slot in inputs for d in ((slot.type.shape if slot.type else ()) or ())
             if isinstance(d, str) and d.isidentifier()}
    bound |= {slot.value for slot in inputs if slot.kind == "symint" and isinstance(slot.value, str)}
    elements = input_elements(graph)
    checks, used = [], {name: (name, *elements[name]) for name in used_elsewhere}
    for node in graph.nodes:
        if node.target is not torch.ops.aten._assert_scalar.default or not isinstance(node.args[0], torch.fx.Node):
            continue
        cond = node.args[0].meta.get("val")
        if not isinstance(cond, torch.SymBool):
            continue
        names = {str(s) for s in cond.node.expr.free_symbols}
        if not names or not all(n in bound or n in elements for n in names):
            continue
        expr = PythonPrinter().doprint(cond.node.expr)
        text = expr
        for name in sorted(names & elements.keys(), key=len, reverse=True):
            i, j = elements[name]
            used[name] = (name, i, j)
            text = re.sub(rf"\b{name}\b", f"{inputs[i].name}[{j}]" if inputs[i].type.shape else inputs[i].name, text)
        checks.append((expr, text))
    return checks, list(used.values())


def _element_of(node, placeholders: dict):
    """``(input index, flat element)`` when ``node`` is an input or
    ``input.select(0, j)`` of a 1-d input, else None."""
    if not isinstance(node, torch.fx.Node):
        return None
    if node.op == "placeholder" and node.name in placeholders:
        return placeholders[node.name], 0
    if node.target is torch.ops.aten.select.int and node.args[0].op == "placeholder" and node.args[1] == 0:
        base, j = node.args[0], node.args[2]
        size = base.meta["val"].shape
        if len(size) == 1 and isinstance(j, int) and isinstance(size[0], int) and -size[0] <= j < size[0]:
            return placeholders[base.name], j % size[0]
    return None
