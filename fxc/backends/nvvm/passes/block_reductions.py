"""fxc-nvvm-block-reductions: a long reduction as one block per output element.

After fxc-nvvm-interchange-reductions, a ``linalg.generic`` reducing its
last dim is one thread per output element walking the whole row.  For a row
of at least :data:`MIN_LENGTH` elements (softmax's max and sum, ``x.sum(-1)``
on wide rows) that leaves most of the GPU idle.  This pass rewrites such an
op into a ``gpu.launch`` of one block of :data:`THREADS` threads per output
element:

* each thread folds elements ``tid, tid + THREADS, ...`` of its row into a
  partial value, starting from the combiner's identity (the body's
  element-wise part is cloned, its ``linalg.index`` ops read the loop
  indices);
* ``gpu.all_reduce`` combines the block's partials (``convert-gpu-to-nvvm``
  lowers it to warp shuffles and a shared-memory exchange between warps);
* thread 0 combines the total with the output's initial value and stores it.

Only the order of combination changes (a tree instead of a left fold), as
any parallel reduction does.  Matched: one output, the reduction dims last
(several are linearized: a full reduction is one block), at least
:data:`MIN_LENGTH` reduced elements per output, static sizes,
projected-permutation maps, and a body whose yield
is ``comb(f(inputs), out)`` with ``comb`` one of :data:`COMBINERS` (sum,
max, min; NaN-propagating ``maximumf`` stays NaN-propagating) and ``out``
used nowhere else, on :data:`ELEMENT_TYPES`.  Anything else keeps the one-thread-per-output loops.
"""

from __future__ import annotations

import re

from torch_mlir import ir
from torch_mlir.dialects import arith, gpu, memref, scf

from fxc._mlir_compat import index_constant, ops_named
from fxc.compiler.passes import ModulePass, register

#: Rows shorter than this keep one thread per output element.
MIN_LENGTH = 256
#: Threads per block (a multiple of the warp size).
THREADS = 256

#: Types the all-reduce's shuffles take (nvvm.shfl.sync: 32 bits; 64-bit
#: integers are split in two).  f16/bf16 rows keep the sequential loop.
ELEMENT_TYPES = frozenset({"f32", "i32", "i64"})

#: arith combiner -> (gpu.all_reduce operation, identity).
COMBINERS = {
    "arith.addf": ("ADD", 0.0), "arith.addi": ("ADD", 0),
    "arith.maximumf": ("MAXIMUMF", float("-inf")), "arith.maxnumf": ("MAXNUMF", float("-inf")),
    "arith.minimumf": ("MINIMUMF", float("inf")), "arith.minnumf": ("MINNUMF", float("inf")),
    "arith.maxsi": ("MAXSI", "min"), "arith.minsi": ("MINSI", "max"),
}


def _map_dims(attr) -> list:
    """The dims of a map's results (None for a constant 0: a unit dim), or
    None when a result is anything else."""
    results = str(attr).split("->")[1].strip().rstrip(">").strip()[1:-1]
    dims = [r.strip() for r in results.split(",")] if results.strip() else []
    if not all(re.fullmatch(r"d\d+|0", d) for d in dims):
        return None
    return [None if d == "0" else int(d[1:]) for d in dims]


def _identity(t: ir.Type, value):
    if isinstance(value, float):
        return arith.ConstantOp(t, ir.FloatAttr.get(t, value)).result
    width = ir.IntegerType(t).width
    value = {"min": -(1 << (width - 1)), "max": (1 << (width - 1)) - 1}.get(value, value)
    return arith.ConstantOp(t, ir.IntegerAttr.get(t, value)).result



def _prod(values) -> int:
    out = 1
    for v in values:
        out *= v
    return out


def _bounds(operands, maps):
    """Loop dim -> static extent, from the operands' shapes; None if one is dynamic."""
    bounds = {}
    for v, dims in zip(operands, maps):
        shape = ir.MemRefType(v.type).shape if isinstance(v.type.maybe_downcast(), ir.MemRefType) else None
        if shape is None or any(s < 0 for s in shape):
            return None
        bounds.update((d, n) for d, n in zip(dims, shape) if d is not None)
    return bounds


def _combiner(body, n_ins):
    """``(comb, value)`` when the body yields ``comb(value, out)`` (out used
    once, no nested regions); None otherwise."""
    yielded, out_arg = list(body.operations)[-1].operands[0], body.arguments[n_ins]
    comb = getattr(yielded.owner, "operation", None)
    if comb is None or comb.name not in COMBINERS or len(list(out_arg.uses)) != 1:
        return None
    others = [v for v in comb.operands if v != out_arg]
    if len(others) != 1 or any(len(o.operation.regions) for o in body.operations):
        return None
    return comb, others[0]


class _Match:
    """A matched reduction: its operands, maps, extents and combiner."""

    def __init__(self, op, ins, out, maps, kinds, bounds, comb, value):
        self.op, self.ins, self.out, self.maps, self.kinds, self.bounds = op, ins, out, maps, kinds, bounds
        self.body, self.comb, self.value = op.regions[0].blocks[0], comb, value

    @staticmethod
    def of(op):
        """The match of ``op``, or None when it is not a long row reduction."""
        kinds = [str(a).split("<")[-1].rstrip(">") for a in ir.ArrayAttr(op.attributes["iterator_types"])]
        seg = list(ir.DenseI32ArrayAttr(op.attributes["operandSegmentSizes"]))
        ins, outs = list(op.operands)[:seg[0]], list(op.operands)[seg[0]:seg[0] + seg[1]]
        rank = kinds.count("parallel")
        if len(outs) != 1 or len(op.results) or kinds != ["parallel"] * rank + ["reduction"] * (len(kinds) - rank) \
                or rank == len(kinds):
            return None
        maps = [_map_dims(m) for m in ir.ArrayAttr(op.attributes["indexing_maps"])]
        if any(m is None for m in maps) or [d for d in maps[-1] if d is not None] != list(range(rank)):
            return None
        bounds = _bounds(ins + outs, maps)
        if bounds is None or len(bounds) != len(kinds) or _prod(bounds[d] for d in range(rank, len(kinds))) \
                < MIN_LENGTH or str(ir.MemRefType(outs[0].type).element_type) not in ELEMENT_TYPES:
            return None
        found = _combiner(op.regions[0].blocks[0], len(ins))
        return _Match(op, ins, outs[0], maps, kinds, bounds, *found) if found else None


@register
class BlockReductions(ModulePass):
    name = "fxc-nvvm-block-reductions"
    summary = "Long row reductions as one GPU block per row with gpu.all_reduce"

    def run(self, module_op):
        for op in ops_named(module_op, "linalg.generic"):
            m = _Match.of(op)
            if m is not None:
                self._rewrite(m)

    def _rewrite(self, m: _Match) -> None:
        op, rank, n = m.op, m.kinds.count("parallel"), len(m.kinds)
        rows, length = _prod(m.bounds[d] for d in range(rank)), _prod(m.bounds[d] for d in range(rank, n))
        elem = ir.MemRefType(m.out.type).element_type
        kind, identity = COMBINERS[m.comb.name]
        with ir.InsertionPoint(op), op.location:
            one = index_constant(1)
            launch = gpu.LaunchOp((index_constant(rows), one, one), (index_constant(THREADS), one, one))
            region = launch.regions[0]
            block = region.blocks[0] if len(region.blocks) else region.blocks.append(*([ir.IndexType.get()] * 12))
        with ir.InsertionPoint(block), op.location:
            row, tid, zero = block.arguments[0], block.arguments[3], index_constant(0)
            kept = []  # the row's index in each kept dim, innermost last
            for d in reversed(range(rank)):
                size = index_constant(m.bounds[d])
                kept.insert(0, arith.RemUIOp(row, size).result)
                row = arith.DivUIOp(row, size).result
            init = _identity(elem, identity)
            loop = scf.ForOp(tid, index_constant(length), index_constant(THREADS), [init])
            with ir.InsertionPoint(loop.body):
                iv, acc = loop.induction_variable, loop.inner_iter_args[0]
                reduced = []  # the reduced dims' indices of the flat iv, innermost last
                for d in reversed(range(rank + 1, n)):
                    reduced.insert(0, arith.RemUIOp(iv, index_constant(m.bounds[d])).result)
                    iv = arith.DivUIOp(iv, index_constant(m.bounds[d])).result
                index = kept + [iv] + reduced
                env = {}
                for arg, v, dims in zip(m.body.arguments, m.ins, m.maps):
                    env[arg] = memref.LoadOp(v, [zero if d is None else index[d] for d in dims]).result
                for body_op in list(m.body.operations)[:-1]:
                    body_op = body_op.operation
                    if body_op == m.comb:
                        continue
                    if body_op.name == "linalg.index":
                        env[body_op.results[0]] = index[ir.IntegerAttr(body_op.attributes["dim"]).value]
                        continue
                    clone = body_op.clone()
                    for i, v in enumerate(clone.operands):
                        if v in env:
                            clone.operands[i] = env[v]
                    for old, new in zip(body_op.results, clone.results):
                        env[old] = new
                folded = self._combine(m.comb, env.get(m.value, m.value), acc)
                scf.YieldOp([folded])
            total = gpu.AllReduceOp(loop.results[0], op=ir.Attribute.parse(
                f"#gpu<all_reduce_op {kind.lower()}>"), uniform=True).result
            first = arith.CmpIOp(arith.CmpIPredicate.eq, tid, zero).result
            branch = scf.IfOp(first)
            with ir.InsertionPoint(branch.then_block):
                at = [zero if d is None else kept[d] for d in m.maps[-1]]
                old = memref.LoadOp(m.out, at).result
                memref.StoreOp(self._combine(m.comb, total, old), m.out, at)
                scf.YieldOp([])
            gpu.TerminatorOp()
        op.erase()

    @staticmethod
    def _combine(comb, a, b):
        """``comb``'s op on (a, b), with its attributes (fastmath flags)."""
        return ir.Operation.create(comb.name, results=[a.type], operands=[a, b],
                                   attributes={k: comb.attributes[k] for k in list(comb.attributes)}).results[0]
