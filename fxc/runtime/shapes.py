"""Symbolic sizes at call time: bind, guard, compute result shapes.

A dimension of a signature's :class:`~fxc.runtime.signature.TensorType` is an
``int`` or a Python expression over size symbols (``"s0"``, ``"2*s0"``,
``"s0 + s1"``, ``"(s0 // 2)"``; printed by torch's ``PythonPrinter``).  A
symbol may also arrive as an integer argument (Dynamo's ``SymInt`` graph
inputs).  Before any compiled code runs, :meth:`ShapeGuards.bind`

1. binds each symbol from the first argument dimension that is exactly it,
2. checks every other symbolic dimension (derived dims such as ``2*s0``, a
   symbol used twice) against its value, and every symbol against its range,

and raises a ``ValueError`` naming the input, the dimension, the symbol
(with the user's ``Dim`` name when known) and the violated constraint.
:meth:`ShapeGuards.shape` evaluates a result's shape in the bound symbols.

Checks the program itself makes on sizes (``torch._check(x.size(0) % 2 == 0)``,
export's guards) are kept as boolean expressions over the symbols; a call
that fails one raises ``RuntimeError`` naming it, before any code runs.  So
are checks on values read from inputs (``torch._check(x.item() <= 10)``):
such a symbol is bound to its element of the input first.

Expressions are parsed once, and only arithmetic and comparisons on names
and integers are accepted (``+ - * // %``, unary minus, ``== != < <= > >=``,
``and``/``or``/``not``, ``max``/``min``/``abs``, and ``pow2``, the least power
of two at least its argument, for launch block sizes), so an artifact's manifest
cannot smuggle code into ``eval``.
"""

from __future__ import annotations

import ast
import functools
from typing import Callable, Dict, List, Optional, Sequence, Tuple

_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod)
_LOGIC = (ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.BoolOp, ast.And, ast.Or, ast.Not)
_FUNCS = {"max": max, "min": min, "abs": abs, "pow2": lambda n: 1 << max(0, (int(n) - 1).bit_length())}


@functools.lru_cache(maxsize=None)
def compile_expr(expr: str) -> Tuple[Callable[[dict], int], Tuple[str, ...]]:
    """``(fn(env) -> int, symbols)`` for a size expression; raises ValueError."""
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        raise ValueError(f"bad size expression {expr!r}") from None
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id not in _FUNCS:
                names.append(node.id)
        elif isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in _FUNCS) or node.keywords:
                raise ValueError(f"bad size expression {expr!r}")
        elif isinstance(node, ast.BinOp):
            if not isinstance(node.op, _BINOPS):
                raise ValueError(f"bad size expression {expr!r}")
        elif isinstance(node, ast.Constant):
            if type(node.value) is not int:
                raise ValueError(f"bad size expression {expr!r}")
        elif not isinstance(node, (ast.Expression, ast.UnaryOp, ast.USub, ast.Load, *_BINOPS, *_LOGIC)):
            raise ValueError(f"bad size expression {expr!r}")
    code = compile(tree, f"<size {expr}>", "eval")
    return (lambda env: eval(code, {"__builtins__": {}, **_FUNCS}, env)), tuple(dict.fromkeys(names))


def is_symbol(dim) -> bool:
    return isinstance(dim, str) and dim.isidentifier()


class ShapeGuards:
    """The symbol bindings and checks of one program's arguments.

    Args:
        args: per argument ``(name, shape)``: ``shape`` a tuple of dims for a
            tensor, or a single dim (``int``/expression) for an integer argument.
        symbols: ``{symbol: (lo, hi, user_name)}`` (``hi`` None: unbounded).
    """

    def __init__(self, args: Sequence[Tuple[str, object]], symbols: Dict[str, tuple],
                 checks: Sequence[Tuple[str, str]] = (), values: Sequence[Tuple[str, int, int]] = ()):
        self.symbols = symbols
        self._values = list(values)  # (symbol, argument, flat element index)
        self._program_checks = [(compile_expr(expr)[0], text) for expr, text in checks]
        self._binds: List[Tuple[int, Optional[int], str]] = []  # (arg, dim or None, symbol)
        self._checks: List[Tuple[int, Optional[int], str]] = []
        bound = set()
        for i, (_, shape) in enumerate(args):
            dims = list(enumerate(shape)) if isinstance(shape, tuple) else [(None, shape)]
            for d, dim in dims:
                if is_symbol(dim) and dim not in bound:
                    bound.add(dim)
                    self._binds.append((i, d, dim))
                elif isinstance(dim, str):
                    self._checks.append((i, d, dim))
        self._names = [n for n, _ in args]
        for i, d, expr in self._checks:
            missing = [s for s in compile_expr(expr)[1] if s not in bound]
            if missing:
                raise ValueError(f"input '{self._names[i]}': size {expr} uses {', '.join(missing)}, "
                                 f"which no input binds (a data-dependent size?)")
        self._ranges = [(s, lo, hi) for s, (lo, hi, *_) in symbols.items() if s in bound]

    def bind(self, values: Sequence) -> Dict[str, int]:
        """The symbols' values for one call's arguments (tensors, or ints for
        integer arguments); raises ValueError for a violated constraint."""
        env = {}
        for i, d, sym in self._binds:
            env[sym] = _size(values[i], d)
        for sym, lo, hi in self._ranges:
            v = env[sym]
            if v < lo or (hi is not None and v > hi):
                i, d = next((i, d) for i, d, s in self._binds if s == sym)
                raise ValueError(f"input '{self._names[i]}': {_where(d)}is {v}, outside the range "
                                 f"[{lo}, {'inf' if hi is None else hi}] of {self._describe(sym)}")
        for i, d, expr in self._checks:
            want = compile_expr(expr)[0](env)
            got = _size(values[i], d)
            if got != want:
                syms = ", ".join(f"{self._describe(s)} = {env[s]}" for s in compile_expr(expr)[1])
                raise ValueError(f"input '{self._names[i]}': {_where(d)}is {got}, but the program was compiled "
                                 f"for {expr} = {want} (where {syms})")
        for sym, i, j in self._values:
            env[sym] = values[i].reshape(-1)[j].item()
        for check, text in self._program_checks:
            if not check(env):
                raise RuntimeError(f"Runtime check failed: {text} (a check of the program: torch._check "
                                   f"or a guard torch.export recorded)")
        return env

    def _describe(self, sym: str) -> str:
        user = self.symbols.get(sym, (None, None, None))[2:]
        return f"symbol {sym} ({user[0]})" if user and user[0] else f"symbol {sym}"

    @staticmethod
    def shape(dims: Sequence, env: Dict[str, int]) -> tuple:
        return tuple(d if isinstance(d, int) else compile_expr(d)[0](env) for d in dims)


def _size(value, d: Optional[int]) -> int:
    return int(value) if d is None else value.shape[d]


def _where(d: Optional[int]) -> str:
    return "" if d is None else f"dimension {d} "
