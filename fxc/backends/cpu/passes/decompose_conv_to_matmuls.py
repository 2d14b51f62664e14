"""fxc-decompose-conv-to-matmuls: a 2-d convolution on buffers becomes
matmuls on views of its operands (no im2col copy).

Stride 1 (any dilation), when whole input rows waste at most a quarter of
the work (``W <= 1.25 * OW``): output position ``j = oh * W + ow`` of a
row-major ``[OH, W]`` plane reads input position ``j + kh*dh*W + kw*dw``, so
each tap ``(kh, kw)`` of image ``n`` is one matmul::

    ACC[:, 0:N]  +=  W[:, :, kh, kw]  @  I[n] viewed [C, H*W] at offset kh*dh*W + kw*dw
      [F, N]          [F, C]             [C, N],   N = (OH - 1) * W + OW

(positions ``ow >= OW`` of each row are computed and dropped; the last read
is the plane's last element).  ``ACC`` is a ``[F, OH, W]`` buffer: the
output is copied in first (or, where it holds a constant, as the zeros
torch-mlir starts a convolution without bias from, the buffer is filled
with it, and the copy that put them in the output goes) and back after the
taps; a 1-wide filter
(``W == OW``) accumulates into the output directly.  The positions are
cut into blocks of 128, one ``scf.parallel`` iteration each (threads), and
a block runs every tap in turn, its ``[F, 128]`` accumulator staying in
cache; each matmul is wide enough for full-width register tiles.  (Blocks
of 128 rather than 256 split the positions more evenly over the threads:
a 56 x 56 image is 26 blocks, not 13.)

A block's taps read positions ``[start, start + block + halo)`` of every
channel (``halo = (KH-1)*dh*W + (KW-1)*dw``): they are copied once into a
window, ``[C, block + halo]`` with rows an odd number of cache lines apart,
and the taps read views of it.  The image's own rows (a plane apart, a
page or more) would cost a TLB entry and a line per channel at every step
of the reduction, and share cache sets; the copy is ``1 / (F * taps)`` of
the work.  (A 1 x 1 filter reads each position once: no window.)

The filter is copied tap-major first (``[KH, KW, F, C]``, ``W[kh, kw]``
above is then contiguous): a register tile broadcasts a filter row's
consecutive channels from one cache line, not from one line per two
channels (a 1 x 1 filter is viewed so, no copy).

Otherwise, output row ``oh`` of image ``n`` accumulates, for every tap::

    O[n, :, oh, :]  +=  W[:, :, kh, kw]  @  I[n, :, oh*sh + kh*dh, kw*dw :: sw]
       [F, OW]           [F, C]              [C, OW]

a ``[F, C] x [C, OW]`` matmul on strided views.  The ``(n, oh)`` loop is an
``scf.parallel`` (OpenMP threads when the backend runs them), the taps
``scf.for`` loops inside it; the matmuls carry ``fxc.sequential`` (their own
tiles are not another parallel loop).

``fxc-convert-linalg-to-vector`` then tiles and vectorizes each matmul.
Only static shapes with identity layouts and float elements are rewritten;
other convolutions keep their loops.
"""

from __future__ import annotations

import math

from torch_mlir import ir
from torch_mlir.dialects import arith, linalg, memref, scf

from fxc._mlir_compat import index_constant, nested_ops
from fxc.backends.cpu.passes.fuse_rows import root
from fxc.compiler.passes import ModulePass, register

_DYNAMIC = ir.ShapedType.get_dynamic_stride_or_offset() if hasattr(ir.ShapedType, "get_dynamic_stride_or_offset") \
    else -9223372036854775808


def _static_identity(t) -> bool:
    t = ir.MemRefType(t)
    identity = ir.AffineMapAttr.get(ir.AffineMap.get_identity(t.rank))
    return (t.has_static_shape and t.layout == identity
            and isinstance(t.element_type, (ir.F32Type, ir.F64Type)))


def _pair(op, name):
    return [int(v) for v in ir.DenseIntElementsAttr(op.attributes[name])] if name in op.attributes else [1, 1]


def _view(source, offsets, sizes, strides, shape, view_strides):
    """A rank-reduced view of ``source`` (offsets: ints or index values)."""
    st, dyn = [], []
    for o in offsets:
        if isinstance(o, int):
            st.append(o)
        else:
            st.append(_DYNAMIC)
            dyn.append(o)
    offset = _DYNAMIC
    if not dyn:  # static offsets of an identity-layout source: a static offset
        shape_ = ir.MemRefType(source.type).shape
        offset = sum(o * math.prod(shape_[i + 1:]) for i, o in enumerate(st))
    layout = ir.StridedLayoutAttr.get(offset, view_strides)
    result = ir.MemRefType.get(shape, ir.MemRefType(source.type).element_type, layout)
    return memref.SubViewOp(result, source, dyn, [], [], st, sizes, strides).result



#: Positions per block of a whole-rows convolution (a multiple of every
#: register tile width).
_BLOCK = 128
#: Stride-1 convolutions whose input rows are at most this much wider than
#: their output rows are computed over whole input rows (_rewrite_flat).
_FLAT_WASTE = 1.25


def _flat(source, sizes, strides, n, image_elements, *shifts):
    """A ``[rows, positions]`` view of ``source`` (identity layout) at
    offset ``n * image_elements + sum(shifts)`` (index values; ``n`` None
    for image 0)."""
    offset = None
    if n is not None:
        offset = arith.MulIOp(n, index_constant(image_elements)).result
    for shift in shifts:
        offset = shift if offset is None else arith.AddIOp(offset, shift).result
    element = ir.MemRefType(source.type).element_type
    layout = ir.StridedLayoutAttr.get(_DYNAMIC if offset is not None else 0, strides)
    result = ir.MemRefType.get(sizes, element, layout)
    return memref.ReinterpretCastOp(result, source, [offset] if offset is not None else [], [], [],
                                    [_DYNAMIC if offset is not None else 0], sizes, strides).result


def _window_row(width: int, element) -> int:
    """The row stride (elements) of a block's window of ``width``
    positions: whole 64-byte lines, an odd number of them.  The taps'
    matmuls read the window a row per step of their reduction; rows a
    power-of-two multiple of lines apart would share a few of L1's sets
    (1 KiB apart: 64 rows in 4 sets of 8 ways), rows an odd number apart
    use them all."""
    per_line = 64 // (ir.FloatType(element).width // 8)
    lines = -(-width // per_line)
    return (lines + 1 - lines % 2) * per_line


def _tap_major(weight):
    """The filter ``[F, C, KH, KW]`` copied tap-major, ``[KH, KW, F, C]``:
    each tap's ``[F, C]`` matrix contiguous (a register tile broadcasts
    consecutive channels of a row from one cache line, not one per 2)."""
    f_, c_, kh_, kw_ = ir.MemRefType(weight.type).shape
    element = ir.MemRefType(weight.type).element_type
    if kh_ == kw_ == 1:  # one tap: the filter is [F, C] already (a view, no copy)
        i64 = ir.IntegerType.get_signless(64)
        groups = lambda gs: ir.ArrayAttr.get([ir.ArrayAttr.get([ir.IntegerAttr.get(i64, i) for i in g]) for g in gs])
        flat = memref.CollapseShapeOp(ir.MemRefType.get([f_, c_], element), weight, groups([[0], [1, 2, 3]])).result
        return memref.ExpandShapeOp(ir.MemRefType.get([1, 1, f_, c_], element), flat, groups([[0, 1, 2], [3]]),
                                    [], [1, 1, f_, c_]).result, False
    packed = memref.AllocOp(ir.MemRefType.get([kh_, kw_, f_, c_], element), [], [], alignment=64).result
    d = [ir.AffineDimExpr.get(i) for i in range(4)]
    read = ir.AffineMapAttr.get(ir.AffineMap.get(4, 0, [d[2], d[3], d[0], d[1]]))
    write = ir.AffineMapAttr.get(ir.AffineMap.get_identity(4))
    parallel = ir.Attribute.parse("#linalg.iterator_type<parallel>")
    op = linalg.GenericOp([], [weight], [packed], ir.ArrayAttr.get([read, write]), ir.ArrayAttr.get([parallel] * 4))
    block = op.regions[0].blocks.append(element, element)
    with ir.InsertionPoint(block):
        linalg.YieldOp([block.arguments[0]])
    return packed, True


def _touches(op, buf) -> bool:
    """Whether ``op`` (or an op nested in it) has an operand that is ``buf``
    or a view of it."""
    return any(root(v) == buf for o in [op, *nested_ops(op)] for v in o.operands
               if isinstance(v.type, ir.MemRefType))


def _writes(op, value) -> bool:
    """Whether ``op`` writes exactly ``value`` as a whole (a fill of it, a
    copy into it)."""
    if op.name == "linalg.fill":
        return op.operands[-1] == value
    return op.name == "memref.copy" and op.operands[1] == value


def _constant_before(op, value):
    """``(c, writer)`` if the last op before ``op`` (in its block) that
    touches ``value``'s buffer sets all of ``value`` to the constant ``c``:
    a fill, or a copy of a buffer whose last toucher before it is a fill;
    else None."""
    buf = root(value)
    block_ops = [o.operation for o in op.operation.block.operations]
    i = next(j for j, o in enumerate(block_ops) if o == op.operation)
    for o in reversed(block_ops[:i]):
        if not _touches(o, buf):
            continue
        if not _writes(o, value):
            return None
        source = o.operands[0]
        if o.name == "memref.copy":
            found = _constant_before(o, source) if root(source) == source else None
            return (found[0], o) if found else None
        if isinstance(source.owner, ir.Block) or source.owner.operation.name != "arith.constant":
            return None
        return ir.FloatAttr(source.owner.operation.attributes["value"]).value, o
    return None


def _for_each_tap(weight, body) -> None:
    """``body(kh, kw, filt)`` for every filter tap, in two ``scf.for``
    loops; ``filt`` is the tap's ``[F, C]`` view of the filter (``weight``
    tap-major, see ``_tap_major``)."""
    kh_, kw_, f_, c_ = ir.MemRefType(weight.type).shape
    zero, one = index_constant(0), index_constant(1)
    taps_h = scf.ForOp(zero, index_constant(kh_), one)
    with ir.InsertionPoint(taps_h.body):
        taps_w = scf.ForOp(zero, index_constant(kw_), one)
        with ir.InsertionPoint(taps_w.body):
            kh, kw = taps_h.induction_variable, taps_w.induction_variable
            filt = _view(weight, [kh, kw, 0, 0], [1, 1, f_, c_], [1, 1, 1, 1], [f_, c_], [c_, 1])
            body(kh, kw, filt)
            scf.YieldOp([])
        scf.YieldOp([])


def _matmul(lhs, rhs, out, *, sequential: bool) -> None:
    mm = linalg.matmul(lhs, rhs, outs=[out])
    if sequential:  # inside a parallel loop: the matmul's own tiles run on its thread
        (mm.owner if isinstance(mm, ir.Value) else mm).attributes["fxc.sequential"] = ir.UnitAttr.get()


def _copy(source, dest, sequential=False):
    """``dest[...] = source[...]`` as an elementwise generic (vectorized
    and threaded like any; ``linalg.copy`` would stay scalar loops)."""
    rank = ir.MemRefType(source.type).rank
    identity = ir.AffineMapAttr.get(ir.AffineMap.get_identity(rank))
    parallel = ir.Attribute.parse("#linalg.iterator_type<parallel>")
    op = linalg.GenericOp([], [source], [dest], ir.ArrayAttr.get([identity, identity]),
                          ir.ArrayAttr.get([parallel] * rank))
    element = ir.MemRefType(source.type).element_type
    block = op.regions[0].blocks.append(element, element)
    with ir.InsertionPoint(block):
        linalg.YieldOp([block.arguments[0]])
    if sequential:
        op.attributes["fxc.sequential"] = ir.UnitAttr.get()


@register
class DecomposeConvToMatmuls(ModulePass):
    name = "fxc-decompose-conv-to-matmuls"
    summary = "Rewrite static NCHW 2-d convolutions on buffers into per-tap matmuls on views"

    def run(self, module_op):
        for op in nested_ops(module_op, "linalg.conv_2d_nchw_fchw"):
            operands = list(op.operands)
            if len(operands) == 3 and all(_static_identity(v.type) for v in operands):
                with op.location, ir.InsertionPoint(op):
                    image, weight, out = operands
                    packed, copied = _tap_major(weight)
                    self._rewrite(op, image, packed, out)
                    if copied:
                        memref.DeallocOp(packed)
                op.erase()

    @classmethod
    def _rewrite(cls, op, image, weight, out):
        n_, c_, h_, w_ = ir.MemRefType(image.type).shape
        kh_, kw_, f_, _ = ir.MemRefType(weight.type).shape
        _, _, oh_, ow_ = ir.MemRefType(out.type).shape
        sh, sw = _pair(op, "strides")
        dh, dw = _pair(op, "dilations")
        if sh == sw == 1 and w_ <= _FLAT_WASTE * ow_:
            cls._rewrite_flat(image, weight, out, dh, dw, _constant_before(op, out) if w_ != ow_ else None)
            return
        zero, one = index_constant(0), index_constant(1)
        rows = scf.ParallelOp([], [zero, zero], [index_constant(n_), index_constant(oh_)], [one, one], [])
        index = ir.IndexType.get()
        body = rows.regions[0].blocks.append(index, index)
        with ir.InsertionPoint(body):
            n, oh = body.arguments
            out_row = _view(out, [n, 0, oh, 0], [1, f_, 1, ow_], [1, 1, 1, 1], [f_, ow_], [oh_ * ow_, 1])
            def tap(kh, kw, filt):
                ih = arith.AddIOp(arith.MulIOp(oh, index_constant(sh)).result,
                                  arith.MulIOp(kh, index_constant(dh)).result).result
                iw = arith.MulIOp(kw, index_constant(dw)).result
                row = _view(image, [n, 0, ih, iw], [1, c_, 1, ow_], [1, 1, 1, sw], [c_, ow_], [h_ * w_, sw])
                # Already inside the parallel row loop: its tiles run sequentially.
                _matmul(filt, row, out_row, sequential=True)

            _for_each_tap(weight, tap)
            scf.ReduceOp([], 0)

    @staticmethod
    def _rewrite_flat(image, weight, out, dh, dw, init=None):
        """Stride 1: output position ``j = oh * W + ow`` of a row-major
        ``[OH, W]`` plane reads input position ``j + kh*dh*W + kw*dw``, so
        each tap is one ``[F, C] x [C, N]`` matmul over
        ``N = (OH - 1) * W + OW`` contiguous positions (which never read
        past the image's plane).  The ``W - OW`` positions past each row's
        end are computed and dropped: the matmuls accumulate into a
        ``[F, OH, W]`` buffer (its valid columns copied from the output
        first, the others zeroed) that is copied back afterwards."""
        n_, c_, h_, w_ = ir.MemRefType(image.type).shape
        kh_, kw_, f_, _ = ir.MemRefType(weight.type).shape
        _, _, oh_, ow_ = ir.MemRefType(out.type).shape
        element = ir.MemRefType(out.type).element_type
        span = (oh_ - 1) * w_ + ow_
        # A block's window: the positions its taps read, [C, block + halo],
        # rows an odd number of cache lines apart (see _window_row).
        taps_ = kh_ * kw_
        halo = (kh_ - 1) * dh * w_ + (kw_ - 1) * dw
        row_ = _window_row(min(_BLOCK, span) + halo, element)
        zero, one = index_constant(0), index_constant(1)
        direct = w_ == ow_  # a 1-wide filter: the output rows are the positions
        acc = None if direct else memref.AllocOp(ir.MemRefType.get([f_, oh_, w_], element), [], []).result
        images = scf.ForOp(zero, index_constant(n_), one)
        with ir.InsertionPoint(images.body):
            n = images.induction_variable
            if not direct:
                out_n = _view(out, [n, 0, 0, 0], [1, f_, oh_, ow_], [1, 1, 1, 1], [f_, oh_, ow_], [oh_ * ow_, ow_, 1])
                valid = _view(acc, [0, 0, 0], [f_, oh_, ow_], [1, 1, 1], [f_, oh_, ow_], [oh_ * w_, w_, 1])
                if init is None:
                    past = _view(acc, [0, 0, ow_], [f_, oh_, w_ - ow_], [1, 1, 1], [f_, oh_, w_ - ow_],
                                 [oh_ * w_, w_, 1])
                    linalg.fill(arith.ConstantOp(element, 0.0).result, outs=[past])
                    _copy(out_n, valid)
                else:  # the output holds a constant: the accumulator starts from it
                    linalg.fill(arith.ConstantOp(element, init[0]).result, outs=[acc])

            def taps(start, width, sequential):
                """Every tap's matmul over positions [start, start + width)."""
                flat_out = (_flat(out, [f_, width], [oh_ * ow_, 1], n, f_ * oh_ * ow_, start) if direct
                            else _flat(acc, [f_, width], [oh_ * w_, 1], None, 0, start))
                if taps_ == 1:  # one tap reads each position once: no window to copy
                    source, row, base = image, h_ * w_, [n, c_ * h_ * w_, start]
                else:
                    window = memref.AllocOp(ir.MemRefType.get([c_, row_], element), [], [], alignment=64).result
                    _copy(_flat(image, [c_, width + halo], [h_ * w_, 1], n, c_ * h_ * w_, start),
                          _flat(window, [c_, width + halo], [row_, 1], None, 0), sequential=True)
                    source, row, base = window, row_, [None, 0]

                def tap(kh, kw, filt):
                    shift = arith.AddIOp(arith.MulIOp(kh, index_constant(dh * w_)).result,
                                         arith.MulIOp(kw, index_constant(dw)).result).result
                    positions = _flat(source, [c_, width], [row, 1], *base, shift)
                    _matmul(filt, positions, flat_out, sequential=sequential)

                _for_each_tap(weight, tap)
                if taps_ != 1:
                    memref.DeallocOp(window)

            # Blocks of positions on threads, every tap inside a block: its
            # [F, block] accumulator stays in cache across the taps, one
            # fork per image.  The last block, narrower, is one more
            # iteration of the loop; a single block's matmuls thread their
            # own tiles.
            blocks, tail = divmod(span, _BLOCK)
            sequential = blocks + (tail > 0) >= 2
            loop = scf.ParallelOp([], [zero], [index_constant(blocks + (tail > 0))], [one], [])
            body = loop.regions[0].blocks.append(ir.IndexType.get())
            with ir.InsertionPoint(body):
                block = body.arguments[0]
                start = arith.MulIOp(block, index_constant(_BLOCK)).result
                if tail and blocks:
                    whole = arith.CmpIOp(arith.CmpIPredicate.ult, block, index_constant(blocks)).result
                    branch = scf.IfOp(whole, [], has_else=True)
                    with ir.InsertionPoint(branch.then_block):
                        taps(start, _BLOCK, sequential)
                        scf.YieldOp([])
                    with ir.InsertionPoint(branch.else_block):
                        taps(start, tail, sequential)
                        scf.YieldOp([])
                else:
                    taps(start, _BLOCK if blocks else tail, sequential)
                scf.ReduceOp([], 0)
            if not direct:
                _copy(valid, out_n)
            scf.YieldOp([])
        if acc is not None:
            memref.DeallocOp(acc)
        if init is not None and init[1].name == "memref.copy":
            init[1].erase()  # what it wrote is overwritten whole, unread
