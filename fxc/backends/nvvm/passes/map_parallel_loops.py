"""fxc-nvvm-map-parallel-loops: each top-level ``scf.parallel`` as a flat 1-D grid.

``scf-parallel-loop-tiling`` takes one list of tile sizes for every loop, so
``(1, 256)`` gave a 1-D loop (an elementwise op on a vector, ``x.sum(0)``'s
kept dim) one thread per block, and a 2-D loop's column tiles the grid's y
dimension, limited to 65535 blocks.  This pass maps every static
``scf.parallel`` at the top of a public function to a ``gpu.launch`` of its
own: the iteration space is linearized, innermost dim fastest (consecutive
threads touch consecutive elements), ``ceil(total / threads)`` blocks of
``threads`` threads (fewer for a smaller space) along x, each thread
delinearizing its flat index into the loop's induction variables under a
``flat < total`` guard.  A space of more than 2^31 - 1 blocks is a located
error.  Loops with dynamic bounds or reductions are left to the upstream
mapping after it.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import arith, gpu, scf

from fxc._mlir_compat import index_constant
from fxc.compiler.passes import ModulePass, funcs_with_body, register

MAX_GRID_X = (1 << 31) - 1


def _const(v: ir.Value):
    owner = v.owner
    if not hasattr(owner, "name") or owner.name != "arith.constant":
        return None
    try:
        return ir.IntegerAttr(owner.attributes["value"]).value
    except ValueError:
        return None



@register
class MapParallelLoops(ModulePass):
    name = "fxc-nvvm-map-parallel-loops"
    summary = "Map static top-level scf.parallel loops to flat 1-D gpu.launch grids"

    def __init__(self, threads: str = "256"):
        self.threads = int(threads)

    def run(self, module_op):
        for fn in funcs_with_body(module_op):
            for op in list(fn.regions[0].blocks[0].operations):
                if op.operation.name == "scf.parallel":
                    self._map(op.operation)

    def _map(self, loop) -> None:
        n, _, _, inits = ir.DenseI32ArrayAttr(loop.attributes["operandSegmentSizes"])
        operands = [_const(v) for v in loop.operands]
        if inits or any(c is None for c in operands):
            return
        lbs, ubs, steps = operands[:n], operands[n:2 * n], operands[2 * n:3 * n]
        counts = [max(0, -(-(ub - lb) // step)) for lb, ub, step in zip(lbs, ubs, steps)]
        total = 1
        for c in counts:
            total *= c
        if total == 0:
            loop.erase()
            return
        threads = min(self.threads, total)
        blocks = -(-total // threads)
        if blocks > MAX_GRID_X:
            raise self.fail(loop, f"fxc's NVVM backend cannot launch {total} threads in one kernel")
        with ir.InsertionPoint(loop), loop.location:
            one = index_constant(1)
            launch = gpu.LaunchOp((index_constant(blocks), one, one), (index_constant(threads), one, one))
            region = launch.regions[0]
            block = region.blocks[0] if len(region.blocks) else region.blocks.append(*([ir.IndexType.get()] * 12))
        with ir.InsertionPoint(block), loop.location:
            flat = arith.AddIOp(arith.MulIOp(block.arguments[0], index_constant(threads)).result,
                                block.arguments[3]).result
            inside = arith.CmpIOp(arith.CmpIPredicate.ult, flat, index_constant(total)).result
            guard = scf.IfOp(inside)
            gpu.TerminatorOp()
        with ir.InsertionPoint(guard.then_block), loop.location:
            ivs, rest = [], flat
            for d in reversed(range(n)):
                idx = arith.RemUIOp(rest, index_constant(counts[d])).result if d else rest
                if d:
                    rest = arith.DivUIOp(rest, index_constant(counts[d])).result
                if steps[d] != 1:
                    idx = arith.MulIOp(idx, index_constant(steps[d])).result
                if lbs[d] != 0:
                    idx = arith.AddIOp(idx, index_constant(lbs[d])).result
                ivs.insert(0, idx)
            end = scf.YieldOp([])
        body = loop.regions[0].blocks[0]
        for old, new in zip(body.arguments, ivs):
            old.replace_all_uses_with(new)
        for op in list(body.operations)[:-1]:  # the scf.reduce terminator stays and goes
            op.operation.move_before(end)
        loop.erase()
