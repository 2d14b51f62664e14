"""The signature of a compiled program: its ABI, as data.

A signature says what a caller passes and gets back, and how that maps onto
the compiled function's tensor arguments and results.  It refers to nothing
live: module state is named by its fully qualified name, and a loaded
program is bound to a module or a state dict when it is called (see
``fxc.runtime.program``).  It is written into every artifact's manifest.

* ``inputs``: one :class:`Slot` per flat user input (the pytree leaves of
  ``(args, kwargs)``): a ``tensor`` of a :class:`TensorType`, an effect
  ``token`` (the caller passes anything), or a ``constant`` the program was
  specialised to (the caller must pass that value).
* ``state``: the parameters and buffers the compiled function reads at each
  call (empty when they were frozen into the code).
* ``args``: the compiled function's tensor arguments in order, each
  ``("input", i)`` or ``("state", fqn)``.
* ``results``: the compiled function's tensor results in order; each goes to
  one or more places: ``("output", i)``, or a mutation written back after
  the call: ``("input", i)`` (a user input) or ``("state", fqn)``.
* ``outputs``: one :class:`Slot` per flat user output: a ``tensor`` (some
  result's destination), a ``token`` (an empty tensor, as PyTorch returns)
  or a ``constant``.

A dimension of a :class:`TensorType` is an ``int`` or a Python expression
over size symbols (``"s0"``, ``"2*s0"``); ``symbols`` maps each symbol to
``(lo, hi, name)``: its inclusive range (``hi`` None for unbounded) and the
user's name for it (a ``torch.export.Dim``'s), if any.  Static programs have
none.  ``fxc.runtime.shapes`` binds and checks them at each call.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional, Tuple, Union

import torch
import torch.utils._pytree as pytree

from fxc.runtime.torch_ops import dtype_name, dtype_of

Dim = Union[int, str]


@dataclasses.dataclass(frozen=True)
class TensorType:
    """The type of a tensor position: dtype, shape (ints or symbols), device."""

    dtype: torch.dtype
    shape: Tuple[Dim, ...]
    device: str = "cpu"

    @staticmethod
    def of(value) -> "TensorType":
        return TensorType(value.dtype, tuple(dim_of(d) for d in value.shape), value.device.type)

    @property
    def is_static(self) -> bool:
        return all(isinstance(d, int) for d in self.shape)

    def __str__(self) -> str:
        return f"{dtype_name(self.dtype)}[{', '.join(map(str, self.shape))}]"

    def to_json(self) -> dict:
        return {"dtype": dtype_name(self.dtype), "shape": list(self.shape), "device": self.device}

    @staticmethod
    def from_json(d: dict) -> "TensorType":
        return TensorType(dtype_of(d["dtype"]), tuple(d["shape"]), d.get("device", "cpu"))


def dim_of(d) -> Dim:
    """An ``int``, or a ``SymInt``'s expression as Python source (``"2*s0"``)."""
    if isinstance(d, torch.SymInt):
        from torch.utils._sympy.printers import PythonPrinter

        expr = d.node.expr
        return int(expr) if expr.is_number else PythonPrinter().doprint(expr)
    return int(d)


@dataclasses.dataclass(frozen=True)
class Slot:
    """One flat user input or output: a ``tensor``, an effect ``token``, a
    ``constant``, a ``symint`` (an integer size; ``value`` is its
    expression over the size symbols), or a ``scalar`` output (a Python
    ``int``/``float``/``bool`` the program computes, e.g. ``.item()``: the
    program returns it as a 0-d tensor of ``type``, the caller gets
    ``.item()`` of it), or a ``view`` output: a view of an input in the
    program, which the caller gets as that view (``value`` is ``(input
    index, strides, storage offset)``, expressions over the size symbols;
    the program returns its values, which give the view's sizes)."""

    kind: str  # "tensor" | "token" | "constant" | "symint" | "scalar" | "view"
    name: str = ""
    type: Optional[TensorType] = None
    value: Any = None

    def to_json(self) -> dict:
        d: Dict[str, Any] = {"kind": self.kind, "name": self.name}
        if self.type is not None:
            d["type"] = self.type.to_json()
        if self.kind in ("constant", "symint", "view"):
            d["value"] = _constant_json(self.value)
        return d

    @staticmethod
    def from_json(d: dict) -> "Slot":
        t = TensorType.from_json(d["type"]) if "type" in d else None
        value = _constant_value(d["value"]) if d["kind"] in ("constant", "symint", "view") else None
        return Slot(d["kind"], d.get("name", ""), t, value)


@dataclasses.dataclass(frozen=True)
class State:
    """A parameter or buffer the compiled function takes at each call."""

    fqn: str
    role: str  # "parameter" | "buffer"
    type: TensorType

    def to_json(self) -> dict:
        return {"fqn": self.fqn, "role": self.role, "type": self.type.to_json()}

    @staticmethod
    def from_json(d: dict) -> "State":
        return State(d["fqn"], d["role"], TensorType.from_json(d["type"]))


@dataclasses.dataclass(frozen=True)
class Result:
    """A result of the compiled function and where it goes."""

    name: str
    type: TensorType
    dests: Tuple[Tuple[str, Any], ...]  # ("output", i) | ("input", i) | ("state", fqn)

    def to_json(self) -> dict:
        return {"name": self.name, "type": self.type.to_json(), "dests": [list(d) for d in self.dests]}

    @staticmethod
    def from_json(d: dict) -> "Result":
        return Result(d["name"], TensorType.from_json(d["type"]), tuple(tuple(x) for x in d["dests"]))


@dataclasses.dataclass
class Signature:
    """See the module docstring."""

    inputs: List[Slot]
    outputs: List[Slot]
    args: List[Tuple[str, Any]]
    results: List[Result]
    state: List[State] = dataclasses.field(default_factory=list)
    in_spec: Any = None
    out_spec: Any = None
    symbols: Dict[str, Tuple[int, Optional[int], Optional[str]]] = dataclasses.field(default_factory=dict)
    entry: str = "main"
    #: Size checks of the program: ``(expression over symbols, as the user reads it)``.
    checks: List[Tuple[str, str]] = dataclasses.field(default_factory=list)
    #: Symbols that are elements of inputs (``x.item()``, ``x.tolist()``):
    #: ``(symbol, input index, element index in the flattened input)``; bound
    #: at each call before the checks, so that the program's checks on them
    #: run before any code.
    values: List[Tuple[str, int, int]] = dataclasses.field(default_factory=list)

    def arg_types(self) -> List[Optional[TensorType]]:
        """The TensorType of each argument of the compiled function (None for
        an integer argument)."""
        states = {s.fqn: s.type for s in self.state}
        return [self.inputs[ref].type if kind == "input" else states[ref] for kind, ref in self.args]

    def result_types(self) -> List[TensorType]:
        return [r.type for r in self.results]

    @property
    def is_plain(self) -> bool:
        """Every input is a tensor argument in order, every result one output:
        the call needs no pytree, state or write-back work."""
        return (
            not self.state
            and all(s.kind == "tensor" for s in self.inputs)
            and self.args == [("input", i) for i in range(len(self.inputs))]
            and all(s.kind == "tensor" for s in self.outputs)
            and [r.dests for r in self.results] == [(("output", i),) for i in range(len(self.outputs))]
        )

    def to_json(self) -> dict:
        return {
            "entry": self.entry,
            "inputs": [s.to_json() for s in self.inputs],
            "outputs": [s.to_json() for s in self.outputs],
            "state": [s.to_json() for s in self.state],
            "args": [list(a) for a in self.args],
            "results": [r.to_json() for r in self.results],
            "in_spec": pytree.treespec_dumps(self.in_spec) if self.in_spec is not None else None,
            "out_spec": pytree.treespec_dumps(self.out_spec) if self.out_spec is not None else None,
            "symbols": {k: list(v) for k, v in self.symbols.items()},
            "checks": [list(c) for c in self.checks],
            "values": [list(v) for v in self.values],
        }

    @staticmethod
    def from_json(d: dict) -> "Signature":
        return Signature(
            inputs=[Slot.from_json(s) for s in d["inputs"]],
            outputs=[Slot.from_json(s) for s in d["outputs"]],
            args=[tuple(a) for a in d["args"]],
            results=[Result.from_json(r) for r in d["results"]],
            state=[State.from_json(s) for s in d["state"]],
            in_spec=pytree.treespec_loads(d["in_spec"]) if d.get("in_spec") else None,
            out_spec=pytree.treespec_loads(d["out_spec"]) if d.get("out_spec") else None,
            symbols={k: tuple(v) for k, v in d.get("symbols", {}).items()},
            entry=d.get("entry", "main"),
            checks=[tuple(c) for c in d.get("checks", [])],
            values=[tuple(v) for v in d.get("values", [])],
        )


def _constant_json(value):
    """A constant input/output as JSON: numbers, strings, bools, None, lists,
    and torch dtypes/devices/memory formats by name."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return {"list" if isinstance(value, list) else "tuple": [_constant_json(v) for v in value]}
    if isinstance(value, torch.dtype):
        return {"dtype": dtype_name(value)}
    if isinstance(value, torch.device):
        return {"device": str(value)}
    raise TypeError(f"the constant {value!r} ({type(value).__name__}) cannot be written into a signature")


def _constant_value(d):
    if not isinstance(d, dict):
        return d
    if "list" in d:
        return [_constant_value(v) for v in d["list"]]
    if "tuple" in d:
        return tuple(_constant_value(v) for v in d["tuple"])
    if "dtype" in d:
        return dtype_of(d["dtype"])
    if "device" in d:
        return torch.device(d["device"])
    raise ValueError(f"bad constant in a signature: {d}")
