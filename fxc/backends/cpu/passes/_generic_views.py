"""Views a generic's operands are rewritten through before fxc-convert-
linalg-to-vector tiles it (a keepdim reduction's output without its unit
dimension, the two innermost loops of an elementwise op as one), and the
shape queries the pass and they share.  (A module of the pass's; not a
pass.)"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import memref

from fxc._mlir_compat import index_constant


def operand_shapes(op) -> list | None:
    """The operands' shapes, None for a dynamic size; None if an operand is
    not a memref."""
    shapes = []
    for v in op.operands:
        t = v.type
        if not isinstance(t, ir.MemRefType):
            return None
        t = ir.MemRefType(t)
        shapes.append([None if t.is_dynamic_dim(i) else d for i, d in enumerate(t.shape)])
    return shapes


def bit_width(t) -> int | None:
    for cls, w in ((ir.F32Type, 32), (ir.F64Type, 64), (ir.F16Type, 16), (ir.BF16Type, 16)):
        if isinstance(t, cls):
            return w
    if isinstance(t, ir.IntegerType):
        return ir.IntegerType(t).width
    return None


def loop_extent(maps, shapes, dim: int) -> int:
    for mp, shape in zip(maps, shapes):
        for i, r in enumerate(mp.results):
            if isinstance(r, ir.AffineDimExpr) and ir.AffineDimExpr(r).position == dim:
                return shape[i]
    return 1


def collapse_inner_loops(op, vector_bits: int) -> bool:
    """An elementwise generic whose innermost extent whole wide vectors do
    not divide (an NCHW activation's 56-wide rows: 8-lane vectors on
    AVX-512) runs its two innermost loops as one, where every operand
    either reads both, as its two innermost, contiguous dimensions, or
    neither (a per-channel operand): ``[C, 56, 56]`` becomes ``[C, 3136]``.
    Whether it did (then it may again)."""
    if any(o.operation.name == "linalg.index" for o in op.regions[0].blocks[0].operations):
        return False
    kinds = [str(a) for a in ir.ArrayAttr(op.attributes["iterator_types"])]
    rank = len(kinds)
    if rank < 2 or not all("parallel" in k for k in kinds):
        return False
    maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
    operands = list(op.operands)
    shapes = operand_shapes(op)
    if shapes is None:
        return False
    inner, outer = rank - 1, rank - 2
    widths = [bit_width(v.type.element_type) for v in operands]
    if None in widths:
        return False
    lanes = max(vector_bits // max(widths), 1)
    extent = loop_extent(maps, shapes, inner)
    if extent is None or extent % (4 * lanes) == 0 or loop_extent(maps, shapes, outer) is None:
        return False
    plans = []
    for value, mp in zip(operands, maps):
        dims = [r.position if isinstance(r, ir.AffineDimExpr) else None for r in mp.results]
        if inner not in dims and outer not in dims:
            plans.append(None)
            continue
        t = ir.MemRefType(value.type)
        if dims[-2:] != [outer, inner] or len(dims) < 2:
            return False
        strides, _ = t.get_strides_and_offset()
        if strides[-1] != 1 or strides[-2] != t.shape[-1] or t.is_dynamic_dim(t.rank - 1):
            return False
        plans.append(t)
    with op.location, ir.InsertionPoint(op):
        i64 = ir.IntegerType.get_signless(64)
        for i, t in enumerate(plans):
            if t is None:
                continue
            strides, offset = t.get_strides_and_offset()
            shape = t.shape[:-2] + [t.shape[-2] * t.shape[-1]]
            identity = t.layout == ir.AffineMapAttr.get(ir.AffineMap.get_identity(t.rank))
            layout = None if identity else ir.StridedLayoutAttr.get(offset, strides[:-2] + [1])
            groups = [[j] for j in range(t.rank - 2)] + [[t.rank - 2, t.rank - 1]]
            attr = ir.ArrayAttr.get([ir.ArrayAttr.get([ir.IntegerAttr.get(i64, j) for j in g]) for g in groups])
            result = ir.MemRefType.get(shape, t.element_type, layout, t.memory_space)
            op.operands[i] = memref.CollapseShapeOp(result, operands[i], attr).result
    new_maps = [ir.AffineMap.get(rank - 1, 0, [r for r in mp.results
                                               if not (isinstance(r, ir.AffineDimExpr) and r.position == inner)])
                for mp in maps]
    op.attributes["indexing_maps"] = ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in new_maps])
    op.attributes["iterator_types"] = ir.ArrayAttr.get(
        [ir.Attribute.parse("#linalg.iterator_type<parallel>")] * (rank - 1))
    return True


def drop_unit_results(op) -> None:
    """A reduction's output indexed by the constant 0 (a keepdim sum's
    ``(d0, d1, d2, 0)``: torch-mlir's ``sum(dim, keepdim=True)``) is
    written through a rank-reduced view without that unit dimension
    instead.  The vectorizer otherwise reads its accumulator as a
    ``vector<1x1x1x1>`` and writes a ``vector<1x1x1>``: the pair is not
    carried through the reduction loop (``fxc-convert-linalg-to-vector``'s ``_hoist_accumulators``), and each
    tile ends in an ordered horizontal sum, a chain of scalar adds."""
    if "reduction" not in str(op.attributes["iterator_types"]):
        return
    maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
    outs = list(ir.DenseI32ArrayAttr(op.attributes["operandSegmentSizes"]))[1]
    operands = list(op.operands)
    changed = False
    for i in range(len(operands) - outs, len(operands)):
        value, mp = operands[i], maps[i]
        if not isinstance(value.type, ir.MemRefType):
            continue
        t = ir.MemRefType(value.type)
        keep = [j for j, r in enumerate(mp.results)
                if not (isinstance(r, ir.AffineConstantExpr) and t.shape[j] == 1)]
        if len(keep) == t.rank:
            continue
        strides, offset = t.get_strides_and_offset()
        layout = ir.StridedLayoutAttr.get(offset, [strides[j] for j in keep])
        view = ir.MemRefType.get([t.shape[j] for j in keep], t.element_type, layout, t.memory_space)
        with op.location, ir.InsertionPoint(op):
            sizes = [memref.DimOp(value, index_constant(j)).result for j in range(t.rank) if t.is_dynamic_dim(j)]
            op.operands[i] = memref.SubViewOp(view, value, [], sizes, [], [0] * t.rank, t.shape, [1] * t.rank).result
        maps[i] = ir.AffineMap.get(mp.n_dims, mp.n_symbols, [mp.results[j] for j in keep])
        changed = True
    if changed:
        op.attributes["indexing_maps"] = ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in maps])
