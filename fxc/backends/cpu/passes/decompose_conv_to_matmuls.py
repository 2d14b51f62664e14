"""fxc-decompose-conv-to-matmuls: a 2-d convolution on buffers becomes one
``linalg.matmul`` per output row and filter tap, on views (no im2col copy).

For ``linalg.conv_2d_nchw_fchw`` (any strides and dilations), output row
``oh`` of image ``n`` accumulates, for every tap ``(kh, kw)``::

    O[n, :, oh, :]  +=  W[:, :, kh, kw]  @  I[n, :, oh*sh + kh*dh, kw*dw :: sw]
       [F, OW]           [F, C]              [C, OW]

a ``[F, C] x [C, OW]`` matmul whose operands are strided views of the
filter, the input and the output.  ``fxc-convert-linalg-to-vector`` then
tiles and vectorizes each like any matmul (filter values broadcast, input
rows loaded as vectors along ``OW``), so a convolution runs at matmul speed
instead of in the scalar loops of ``convert-linalg-to-loops``.  The
``(n, oh)`` loop is an ``scf.parallel`` (OpenMP threads when the backend
runs them), the taps ``scf.for`` loops inside it; the matmuls carry
``fxc.sequential`` (their own tiles are not another parallel loop).

Only static shapes with identity layouts and float elements are rewritten;
other convolutions keep their loops.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import arith, linalg, memref, scf

from fxc._mlir_compat import index_constant, walk
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
    layout = ir.StridedLayoutAttr.get(_DYNAMIC, view_strides)
    result = ir.MemRefType.get(shape, ir.MemRefType(source.type).element_type, layout)
    return memref.SubViewOp(result, source, dyn, [], [], st, sizes, strides).result



@register
class DecomposeConvToMatmuls(ModulePass):
    name = "fxc-decompose-conv-to-matmuls"
    summary = "Rewrite static NCHW 2-d convolutions on buffers into per-row, per-tap matmuls on views"

    def run(self, module_op):
        todo = []
        walk(module_op, lambda op: todo.append(op) if op.name == "linalg.conv_2d_nchw_fchw" else None)
        for op in todo:
            operands = list(op.operands)
            if len(operands) == 3 and all(_static_identity(v.type) for v in operands):
                with op.location, ir.InsertionPoint(op):
                    self._rewrite(op, *operands)
                op.erase()

    @staticmethod
    def _rewrite(op, image, weight, out):
        n_, c_, h_, w_ = ir.MemRefType(image.type).shape
        f_, _, kh_, kw_ = ir.MemRefType(weight.type).shape
        _, _, oh_, ow_ = ir.MemRefType(out.type).shape
        sh, sw = _pair(op, "strides")
        dh, dw = _pair(op, "dilations")
        zero, one = index_constant(0), index_constant(1)
        rows = scf.ParallelOp([], [zero, zero], [index_constant(n_), index_constant(oh_)], [one, one], [])
        index = ir.IndexType.get()
        body = rows.regions[0].blocks.append(index, index)
        with ir.InsertionPoint(body):
            n, oh = body.arguments
            out_row = _view(out, [n, 0, oh, 0], [1, f_, 1, ow_], [1, 1, 1, 1], [f_, ow_], [oh_ * ow_, 1])
            taps_h = scf.ForOp(zero, index_constant(kh_), one)
            with ir.InsertionPoint(taps_h.body):
                kh = taps_h.induction_variable
                taps_w = scf.ForOp(zero, index_constant(kw_), one)
                with ir.InsertionPoint(taps_w.body):
                    kw = taps_w.induction_variable
                    ih = arith.AddIOp(arith.MulIOp(oh, index_constant(sh)).result,
                                      arith.MulIOp(kh, index_constant(dh)).result).result
                    iw = arith.MulIOp(kw, index_constant(dw)).result
                    filt = _view(weight, [0, 0, kh, kw], [f_, c_, 1, 1], [1, 1, 1, 1], [f_, c_],
                                 [c_ * kh_ * kw_, kh_ * kw_])
                    row = _view(image, [n, 0, ih, iw], [1, c_, 1, ow_], [1, 1, 1, sw], [c_, ow_], [h_ * w_, sw])
                    mm = linalg.matmul(filt, row, outs=[out_row])
                    # Already inside the parallel row loop: its tiles run sequentially.
                    (mm.owner if isinstance(mm, ir.Value) else mm).attributes["fxc.sequential"] = ir.UnitAttr.get()
                    scf.YieldOp([])
                scf.YieldOp([])
            scf.ReduceOp([], 0)
