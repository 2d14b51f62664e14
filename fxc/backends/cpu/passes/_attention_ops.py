"""What fxc-fuse-attention reads off the ops of an attention group: each
op's buffer accesses, and whether a causal mask lets a block of query rows
leave out the keys it masks (``causal_plan``).  (A module of its own: the
pass's; not a pass.)"""

from __future__ import annotations

from torch_mlir import ir

from fxc.backends.cpu.passes.fuse_rows import Access, accesses, root, writers

CONTRACTION = "linalg.batch_matmul"
COPY = "memref.copy"


def op_accesses(op) -> list | None:
    """``fuse_rows.accesses``, and a ``memref.copy``'s (the copies of a
    filled buffer that bufferization makes when two ops start from it)."""
    if op.name != COPY:
        return accesses(op)
    rank = ir.MemRefType(op.operands[1].type).rank
    return [Access(op.operands[0], list(range(rank)), False), Access(op.operands[1], list(range(rank)), True)]


# -- Causal masks: the keys a block of rows all mask are left out ----------
#
# A mask ``M[i, j] = -inf where j - i > C, else 0`` (``C >= 0``: what
# ``tril`` of ones becomes, as fxc's decomposition of ``is_causal`` builds
# it) masks, for a block of query rows ``[r, r + rows)``, every key from
# ``r + rows + C`` on.  Those keys are left out of the block's ops when that
# changes nothing: the ops are followed from the first matmul on, knowing
# what a left-out key's column holds ("masked column"): the scores some
# finite number, the mask -inf; ``-inf + x``, ``-inf - x`` and ``-inf * c``
# (``c > 0``) stay -inf, ``exp(-inf)`` is 0; a reduction over the keys must
# see only its neutral element there (``max(-inf, acc)``, ``0 + acc``), the
# second matmul only zeros; and a buffer holding the keys' columns must be
# one of the block's own (nothing outside reads what was left out).  A
# ``-inf`` score column that eager adds a NaN or +inf to is also left out,
# as PyTorch's flash kernel leaves it.

_FINITE, _NEG_INF, _ZERO, _ACC = "finite", "-inf", "zero", "acc"


class _Causal:
    """A causal group: the mask's ``diagonal`` C, the ``keys`` S, and per
    op of the group its key loop (None: it has none)."""

    def __init__(self, diagonal: int, keys: int, loops: list):
        self.diagonal, self.keys, self.loops = diagonal, keys, loops


def _constant(value: ir.Value):
    """The Python value of an ``arith.constant``, else None."""
    if isinstance(value.owner, ir.Block) or value.owner.operation.name != "arith.constant":
        return None
    attr = value.owner.operation.attributes["value"]
    if isinstance(attr, ir.FloatAttr):
        return ir.FloatAttr(attr).value
    if isinstance(attr, ir.IntegerAttr):
        return ir.IntegerAttr(attr).value
    return None


def _body(op) -> list:
    return [o.operation for o in op.regions[0].blocks[0].operations]


def _is_arange(buf: ir.Value) -> bool:
    """Whether ``buf`` is a 1-d integer buffer that one generic fills with
    its indices (``arange``) and nothing else writes."""
    written_by = writers(buf) if not isinstance(buf.owner, ir.Block) else None
    if not written_by or len(written_by) != 1 or written_by[0].name != "linalg.generic":
        return False
    body = _body(written_by[0])
    return (ir.MemRefType(buf.type).rank == 1 and len(written_by[0].operands) == 1 and len(body) == 3
            and [o.name for o in body] == ["linalg.index", "arith.index_cast", "linalg.yield"]
            and ir.IntegerAttr(body[0].attributes["dim"]).value == 0)


def _causal_diagonal(mask: ir.Value, length: int, keys: int) -> int | None:
    """C if the buffer ``mask`` is ``[L, S]`` (unit dimensions aside) and
    holds ``-inf where j - i > C, else 0`` (C >= 0), written by one generic
    from two views of arange buffers; else None."""
    if isinstance(mask.owner, ir.Block) or mask.owner.operation.name != "memref.alloc":
        return None
    t = ir.MemRefType(mask.type)
    written_by = writers(mask)
    if [d for d in t.shape if d != 1] != [length, keys] or not written_by or len(written_by) != 1:
        return None
    op = written_by[0]
    if op.name != "linalg.generic" or len(op.operands) != 3 or op.operands[2] != mask or t.rank != 2:
        return None
    acc = accesses(op)
    if acc is None or acc[2].results != [0, 1]:
        return None
    used = [[r for r in a.results if r is not None] for a in acc[:2]]
    if sorted(map(tuple, used)) != [(0,), (1,)] or not all(_is_arange(root(a.value)) for a in acc[:2]):
        return None
    column, row = op.regions[0].blocks[0].arguments[0:2] if used[0] == [1] else \
        reversed(list(op.regions[0].blocks[0].arguments[0:2]))
    body = _body(op)
    if [o.name for o in body] != ["arith.subi", "arith.cmpi", "arith.select", "linalg.yield"]:
        return None
    sub, cmp, sel, _ = body
    if list(sub.operands) != [column, row] or cmp.operands[0] != sub.results[0] or sel.operands[0] != cmp.results[0]:
        return None
    bound = _constant(cmp.operands[1])
    predicate = ir.IntegerAttr(cmp.attributes["predicate"]).value
    # arith.cmpi predicates: sgt = 4, sge = 5.
    diagonal = None if bound is None else {4: bound, 5: None if bound is None else bound - 1}.get(predicate)
    if diagonal is None or diagonal < 0:
        return None
    if _constant(sel.operands[1]) != float("-inf") or _constant(sel.operands[2]) != 0.0:
        return None
    return diagonal


def _combine(name: str, kinds: list, constants: list):
    """What a masked column holds after the scalar op ``name`` of operands
    that hold ``kinds`` (constants: their values where known); None if
    it cannot be told (or is neither of the kinds tracked)."""
    if not kinds:
        return None
    a = kinds[0]
    b = kinds[1] if len(kinds) > 1 else None
    if name in ("arith.extf", "arith.truncf"):
        return a
    if name == "math.exp":
        return {_NEG_INF: _ZERO, _FINITE: _FINITE}.get(a)
    if name == "arith.addf":
        if _ACC in (a, b):
            return _ACC if _ZERO in (a, b) else None
        if _NEG_INF in (a, b):
            return _NEG_INF if {a, b} <= {_NEG_INF, _FINITE, _ZERO} else None
        if _ZERO in (a, b):
            return b if a == _ZERO else a
        return _FINITE if a == b == _FINITE else None
    if name == "arith.subf":
        if _ACC in (a, b):
            return None
        if a == _NEG_INF and b in (_FINITE, _ZERO):
            return _NEG_INF
        return _FINITE if a in (_FINITE, _ZERO) and b in (_FINITE, _ZERO) else None
    if name == "arith.mulf":
        if _ACC in (a, b):
            return None
        if _NEG_INF in (a, b):
            other = constants[1] if a == _NEG_INF else constants[0]
            return _NEG_INF if other is not None and other > 0 else None
        if _ZERO in (a, b):
            return _ZERO if {a, b} <= {_ZERO, _FINITE} else None
        return _FINITE if a == b == _FINITE else None
    if name in ("arith.maximumf", "arith.maxnumf"):
        if _ACC in (a, b):
            return _ACC if _NEG_INF in (a, b) else None
        if a == b:
            return a
        return _FINITE if {a, b} <= {_NEG_INF, _FINITE, _ZERO} else None
    if name == "arith.select":
        return kinds[1] if kinds[0] == _FINITE and kinds[1] == kinds[2] else None
    if name == "arith.cmpf":
        return _FINITE if a == b == _FINITE else None
    if name == "arith.divf":
        return _FINITE if a == b == _FINITE else (_ZERO if a == _ZERO and b == _FINITE else None)
    return _FINITE if all(k == _FINITE for k in kinds) else None


def _generic_masked(op, key: int, held: dict) -> list | None:
    """What each output of the generic ``op`` holds in a masked column (its
    key loop ``key``; ``held``: root -> what an input's masked column holds,
    for the buffers indexed by the key loop); None if not known."""
    acc = accesses(op)
    block = op.regions[0].blocks[0]
    value_kinds = {}
    for arg, a in zip(block.arguments, acc):
        if a is None or key not in a.results:
            kind = _ACC if a is not None and a.written else _FINITE
        else:
            kind = held.get(root(a.value), _FINITE)
        value_kinds[arg] = kind
    for inner in _body(op):
        if inner.name == "linalg.yield":
            return [value_kinds.get(v) for v in inner.operands]
        if inner.name == "arith.constant":
            c = _constant(inner.results[0])
            value_kinds[inner.results[0]] = _NEG_INF if c == float("-inf") else _ZERO if c == 0 else _FINITE
            continue
        kinds, constants = [], []
        for v in inner.operands:
            c = _constant(v)
            constants.append(c)
            if v in value_kinds:
                kinds.append(value_kinds[v])
            elif c is not None:
                kinds.append(_NEG_INF if c == float("-inf") else _ZERO if c == 0 else _FINITE)
            else:
                kinds.append(_FINITE)  # defined outside the op: the same for every key
        value_kinds[inner.results[0]] = _combine(inner.name, kinds, constants) if len(inner.results) == 1 else None
    return None


def causal_plan(ops: list, plans: list, length: int, local: set) -> _Causal | None:
    """The causal plan of a fusion group (its ``ops``, their row ``plans``,
    its ``length`` query rows, the ``local`` buffers only it uses), if its
    scores have a causal mask and every op is indifferent to the masked
    keys (see above)."""
    anchor = next(op for op in ops if op.name == CONTRACTION)
    keys = ir.MemRefType(anchor.operands[2].type).shape[2]
    if length < 2:
        return None
    held = {root(anchor.operands[2]): _FINITE}
    diagonal, loops = None, []
    seen_anchor = False
    for op, plan in zip(ops, plans):
        acc = op_accesses(op)
        if op == anchor:
            seen_anchor = True
            loops.append(2)
            continue
        if op.name == CONTRACTION:  # the second matmul: its K loop runs over the keys
            lhs = root(op.operands[0])
            if held.get(lhs) != _ZERO or acc[0].results[-1] != 3:
                return None
            loops.append(3)
            continue
        # The op's key loop: what the last position of a scores buffer or of
        # the mask holds (where its size is S).
        key = None
        for a in acc:
            if a is None:
                continue
            r = root(a.value)
            if r not in held and a.written:
                continue
            if r not in held:
                c = _causal_diagonal(r, length, keys)
                if c is None or (diagonal is not None and c != diagonal):
                    continue
                if [x for x in a.results if x is not None and x in plan.loops()] != [plan.query]:
                    return None
                diagonal = c
                held[r] = _NEG_INF
            if ir.MemRefType(a.value.type).shape[-1] != keys or a.results[-1] is None:
                return None
            if key is not None and a.results[-1] != key:
                return None
            key = a.results[-1]
        if key is None:
            if any(a is not None and a.written and root(a.value) in held for a in acc):
                return None
            loops.append(None)
            continue
        if not seen_anchor or op.name == COPY:
            if op.name != "linalg.fill" or root(op.operands[-1]) not in held:
                return None
            loops.append(key)
            continue
        if op.name == "linalg.fill":
            loops.append(key)
            continue
        outputs = _generic_masked(op, key, held)
        if outputs is None:
            return None
        for a, kind in zip([a for a in acc if a is not None and a.written], outputs):
            r = root(a.value)
            if key in a.results:
                if r not in local or kind is None:
                    return None
                held[r] = kind
            elif kind != _ACC:
                return None
        loops.append(key)
    if diagonal is None:
        return None
    return _Causal(diagonal, keys, loops)
