"""fxc-sequentialize-parallel-reductions: ``scf.parallel`` loops that reduce
become ``scf.for`` nests.

``convert-scf-to-openmp`` converts a reducing ``scf.parallel`` only when its
``scf.reduce`` body is one of a few recognised combiners (``arith.addf``, a
``cmpf``/``select`` max...) and otherwise fails the whole pass.
``tm-tensor-to-loops`` lowers ``tm_tensor.attention`` (what
``aten._scaled_dot_product_flash_attention_for_cpu`` becomes) to parallel
loops that reduce with ``arith.maximumf``.  torch-mlir's refbackend has no
OpenMP stage: it lowers these loops sequentially in ``convert-scf-to-cf``.
This pass does the same before ``convert-scf-to-openmp``, for the reducing
loops only; loops without results stay parallel.

The loop ``(i, j) = (lb) to (ub) step (s) init (x)`` with body ``B`` and
``scf.reduce(v) { (a, b) -> R(a, b) }`` becomes
``for i iter(x) { for j iter(acc) { B; yield R(acc, v) } yield }``.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import scf

from fxc._mlir_compat import ops_named
from fxc.compiler.passes import ModulePass, register


def _segments(op):
    sizes = list(ir.DenseI32ArrayAttr(op.attributes["operandSegmentSizes"]))
    operands, out, start = list(op.operands), [], 0
    for n in sizes:
        out.append(operands[start:start + n])
        start += n
    return out


def _move_into(ops, block: ir.Block) -> None:
    """Moves ``ops`` (in order) to the end of ``block``."""
    ip = ir.InsertionPoint(block)
    for o in ops:
        o.detach_from_parent()
        ip.insert(o)


@register
class SequentializeParallelReductions(ModulePass):
    name = "fxc-sequentialize-parallel-reductions"
    summary = "Rewrite reducing scf.parallel loops into scf.for nests"

    def run(self, module_op):
        # Innermost first: a nested reducing loop is rewritten before the
        # loop that holds it moves its body.
        reducing = [op for op in reversed(ops_named(module_op, "scf.parallel")) if len(op.results)]
        for op in reducing:
            self._rewrite(op)
        return bool(reducing)

    def _rewrite(self, par):
        lbs, ubs, steps, inits = _segments(par)
        body = par.regions[0].blocks[0]
        reduce = body.operations[len(body.operations) - 1]
        if reduce.name != "scf.reduce" or len(reduce.regions) != len(inits):
            raise self.fail(par, f"scf.parallel with {len(inits)} results has no matching scf.reduce")
        loops = []
        with par.location:
            ip = ir.InsertionPoint(par)
            carried = inits
            for lb, ub, step in zip(lbs, ubs, steps):
                loop = scf.ForOp(lb, ub, step, carried, ip=ip)
                loops.append(loop)
                carried = list(loop.inner_iter_args)
                ip = ir.InsertionPoint(loop.body)
            inner = loops[-1].body
            for arg, loop in zip(body.arguments, loops):
                arg.replace_all_uses_with(loop.induction_variable)
            _move_into(list(body.operations)[:-1], inner)
            yields = []
            for value, region, acc in zip(reduce.operands, reduce.regions, carried):
                block = region.blocks[0]
                block.arguments[0].replace_all_uses_with(acc)
                block.arguments[1].replace_all_uses_with(value)
                ops = list(block.operations)
                _move_into(ops[:-1], inner)
                yields.append(ops[-1].operands[0])
            scf.YieldOp(yields, ip=ir.InsertionPoint(inner))
            for outer, loop in zip(loops[:-1], loops[1:]):
                scf.YieldOp(list(loop.results), ip=ir.InsertionPoint(outer.body))
        par_results = list(par.results)
        for old, new in zip(par_results, loops[0].results):
            old.replace_all_uses_with(new)
        par.erase()
