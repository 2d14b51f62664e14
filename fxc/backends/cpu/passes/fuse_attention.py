"""fxc-fuse-attention: attention as bufferization leaves it (a
``linalg.batch_matmul`` of the queries by the transposed keys, the softmax's
row-wise generics, a second ``batch_matmul`` of the probabilities by the
values) becomes one loop over (batch, block of query rows): each block's
``[rows, S]`` scores are computed, normalized and multiplied by the values
while they are in the cache, instead of going to memory and back between
the ops.  Each op of a block is the original op on the block's views;
fxc-convert-linalg-to-vector then register-tiles and vectorizes it as any
other (the block's matmuls carry ``fxc.sequential``: the threads are the
block loop's).

Why a pass of its own rather than fxc-fuse-rows: that pass runs single
rows over the same leading loops of every op and one view per written
buffer.  Here a row of a matmul is a vector-matrix product (bandwidth-bound:
the keys would be read once per row), so the rows go in blocks of 8-32 (a
multiple of the register tile, with a static tail block); and the ops see
the scores through several reshapes (``[B*H, L, S]`` for the matmuls,
``[B, H, L, 1, S]`` for the reductions), so rows are matched by their place
in the buffer, not by loop position.

The group.  It starts at a ``batch_matmul`` with static ``[N, L, S]``
output (and the ``linalg.fill`` before it that zeroes that output) and
takes the ops after it up to the next ``batch_matmul``: ``linalg.fill``,
``linalg.generic`` and ``batch_matmul`` ops on static buffers whose leading
parallel loops span the ``N * L`` rows, the last non-unit one of them the
``L`` query rows (so row ``(n, i)`` of every op is the outer loops'
row-major index ``n`` and query loop ``i``).  View, ``alloc`` and constant
ops between them move before the loop, ``dealloc`` after it; so does a
``linalg`` op that neither reads what the group wrote so far nor writes
what it accessed (a causal mask built from indices; up to one head's scores
in size, it runs on one thread, marked ``fxc.sequential``: a fork/join of
its own costs more than it saves).  Anything else ends the group.  It is fused when it holds two ``batch_matmul`` ops and a reduction.

Legality: every buffer the group writes is a static allocation or function
argument with the identity layout, and every access to it (by any op of the
group) goes through reshapes only and indexes the op's non-unit row loops,
in order, as its leading non-unit positions, and no row loop elsewhere.  In
a row-major buffer, row ``(n, i)`` of every op then touches the same
``[row * size, (row + 1) * size)`` range, whatever the view: a block of
rows reads only what the same block of the ops before it wrote.  Other
buffers (Q, K^T, V, a mask) are only read, through any view.  Dynamic
shapes are left to the unfused ops.

With ``parallel``, the (batch, block) loop is an ``scf.parallel`` (OpenMP
threads) when the two matmuls do at least 2^20 multiply-adds.

Causal masks.  When the scores get a causal mask (``-inf`` where
``j - i > C``, built from indices as fxc's decomposition of ``is_causal``
builds it), a block of rows ``[r, r + rows)`` leaves out the keys from
``r + rows + C`` on, which all its rows mask: every op's key loop runs over
``[0, min(S, r + rows + C))`` (dynamic-sized views), about half the work of
a causal attention.  It does so only where the left-out keys change nothing
(see ``_attention_ops.causal_plan``).

Left alone: dynamic shapes; a chain in which an op reads or writes another
row of a buffer the chain writes (through a view that is not a reshape, or
an index map that drops or moves a row loop); ``batch_matmul`` ops with
transposed ``indexing_maps``; a chain without a second ``batch_matmul`` or a
reduction.  ``tm_tensor.attention`` does not come this way: fxc's frontend
decomposes ``_scaled_dot_product_flash_attention_for_cpu`` (what sdpa
becomes on CPU) into the ops above, so only a hand-written torch-dialect
``aten.scaled_dot_product_attention`` reaches convert-torch-to-tmtensor,
and ``tm-tensor-to-loops`` lowers that one as before.
"""

from __future__ import annotations

import math

from torch_mlir import ir
from torch_mlir.dialects import arith, linalg, memref, scf

from fxc._mlir_compat import index_constant
from fxc.backends.cpu.passes._attention_ops import CONTRACTION as _CONTRACTION
from fxc.backends.cpu.passes._attention_ops import COPY as _COPY
from fxc.backends.cpu.passes._attention_ops import causal_plan
from fxc.backends.cpu.passes._attention_ops import op_accesses as _accesses
from fxc.backends.cpu.passes.fuse_rows import MOVED_AFTER, MOVED_BEFORE, VIEWS, BlockFusionPass, accesses, loops, root
from fxc.backends.cpu.passes.fuse_rows import buffers as _buffers
from fxc.compiler.passes import register

_ROW_OPS = ("linalg.fill", "linalg.generic", _CONTRACTION, _COPY)
_RESHAPES = ("memref.expand_shape", "memref.collapse_shape")
#: Multiply-adds below which the block loop runs on one thread.
_PARALLEL_WORK = 1 << 20
#: Query rows per block, best first (multiples of the matmul register tile's 8 rows).
_BLOCKS = (32, 24, 16, 8)
#: The most bytes a block's scores take (half of Zen 4's / Skylake-SP's L2).
_BLOCK_BYTES = 256 << 10


class _Rows:
    """How one op's loops cover the group's rows: ``outer`` (its non-unit
    loops among the rows but the last, outermost first, with ``extents``),
    ``query`` (the loop of the L query rows; None when L is 1)."""

    def __init__(self, outer: list, extents: list, query):
        self.outer, self.extents, self.query = outer, extents, query

    def loops(self) -> list:
        return self.outer + ([] if self.query is None else [self.query])


def _loops(op) -> tuple[list, list] | None:
    """Per loop: its static extent (None if dynamic) and whether it is
    parallel (a batch_matmul's are (b, m, n, k), a copy's its buffer's)."""
    if op.name == _COPY:
        shape = ir.MemRefType(op.operands[1].type).shape
        return list(shape), [True] * len(shape)
    if op.name != _CONTRACTION:
        return loops(op)
    lhs, out = (ir.MemRefType(op.operands[i].type) for i in (0, 2))
    return [*out.shape, lhs.shape[2]], [True, True, True, False]


def _row_loops(op, total: int, length: int) -> _Rows | None:
    """The op's leading parallel loops spanning ``total`` rows whose last
    non-unit one spans the ``length`` query rows (the most such loops); None
    if there are none or an operand is not a static buffer."""
    if any(isinstance(v.type, ir.MemRefType) and not ir.MemRefType(v.type).has_static_shape for v in op.operands):
        return None
    if op.name == _CONTRACTION and [a.results for a in accesses(op)] != [[0, 1, 3], [0, 3, 2], [0, 1, 2]]:
        return None  # a transposed operand's (indexing_maps): its loops are not (b, m, n, k)
    if not isinstance(op.operands[-1].type, ir.MemRefType) or _accesses(op) is None:
        return None
    extents, kinds = _loops(op)
    found, rows = None, 1
    for depth, (extent, parallel) in enumerate(zip(extents, kinds), 1):
        rows *= extent
        if not parallel or rows > total:
            break
        nonunit = [d for d in range(depth) if extents[d] != 1]
        if rows != total or (length > 1 and extents[nonunit[-1]] != length):
            continue
        outer = nonunit if length == 1 else nonunit[:-1]
        found = _Rows(outer, [extents[d] for d in outer], None if length == 1 else nonunit[-1])
    return found


def _contiguous_root(value: ir.Value) -> ir.Value | None:
    """The buffer ``value`` reshapes, if it reaches a static, row-major one
    through reshapes only; else None."""
    while not isinstance(value.owner, ir.Block):
        op = value.owner.operation
        if op.name not in _RESHAPES:
            if op.name not in ("memref.alloc", "memref.alloca"):
                return None
            break
        value = op.operands[0]
    t = ir.MemRefType(value.type)
    if not t.has_static_shape:
        return None
    strides, offset = t.get_strides_and_offset()
    return value if offset == 0 and strides == [math.prod(t.shape[i + 1:]) for i in range(t.rank)] else None


def _row_aligned(access, rows: _Rows) -> bool:
    """Whether the access indexes the op's non-unit row loops, in order, as
    its leading non-unit positions, and no row loop elsewhere."""
    row_loops = rows.loops()
    shape = ir.MemRefType(access.value.type).shape
    positions = [j for j, r in enumerate(access.results) if r in row_loops]
    if [access.results[j] for j in positions] != row_loops:
        return False
    return all(shape[j] == 1 for j in range(positions[-1] if positions else 0) if j not in positions)


def _legal(group: list, plans: list) -> bool:
    """Every buffer the group writes is row-major and accessed row-aligned."""
    written = {root(a.value) for op in group for a in _accesses(op) if a is not None and a.written}
    for op, rows in zip(group, plans):
        for a in _accesses(op):
            if a is None or root(a.value) not in written:
                continue
            if _contiguous_root(a.value) is None or not _row_aligned(a, rows):
                return False
    return True


def _roots(op) -> tuple[set, set]:
    """The roots of ``_buffers(op)``."""
    accessed, written = _buffers(op)
    return {root(v) for v in accessed}, {root(v) for v in written}


def _writes_at_most(op, elements: int) -> bool:
    """Whether each buffer ``op`` writes has a static size of ``elements`` or less."""
    return all(ir.MemRefType(v.type).has_static_shape and math.prod(ir.MemRefType(v.type).shape) <= elements
               for v in _buffers(op)[1])


class _Group:
    """A fusable chain: its ops with their row loops, the ops that move
    before or after its loop, and the rows (``total``, ``length``)."""

    def __init__(self, ops: list, plans: list, before: list, after: list, total: int, length: int):
        self.ops, self.plans, self.before, self.after = ops, plans, before, after
        self.total, self.length = total, length
        self.causal = None  # a _Causal when the scores' mask is causal


def _collect(ops: list, i: int) -> _Group | None:
    """The group starting at the batch_matmul ``ops[i]``, if it fuses."""
    anchor = ops[i]
    out = ir.MemRefType(anchor.operands[2].type)
    if not out.has_static_shape:
        return None
    total, length = out.shape[0] * out.shape[1], out.shape[1]
    start = i - 1
    while start >= 0 and ops[start].name in MOVED_BEFORE:
        start -= 1
    init = ops[start] if start >= 0 else None
    if not (init and init.name == "linalg.fill" and root(init.operands[-1]) == root(anchor.operands[2])):
        start = i
    group, plans, before, after = [], [], [], []
    accessed, written = set(), set()
    for op in ops[start:]:
        rows = _row_loops(op, total, length) if op.name in _ROW_OPS else None
        if rows is not None and _legal(group + [op], plans + [rows]):
            group.append(op)
            plans.append(rows)
            reads, writes = _roots(op)
            accessed |= reads
            written |= writes
            if sum(g.name == _CONTRACTION for g in group) == 2:
                break
        elif op.name in MOVED_BEFORE:
            before.append(op)
        elif op.name in MOVED_AFTER:
            after.append(op)
        elif op.name.startswith("linalg.") and not (_roots(op)[0] & written or _roots(op)[1] & accessed):
            before.append(op)
        else:
            return None
    contractions = [g for g in group if g.name == _CONTRACTION]
    reduces = any(g.name == "linalg.generic" and "reduction" in str(g.attributes["iterator_types"]) for g in group)
    if total < 2 or len(contractions) != 2 or not reduces or root(contractions[1].operands[0]) not in written:
        return None
    fused = _Group(group, plans, before, after, total, length)
    fused.causal = causal_plan(group, plans, length, set(_local_buffers(group)))
    return fused


def _block_rows(length: int, width: int) -> int:
    """Query rows per block: a multiple of 8 dividing ``length`` if one of
    :data:`_BLOCKS` does, else the largest up to 32 (a static tail block
    takes the rest); fewer while the block's ``width`` scores a row would
    pass :data:`_BLOCK_BYTES`."""
    if length < _BLOCKS[-1]:
        return length
    rows = next((b for b in _BLOCKS if length % b == 0), min(_BLOCKS[0], length // 8 * 8))
    while rows > 8 and rows * width * 4 > _BLOCK_BYTES:
        rows //= 2
    return rows


def _window(value: ir.Value, results: list, index: dict) -> tuple[list, list, list, list]:
    """The offsets (static, dynamic) and sizes (static, dynamic) of the
    part of ``value`` that an op accessing it through ``results`` touches
    for loops fixed by ``index`` (loop -> (offset, size), each an int or an
    index value): that range where such a loop indexes it, the whole
    dimension elsewhere."""
    shape = ir.MemRefType(value.type).shape
    dynamic = ir.ShapedType.get_dynamic_stride_or_offset()
    offsets, dyn_offsets, sizes, dyn_sizes = [], [], [], []
    for pos, loop in enumerate(results):
        offset, size = index.get(loop, (0, shape[pos]))
        if isinstance(offset, int):
            offsets.append(offset)
        else:
            offsets.append(dynamic)
            dyn_offsets.append(offset)
        if isinstance(size, int):
            sizes.append(size)
        else:
            sizes.append(ir.ShapedType.get_dynamic_size())
            dyn_sizes.append(size)
    return offsets, dyn_offsets, sizes, dyn_sizes


def _slice(value: ir.Value, results: list, index: dict) -> ir.Value:
    """The window of ``value`` (see ``_window``) as a subview."""
    offsets, dyn_offsets, sizes, dyn_sizes = _window(value, results, index)
    t = ir.MemRefType(value.type)
    if not dyn_offsets and not dyn_sizes and sizes == t.shape:
        return value
    strides, base = t.get_strides_and_offset()
    dynamic = ir.ShapedType.get_dynamic_stride_or_offset()
    offset = dynamic if dyn_offsets or base == dynamic else base + sum(o * st for o, st in zip(offsets, strides))
    layout = ir.StridedLayoutAttr.get(offset, strides)
    result = ir.MemRefType.get(sizes, t.element_type, layout, t.memory_space)
    return memref.SubViewOp(result, value, dyn_offsets, dyn_sizes, [], offsets, sizes, [1] * t.rank).result


def _reshaped(flat: ir.Value, sizes: list) -> ir.Value:
    """The 1-d buffer ``flat`` as a row-major buffer of ``sizes``."""
    if len(sizes) == 1:
        return flat
    t = ir.MemRefType(flat.type)
    i64 = ir.IntegerType.get_signless(64)
    groups = ir.ArrayAttr.get([ir.ArrayAttr.get([ir.IntegerAttr.get(i64, i) for i in range(len(sizes))])])
    return memref.ExpandShapeOp(ir.MemRefType.get(sizes, t.element_type), flat, groups, [], sizes).result


def _users_inside(value: ir.Value, ops: list) -> bool:
    """Whether every user of ``value``, through views, is one of ``ops``
    or a dealloc."""
    for use in value.uses:
        user = use.owner.operation
        if user.name in VIEWS:
            if not _users_inside(user.results[0], ops):
                return False
        elif user.name != "memref.dealloc" and not any(user == op for op in ops):
            return False
    return True


def _local_buffers(ops: list) -> list:
    """The allocations the group writes that nothing outside it uses (the
    scores, the softmax's rows): each block gets its own block-sized one."""
    written = list(dict.fromkeys(root(a.value) for op in ops for a in _accesses(op) if a is not None and a.written))
    return [buf for buf in written if not isinstance(buf.owner, ir.Block)
            and buf.owner.operation.name == "memref.alloc" and _users_inside(buf, ops)]


def _erase_buffer(value: ir.Value) -> None:
    """Erases an allocation no op reads any more, with its views and dealloc."""
    for use in list(value.uses):
        user = use.owner.operation
        if user.name in VIEWS:
            _erase_buffer(user.results[0])
        else:
            user.erase()
    value.owner.operation.erase()


def _delinearize(flat: ir.Value, extents: list) -> list:
    """The row-major indices of ``flat`` in a space of ``extents``."""
    indices = []
    for extent in reversed(extents[1:]):
        bound = index_constant(extent)
        indices.append(arith.RemUIOp(flat, bound).result)
        flat = arith.DivUIOp(flat, bound).result
    return [flat, *reversed(indices)] if extents else []


def _clone_block(group: _Group, local: list, outer: ir.Value, first_row: ir.Value, rows: int) -> None:
    """The group's ops on the views of one block: ``rows`` query rows from
    ``first_row`` of the outer row ``outer``; the ``local`` buffers' rows
    in a block-sized buffer of their own (a block's rows are contiguous in
    them, whatever the view: see the module's docstring).  With a causal
    mask (``group.causal``), the keys the block's rows all mask are left
    out: each op's key loop runs over ``[0, min(S, first_row + rows + C))``."""
    scratch = {}
    for buf in local:
        t = ir.MemRefType(buf.type)
        size = rows * (math.prod(t.shape) // group.total)
        scratch[buf] = memref.AllocOp(ir.MemRefType.get([size], t.element_type), [], [], alignment=64).result
    keys = None
    if group.causal is not None:
        bound = arith.AddIOp(first_row, index_constant(rows + group.causal.diagonal)).result
        keys = arith.MinUIOp(bound, index_constant(group.causal.keys)).result
    for n_op, (op, plan) in enumerate(zip(group.ops, group.plans)):
        index = dict(zip(plan.outer, ((v, 1) for v in _delinearize(outer, plan.extents))))
        if plan.query is not None:
            index[plan.query] = (first_row, rows)
        key = group.causal.loops[n_op] if group.causal is not None else None
        views = []
        for a in _accesses(op):
            if a is not None and root(a.value) in scratch:
                view = _reshaped(scratch[root(a.value)], _window(a.value, a.results, index)[2])
                if key is not None and key in a.results:
                    view = _slice(view, a.results, {key: (0, keys)})
                a = view
            elif a is not None:
                a = _slice(a.value, a.results, {**index, key: (0, keys)} if key is not None else index)
            views.append(a)
        if op.name == _COPY:  # a strided memref.copy would be a call into a library the JIT lacks
            linalg.copy(views[0], outs=[views[1]])
            clone = ir.InsertionPoint.current.block.operations[-1]
        else:
            clone = op.clone()
            for n, view in enumerate(views):
                if view is not None:
                    clone.operands[n] = view
        clone.attributes["fxc.sequential"] = ir.UnitAttr.get()
    for buf in scratch.values():
        memref.DeallocOp(buf)


@register
class FuseAttention(BlockFusionPass):
    name = "fxc-fuse-attention"
    summary = "Run attention (batch_matmul, softmax, batch_matmul on buffers) as one loop over blocks of query rows"

    def _fuse_block(self, block):
        while self._fuse_first(block):
            pass

    def _fuse_first(self, block) -> bool:
        """Fuses the block's first group; whether there was one."""
        ops = [op.operation for op in block.operations]
        for i, op in enumerate(ops):
            if op.name == _CONTRACTION and "fxc.sequential" not in op.attributes:
                group = _collect(ops, i)
                if group:
                    self._fuse(group)
                    return True
        return False

    def _fuse(self, group: _Group):
        first = group.ops[0]
        width = ir.MemRefType(next(op for op in group.ops if op.name == _CONTRACTION).operands[2].type).shape[2]
        for op in group.before:
            op.move_before(first)
            if op.name.startswith("linalg.") and _writes_at_most(op, group.length * width):
                # A mask for all heads (one head's scores or fewer): not
                # worth a fork/join of its own next to the blocks'.
                op.attributes["fxc.sequential"] = ir.UnitAttr.get()
        rows = _block_rows(group.length, width)
        full, tail = divmod(group.length, rows)
        blocks = full + (tail > 0)
        work = sum(math.prod(_loops(op)[0]) for op in group.ops if op.name == _CONTRACTION)
        outer = group.total // group.length
        parallel = self.parallel and work >= _PARALLEL_WORK and outer * blocks >= 2
        local = _local_buffers(group.ops)
        with first.location, ir.InsertionPoint(first):
            zero, one = index_constant(0), index_constant(1)
            bounds = [index_constant(outer), index_constant(blocks)]
            if parallel:
                loop = scf.ParallelOp([], [zero, zero], bounds, [one, one], [])
                body = loop.regions[0].blocks.append(ir.IndexType.get(), ir.IndexType.get())
                ivs = list(body.arguments)
            else:
                loop = scf.ForOp(zero, bounds[0], one)
                with ir.InsertionPoint(loop.body):
                    inner = scf.ForOp(zero, bounds[1], one)
                    scf.YieldOp([])
                ivs, body = [loop.induction_variable, inner.induction_variable], inner.body
        with first.location, ir.InsertionPoint(body):
            start = arith.MulIOp(ivs[1], index_constant(rows)).result
            if tail:
                is_full = arith.CmpIOp(arith.CmpIPredicate.ult, ivs[1], index_constant(full)).result
                branch = scf.IfOp(is_full, [], has_else=True)
                for block, size in ((branch.then_block, rows), (branch.else_block, tail)):
                    with ir.InsertionPoint(block):
                        _clone_block(group, local, ivs[0], start, size)
                        scf.YieldOp([])
            else:
                _clone_block(group, local, ivs[0], start, rows)
            if parallel:
                scf.ReduceOp([], 0)
            else:
                scf.YieldOp([])
        for op in group.ops:
            op.erase()
        last = loop.operation
        for buf in local:
            _erase_buffer(buf)
        for op in group.after:
            op.move_after(last)
            last = op
