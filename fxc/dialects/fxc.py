"""Python builders for the `fxc` dialect.

The dialect itself is defined once, in ``fxc.irdl.mlir`` beside this file, and
loaded into a context by :func:`load`.  IRDL ops have no generated Python
classes, so each op gets a small class-like builder here that creates the
operation and returns its ``Value`` results, the way upstream
``mlir/dialects/arith.py`` wraps its generated ops.  Semantics and verifier
rules are documented next to each op in the IRDL file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from torch_mlir import ir
from torch_mlir.dialects import irdl

IRDL_FILE = Path(__file__).with_name("fxc.irdl.mlir")

#: Number of optional argument slots of fxc.with_effects / fxc.out_dtype.
MAX_ARGS = 12
#: Number of optional result slots of fxc.with_effects.
MAX_RESULTS = 4

_IRDL_TEXT = IRDL_FILE.read_text()


def load(context: ir.Context) -> None:
    """Registers the fxc dialect (from the IRDL file) in ``context``."""
    with context:
        irdl.load_dialects(ir.Module.parse(_IRDL_TEXT))


def token_type(context: Optional[ir.Context] = None) -> ir.Type:
    """The ``!fxc.token`` type."""
    return ir.Type.parse("!fxc.token", context)


def is_token(t: ir.Type) -> bool:
    return str(t) == "!fxc.token"


def _segments(n_used: int, n_slots: int) -> list:
    if n_used > n_slots:
        raise ValueError(f"{n_used} values do not fit in {n_slots} slots")
    return [1] * n_used + [0] * (n_slots - n_used)


def _seg_attr(sizes: Sequence[int]) -> ir.Attribute:
    return ir.DenseI32ArrayAttr.get(list(sizes))


def make_token(*, loc=None, ip=None) -> ir.Value:
    """``fxc.make_token``: a fresh effect token."""
    return ir.Operation.create(
        "fxc.make_token", results=[token_type()], loc=loc, ip=ip
    ).result


def sink_tokens(tokens: Sequence[ir.Value], *, loc=None, ip=None) -> ir.Operation:
    """``fxc.sink_tokens``: consumes the final effect tokens."""
    return ir.Operation.create(
        "fxc.sink_tokens", operands=list(tokens), loc=loc, ip=ip
    )


def with_effects(
    token: ir.Value,
    op: str,
    args: Sequence[ir.Value],
    result_types: Sequence[ir.Type],
    *,
    loc=None,
    ip=None,
) -> tuple:
    """``fxc.with_effects``: runs effectful ``op`` after ``token``.

    Returns ``(out_token, *results)``.
    """
    operation = ir.Operation.create(
        "fxc.with_effects",
        results=[token_type(), *result_types],
        operands=[token, *args],
        attributes={
            "op": ir.StringAttr.get(op),
            "operandSegmentSizes": _seg_attr([1, *_segments(len(args), MAX_ARGS)]),
            "resultSegmentSizes": _seg_attr(
                [1, *_segments(len(result_types), MAX_RESULTS)]
            ),
        },
        loc=loc,
        ip=ip,
    )
    return tuple(operation.results)


def out_dtype(
    op: str,
    out_element_type: ir.Type,
    args: Sequence[ir.Value],
    result_type: ir.Type,
    *,
    loc=None,
    ip=None,
) -> ir.Value:
    """``fxc.out_dtype``: functional ``op`` computed into ``out_element_type``."""
    return ir.Operation.create(
        "fxc.out_dtype",
        results=[result_type],
        operands=list(args),
        attributes={
            "op": ir.StringAttr.get(op),
            "out_dtype": ir.TypeAttr.get(out_element_type),
            "operandSegmentSizes": _seg_attr(_segments(len(args), MAX_ARGS)),
        },
        loc=loc,
        ip=ip,
    ).result


def wrapped_op_name(op: ir.Operation) -> str:
    """The PyTorch overload name held in an fxc op's ``op`` attribute."""
    return ir.StringAttr(op.attributes["op"]).value


def effect_args(op: ir.Operation) -> list:
    """The wrapped-op arguments of fxc.with_effects (operands after the token)."""
    return list(op.operands)[1:]


def effect_results(op: ir.Operation) -> list:
    """The wrapped-op results of fxc.with_effects (results after the token)."""
    return list(op.results)[1:]


def autocast_scope_type(context: Optional[ir.Context] = None) -> ir.Type:
    """The ``!fxc.autocast_scope`` type."""
    return ir.Type.parse("!fxc.autocast_scope", context)


def autocast_enter(device: str, dtype: ir.Type, enabled: bool, cache_enabled: bool, *, loc=None, ip=None) -> ir.Value:
    """``fxc.autocast_enter``: opens an autocast region; returns its scope."""
    return ir.Operation.create(
        "fxc.autocast_enter",
        results=[autocast_scope_type()],
        attributes={
            "device": ir.StringAttr.get(device),
            "dtype": ir.TypeAttr.get(dtype),
            "enabled": ir.BoolAttr.get(bool(enabled)),
            "cache_enabled": ir.BoolAttr.get(bool(cache_enabled)),
        },
        loc=loc,
        ip=ip,
    ).result


def autocast_exit(scope: ir.Value, *, loc=None, ip=None) -> ir.Operation:
    """``fxc.autocast_exit``: closes the region ``scope`` opened."""
    return ir.Operation.create("fxc.autocast_exit", operands=[scope], loc=loc, ip=ip)
