"""The host runtime: PyTorch ops that compiled code calls back into.

fxc-lower-effects (effects) and the importer (functionalized mutating ops)
turn each op fxc does not compile into a call to a declaration such as
``@fxc_host_0`` that names the PyTorch op and says how to build its
arguments (the contract is documented in ``fxc/dialects/host_calls.py``).
A backend writes those declarations into the artifact's manifest as plain
data (:func:`spec` documents the fields); this module runs them.

Whether an op can be called at all (it is registered in this process and has
a kernel for CPU; the script objects it names exist) is checked when the
program is loaded, so a bad op fails before any call.

A host call gets copies of its tensor operands (Python code never sees,
keeps or writes compiled buffers), checks that each result has the shape and
dtype compiled code expects, and the backend copies it into its result
buffer.

**Per-call state.**  Which call of a program a host call belongs to is kept
in a :class:`CallState` on a thread-local stack (a backend's callbacks run on
the thread that made the call), so calls from many threads, or a host call
that calls the same program again, each see their own effects and errors.
If a host call raises, the exception is kept in its call's state, the
remaining host calls of that call do nothing but zero their result buffers
(so compiled code reads defined values), and :meth:`HostRuntime.end`
re-raises it in the caller with a note naming the op.
"""

from __future__ import annotations

import threading
from typing import Dict, List, Optional

import torch

from fxc.errors import CompileError
from fxc.runtime.torch_ops import dtype_of, resolve_overload


def spec(symbol: str, op: str, args: list, *, dtypes: List[str], num_inputs: int, ranks: List[int],
         bases: Optional[List[int]] = None, location: Optional[str] = None) -> dict:
    """One host call as manifest data.

    Args:
        symbol: the declaration's name in compiled code (``fxc_host_0``).
        op: the PyTorch overload, ``"mylib.record.default"``.
        args: one entry per schema argument: ``{"tensor": i}``,
            ``{"value": v}``, ``{"object": name}``, ``{"base": k, ...}``
            (optionally ``size``/``stride``/``offset`` or ``slice``), or a
            list of ``base`` entries.
        dtypes: torch dtype names of the tensor operands, then the results.
        num_inputs: how many of ``dtypes`` are operands.
        ranks: the rank of each operand, then of each result.
        bases: the operands the op mutates (see host_calls.py).
        location: ``file:line`` of the op in the user's program.
    """
    return {"symbol": symbol, "op": op, "args": args, "dtypes": dtypes, "num_inputs": num_inputs,
            "ranks": ranks, "bases": list(bases or []), "location": location}


def _has_cpu_kernel(op) -> bool:
    name = op._schema.name + ("" if op._overloadname == "default" else f".{op._overloadname}")
    return torch._C._dispatch_has_computed_kernel_for_dispatch_key(name, "CPU")


class _Arg:
    """How to build one argument of the op from the call's (copied) operands."""

    def __init__(self, entry, objects: Dict[str, object], call: "HostCall"):
        self.items: Optional[List["_Arg"]] = None
        if isinstance(entry, list):
            self.items = [_Arg(e, objects, call) for e in entry]
            return
        if not isinstance(entry, dict) or not entry:
            raise CompileError(f"host call {call.symbol}: bad argument entry {entry!r}", call.location)
        self.kind = next(iter(entry))
        if self.kind == "value":
            self.value = entry["value"]
        elif self.kind == "object":
            name = entry["object"]
            if name not in objects:
                raise CompileError(f"{call.op_name} takes the script object '{name}', which the program does not hold",
                                   call.location)
            self.value = objects[name]
        elif self.kind == "scalar":
            self.index = entry["scalar"]
        elif self.kind in ("tensor", "base"):
            self.index = entry[self.kind]
            self.size, self.stride = entry.get("size"), entry.get("stride")
            self.offset, self.slice = entry.get("offset", 0), entry.get("slice")
        else:
            raise CompileError(f"host call {call.symbol}: unknown argument entry {entry!r}", call.location)

    def build(self, tensors: list, bases: list):
        if self.items is not None:
            return [a.build(tensors, bases) for a in self.items]
        if self.kind in ("value", "object"):
            return self.value
        if self.kind == "tensor":
            return tensors[self.index]
        if self.kind == "scalar":
            return tensors[self.index].item()
        base = bases[self.index]
        if self.size is not None:
            return torch.as_strided(base, self.size, self.stride, self.offset)
        if self.slice is not None:
            return torch.ops.aten.slice.Tensor(base, *self.slice)
        return base


class HostCall:
    """One host call: a PyTorch op and how to call it."""

    def __init__(self, data: dict, objects: Dict[str, object]):
        self.symbol = data["symbol"]
        self.op_name = data["op"]
        self.location = data.get("location")
        self.op = resolve_overload(self.op_name)
        if self.op is None:
            raise CompileError(f"fxc's host runtime cannot call '{self.op_name}': no such PyTorch operator "
                               f"is registered in this process", self.location)
        if not _has_cpu_kernel(self.op):
            raise CompileError(f"fxc's host runtime cannot call '{self.op_name}': it has no CPU kernel "
                               f"(only a fake/meta implementation?)", self.location)
        self.args = [_Arg(a, objects, self) for a in data["args"]]
        params = self.op._schema.arguments
        if len(params) != len(self.args):
            raise CompileError(f"host call {self.symbol}: {self.op_name} takes {len(params)} arguments, "
                               f"the manifest gives {len(self.args)}", self.location)
        # Keyword-only parameters are passed by name.
        self.keywords = [p.name if p.kwarg_only else None for p in params]
        self.bases = list(data.get("bases", []))
        self.dtypes = [dtype_of(d) for d in data["dtypes"]]
        self.ranks = list(data["ranks"])
        self.n_inputs = data["num_inputs"]

    def invoke(self, operands: List[torch.Tensor], expected: List[torch.Tensor]) -> List[torch.Tensor]:
        """Runs the op on copies of ``operands``; returns its results, checked
        against the shapes and dtypes of ``expected`` (the result buffers)."""
        tensors = [t.clone() for t in operands]
        bases = [tensors[i] for i in self.bases]
        args, kwargs = [], {}
        for a, keyword in zip(self.args, self.keywords):
            if keyword is None:
                args.append(a.build(tensors, bases))
            else:
                kwargs[keyword] = a.build(tensors, bases)
        result = self.op(*args, **kwargs)
        results = [] if result is None else list(result) if isinstance(result, (tuple, list)) else [result]
        results = [r for r in results if r is not None] + bases
        self._check(results, expected)
        return results

    def _check(self, results: list, outs: list) -> None:
        if len(results) != len(outs):
            raise RuntimeError(f"{self.op_name} returned {len(results)} tensors; the compiled program expects {len(outs)}")
        for i, (r, out) in enumerate(zip(results, outs)):
            if not isinstance(r, torch.Tensor) or r.shape != out.shape or r.dtype != out.dtype:
                got = f"shape {tuple(r.shape)} and dtype {r.dtype}" if isinstance(r, torch.Tensor) else repr(r)
                raise RuntimeError(f"{self.op_name} returned {got} as result {i}; the compiled program expects "
                                   f"shape {tuple(out.shape)} and dtype {out.dtype}")


#: Source files whose frames may hold views of compiled buffers (a backend
#: adds its host-call adapter's file).
BUFFER_FRAMES = {__file__}


def forget_buffers(tb) -> None:
    """Drops the locals of host-runtime frames in a kept traceback: they view
    compiled buffers that are freed once the call returns."""
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in BUFFER_FRAMES:
            try:
                tb.tb_frame.clear()
            except RuntimeError:  # the frame is still running
                pass
        tb = tb.tb_next


class CallState:
    """The host-side state of one call of a compiled program."""

    __slots__ = ("error", "error_op")

    def __init__(self):
        self.error: Optional[BaseException] = None
        self.error_op: Optional[str] = None


class HostRuntime:
    """All host calls of one loaded program.

    Args:
        calls: the manifest's host calls (see :func:`spec`).
        objects: the program's script objects, by the names host calls use.
    """

    def __init__(self, calls: List[dict], objects: Optional[Dict[str, object]] = None):
        self.calls: List[HostCall] = [HostCall(c, objects or {}) for c in calls]
        self._local = threading.local()

    def begin(self) -> CallState:
        """Starts a call on this thread; host calls until :meth:`end` belong to it."""
        state = CallState()
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        stack.append(state)
        return state

    def current(self) -> CallState:
        """The innermost call running on this thread."""
        return self._local.stack[-1]

    def run(self, call: HostCall, operands: List[torch.Tensor], outs: List[torch.Tensor]) -> None:
        """Runs ``call`` for the current call: results go into ``outs``.  Never
        raises (a backend's callback must not); errors are kept for :meth:`end`."""
        state = self.current()
        try:
            if state.error is None:
                for out, r in zip(outs, call.invoke(operands, outs)):
                    out.copy_(r)
                return
        except BaseException as e:  # surfaced by end()
            state.error, state.error_op = e, call.op_name
        for out in outs:
            out.zero_()

    def end(self, state: CallState) -> None:
        """Ends ``state``'s call; re-raises the first exception a host call raised in it."""
        self._local.stack.pop()
        if state.error is not None:
            err, op = state.error, state.error_op
            forget_buffers(err.__traceback__)
            err.add_note(f"(raised by {op}, called by fxc-compiled code through the host runtime)")
            raise err
