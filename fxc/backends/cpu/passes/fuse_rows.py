"""fxc-fuse-rows: a chain of linalg ops on buffers that works row by row
(a reduction over the inner dimensions and the ops around it: softmax,
LayerNorm, RMSNorm) becomes one loop over the rows, each op applied to the
row's views in turn, so that a row is read from memory once and stays in
the cache for the chain's later ops.

Upstream's tile-and-fuse (``transform.structured.fuse_into_containing_op``)
does this on tensors, but bufferizing its fused loops allocates every
intermediate row inside the loop (a ``malloc`` per op per row), and
torch-mlir's keepdim reductions write through ``(d0, 0)`` maps that it
declines.  On buffers the intermediates are the whole-tensor buffers
bufferization already made, written a row at a time.

A group is a run of ``linalg.generic`` / ``linalg.fill`` ops in one block
(view, ``alloc`` and constant ops between them move before the loop,
``dealloc`` after it; no op reading its indices) whose first ``L`` loops are parallel with the same
static extents, where every buffer an op of the group writes is accessed by
all of them with each of those ``L`` loops at one fixed position (the
other positions whole): row ``r``
of an op only reads what row ``r`` of the ops before it wrote.  It is
fused when it has two generics or more, one of them a reduction.  With
``parallel``, the row loop is an ``scf.parallel`` (OpenMP threads) when
the group has at least 2^16 elements and no op marked ``fxc.sequential``
(it runs inside another loop's threads: fxc-fuse-attention's).  Buffers are told apart by the
allocation or function argument they are views of (distinct arguments are
distinct buffers: the runtime passes separate output buffers); two
different views of one buffer that the group writes end the group.
"""

from __future__ import annotations

import math

from torch_mlir import ir
from torch_mlir.dialects import memref, scf

from fxc._mlir_compat import index_constant
from fxc.compiler.passes import ModulePass, register

_ROW_OPS = ("linalg.generic", "linalg.fill")
VIEWS = ("memref.subview", "memref.expand_shape", "memref.collapse_shape", "memref.cast",
          "memref.reinterpret_cast")
MOVED_BEFORE = ("arith.constant", "memref.alloc", "memref.alloca", *VIEWS)
MOVED_AFTER = ("memref.dealloc",)
#: Rows x row size below which the loop runs on one thread.
_PARALLEL_ELEMENTS = 1 << 16


class Access:
    """How one op reads or writes one buffer: per position of the buffer,
    the loop it is indexed by (a dimension) or 0 (a unit dimension)."""

    def __init__(self, value: ir.Value, results: list, written: bool):
        self.value, self.results, self.written = value, results, written


def accesses(op) -> list | None:
    """Per operand, the op's access (None for a scalar), or None if a map
    has an expression other than a loop dimension or the constant 0 (a
    unit dimension)."""
    operands = list(op.operands)
    if op.name == "linalg.fill":
        out = operands[-1]
        return [None, Access(out, list(range(ir.MemRefType(out.type).rank)), True)]
    if any(o.operation.name == "linalg.index" for o in op.regions[0].blocks[0].operations):
        return None  # its indices would be the row's, not the whole op's
    maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
    outs = list(ir.DenseI32ArrayAttr(op.attributes["operandSegmentSizes"]))[1]
    accesses = []
    for i, (value, mp) in enumerate(zip(operands, maps)):
        if not isinstance(value.type, ir.MemRefType):
            if mp.n_results:
                return None
            accesses.append(None)  # a scalar input
            continue
        results = []
        for r in mp.results:
            if isinstance(r, ir.AffineDimExpr):
                results.append(r.position)
            elif isinstance(r, ir.AffineConstantExpr) and r.value == 0:
                results.append(None)
            else:
                return None
        accesses.append(Access(value, results, i >= len(operands) - outs))
    return accesses


def loops(op) -> tuple[list, list] | None:
    """Per loop: its static extent (None if dynamic) and whether it is parallel."""
    if op.name == "linalg.fill":
        t = ir.MemRefType(op.operands[-1].type)
        return [None if t.is_dynamic_dim(i) else d for i, d in enumerate(t.shape)], [True] * t.rank
    maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
    kinds = ["parallel" in str(a) for a in ir.ArrayAttr(op.attributes["iterator_types"])]
    extents = [None] * len(kinds)
    for value, mp in zip(op.operands, maps):
        if not isinstance(value.type, ir.MemRefType):
            continue
        t = ir.MemRefType(value.type)
        for pos, r in enumerate(mp.results):
            if isinstance(r, ir.AffineDimExpr) and not t.is_dynamic_dim(pos):
                extents[r.position] = t.shape[pos]
    return extents, kinds


def root(value: ir.Value) -> ir.Value:
    """The buffer a view is of (through view ops)."""
    while not isinstance(value.owner, ir.Block):
        op = value.owner.operation  # an OpView or an Operation
        if op.name not in VIEWS:
            break
        value = op.operands[0]
    return value


def buffers(op) -> tuple[list, list]:
    """The buffers ``op`` accesses and those it writes (its outs)."""
    values = [v for v in op.operands if isinstance(v.type, ir.MemRefType)]
    if op.name == "memref.copy":
        return values, values[1:]
    if op.name in ("linalg.transpose", "linalg.broadcast"):  # one input, one init
        return values, values[1:]
    if "operandSegmentSizes" not in op.attributes:
        return values, values  # (not known: all of them)
    outs = list(ir.DenseI32ArrayAttr(op.attributes["operandSegmentSizes"]))[-1]
    return values, values[len(values) - outs:]


def writers(buf: ir.Value) -> list | None:
    """The ops that write ``buf`` (an allocation or argument), through
    views; None if an op other than a linalg op, a ``memref.copy``, a view
    or a dealloc uses it (what it does to ``buf`` is not known)."""
    found = []
    for use in buf.uses:
        user = use.owner.operation
        if user.name in VIEWS:
            more = writers(user.results[0])
            if more is None:
                return None
            found += more
        elif user.name.startswith("linalg.") or user.name == "memref.copy":
            if any(v == buf for v in buffers(user)[1]):
                found.append(user)
        elif user.name != "memref.dealloc":
            return None
    return found


def _rows(ops: list) -> tuple[int, list] | None:
    """The largest L (and the L extents) for which ``ops`` can run row by
    row over their first L loops; None if there is none."""
    info = [(loops(op), accesses(op)) for op in ops]
    if any(lp is None or acc is None for lp, acc in info):
        return None
    depth = min(len(lp[0]) for lp, _ in info)
    for rows in range(depth, 0, -1):
        extents = info[0][0][0][:rows]
        if None in extents or any(lp[0][:rows] != extents or not all(lp[1][:rows]) for lp, _ in info):
            continue
        if _rows_independent([a for _, acc in info for a in acc if a is not None], rows):
            return rows, extents
    return None


def _rows_independent(accs: list, rows: int) -> bool:
    """Every buffer written is accessed, by every op, with each of the
    first ``rows`` loops at one position (the same for all)."""
    by_root = {}
    for a in accs:
        by_root.setdefault(root(a.value), []).append(a)
    for group in by_root.values():
        if not any(a.written for a in group):
            continue
        # Which positions the row loops index (the rest each row covers whole).
        slabs = {tuple(r if r is not None and r < rows else None for r in a.results) for a in group}
        if len({a.value for a in group}) > 1 or len(slabs) > 1:
            return False
        if any(p not in next(iter(slabs)) for p in range(rows)):
            return False
    return True


def _subview(value: ir.Value, results: list, ivs: list) -> ir.Value:
    """The part of ``value`` that row ``ivs`` of an op accessing it through
    ``results`` touches: index ``ivs[p]`` where loop ``p < len(ivs)``
    indexes it, the whole dimension elsewhere."""
    t = ir.MemRefType(value.type)
    strides, _ = t.get_strides_and_offset()
    dynamic = ir.ShapedType.get_dynamic_stride_or_offset()
    offsets, dyn_offsets, sizes = [], [], []
    for pos, loop in enumerate(results):
        if loop is not None and loop < len(ivs):
            offsets.append(dynamic)
            dyn_offsets.append(ivs[loop])
            sizes.append(1)
        else:
            offsets.append(0)
            sizes.append(t.shape[pos])
    if not dyn_offsets:
        return value  # the same for every row (a weight)
    # A dynamic extent of a dimension the row covers whole: the buffer's.
    dyn_sizes = [memref.DimOp(value, index_constant(pos)).result
                 for pos, size in enumerate(sizes) if size == ir.ShapedType.get_dynamic_size()]
    layout = ir.StridedLayoutAttr.get(dynamic, strides)
    result = ir.MemRefType.get(sizes, t.element_type, layout, t.memory_space)
    return memref.SubViewOp(result, value, dyn_offsets, dyn_sizes, [], offsets, sizes, [1] * t.rank).result


class BlockFusionPass(ModulePass):
    """A pass that fuses runs of ops within each block of each function
    (nested blocks too, not linalg bodies): ``_fuse_block(block)``.
    Option ``parallel``: whether its loops may be ``scf.parallel``."""

    def __init__(self, parallel: bool = False):
        self.parallel = parallel in (True, "true", "1", 1)

    def run(self, module_op):
        for func in module_op.regions[0].blocks[0].operations:
            if func.operation.name == "func.func" and func.regions[0].blocks:
                self._visit(func.operation)

    def _visit(self, parent):
        for region in parent.regions:
            for block in region.blocks:
                self._fuse_block(block)
                for op in block.operations:
                    if op.operation.regions and not op.operation.name.startswith("linalg."):
                        self._visit(op.operation)

    def _fuse_block(self, block) -> None:
        raise NotImplementedError


@register
class FuseRows(BlockFusionPass):
    name = "fxc-fuse-rows"
    summary = "Run chains of row-wise linalg ops on buffers (softmax, LayerNorm) as one loop over the rows"

    def _fuse_block(self, block):
        group, between = [], []
        for op in list(block.operations):
            op = op.operation
            if op.name in _ROW_OPS and isinstance(op.operands[-1].type, ir.MemRefType) and _rows([op]):
                if group and _rows(group + [op]) is None:
                    self._fuse(group, between)
                    group, between = [], []
                group.append(op)
                continue
            if group and (op.name in MOVED_BEFORE or op.name in MOVED_AFTER):
                between.append(op)
                continue
            self._fuse(group, between)
            group, between = [], []
        self._fuse(group, between)

    def _fuse(self, group, between):
        generics = [op for op in group if op.name == "linalg.generic"]
        if len(generics) < 2 or not any("reduction" in str(op.attributes["iterator_types"]) for op in generics):
            return
        rows, extents = _rows(group)
        if math.prod(extents) < 2:
            return
        first = group[0]
        for op in between:
            if op.name in MOVED_BEFORE:
                op.move_before(first)
        size = max(math.prod(e or 64 for e in loops(op)[0][rows:]) for op in group)
        # Not inside another op's threads (fxc-fuse-attention's blocks).
        parallel = (self.parallel and math.prod(extents) * size >= _PARALLEL_ELEMENTS
                    and not any("fxc.sequential" in op.attributes for op in group))
        with first.location, ir.InsertionPoint(first):
            zero, one = index_constant(0), index_constant(1)
            bounds = [index_constant(e) for e in extents]
            if parallel:
                loop = scf.ParallelOp([], [zero] * rows, bounds, [one] * rows, [])
                body = loop.regions[0].blocks.append(*([ir.IndexType.get()] * rows))
                ivs = list(body.arguments)
                end = lambda: scf.ReduceOp([], 0)  # noqa: E731
            else:
                ivs, body, outer = [], None, None
                for bound in bounds:
                    inner = scf.ForOp(zero, bound, one, ip=ir.InsertionPoint(body) if body else None)
                    outer = outer or inner
                    ivs.append(inner.induction_variable)
                    if body is not None:
                        with ir.InsertionPoint(body):
                            scf.YieldOp([])
                    body = inner.body
                loop = outer
                end = lambda: scf.YieldOp([])  # noqa: E731
        with first.location, ir.InsertionPoint(body):
            for op in group:
                views = [a and _subview(a.value, a.results, ivs) for a in accesses(op)]
                clone = op.clone()
                for i, view in enumerate(views):
                    if view is not None:
                        clone.operands[i] = view
            end()
        for op in group:
            op.erase()
        last = loop.operation
        for op in between:
            if op.name in MOVED_AFTER:
                op.move_after(last)
                last = op
