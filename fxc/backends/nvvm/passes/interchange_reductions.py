"""fxc-nvvm-interchange-reductions: parallel dims first in every linalg.generic.

``convert-linalg-to-parallel-loops`` makes an ``scf.parallel`` of the
*leading* parallel dims only: a reduction over a leading dim (``x.sum(0)``,
iterators ``[reduction, parallel]``) becomes an outer ``scf.for`` that no GPU
mapping takes (fxc-nvvm-verify-mapped rejected it).  This pass permutes the
iteration domain of each ``linalg.generic`` so that its parallel dims come
first, in their order, then its reduction dims, in theirs: every indexing
map gets the dims renamed, ``linalg.index`` ops in the body follow, and the
loops become ``scf.parallel`` over the kept dims (one thread per output
element) with the reduction a sequential loop inside.  Only the order in
which one thread visits the reduced elements changes, which is the order
the reduction dims had among themselves: the same as before.

Named ops are generalized first (``linalg-generalize-named-ops`` in the
stage); one that is not keeps its loops, and a sequential loop left on the
host is fxc-nvvm-verify-mapped's located error.
"""

from __future__ import annotations

import re

from torch_mlir import ir

from fxc._mlir_compat import walk
from fxc.compiler.passes import ModulePass, register

_PARALLEL = "parallel"


def _iterators(op) -> list:
    return [str(a).split("<")[-1].rstrip(">") for a in ir.ArrayAttr(op.attributes["iterator_types"])]


def _permuted_map(text: str, old_to_new: dict) -> str:
    """``affine_map<(d0, d1) -> (d1)>`` with each dim ``dK`` renamed ``d<old_to_new[K]>``."""
    head, _, results = text.partition("->")
    renamed = re.sub(r"\bd(\d+)\b", lambda m: f"__d{old_to_new[int(m.group(1))]}", results)
    return head + "->" + renamed.replace("__d", "d")


@register
class InterchangeReductions(ModulePass):
    name = "fxc-nvvm-interchange-reductions"
    summary = "Permute linalg.generic iteration domains so that parallel dims lead"

    def run(self, module_op):
        def visit(op):
            if op.name == "linalg.generic":
                self._interchange(op)

        walk(module_op, visit)

    def _interchange(self, op) -> None:
        kinds = _iterators(op)
        order = [i for i, k in enumerate(kinds) if k == _PARALLEL] + [i for i, k in enumerate(kinds) if k != _PARALLEL]
        if order == list(range(len(kinds))):
            return
        old_to_new = {old: new for new, old in enumerate(order)}
        ctx = op.context
        maps = [ir.Attribute.parse(_permuted_map(str(m), old_to_new), context=ctx)
                for m in ir.ArrayAttr(op.attributes["indexing_maps"])]
        old_iters = list(ir.ArrayAttr(op.attributes["iterator_types"]))
        op.attributes["indexing_maps"] = ir.ArrayAttr.get(maps, context=ctx)
        op.attributes["iterator_types"] = ir.ArrayAttr.get([old_iters[i] for i in order], context=ctx)

        def renumber(inner):
            if inner.name == "linalg.index":
                dim = ir.IntegerAttr(inner.attributes["dim"]).value
                inner.attributes["dim"] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64, ctx), old_to_new[dim])

        for body_op in op.regions[0].blocks[0].operations:
            walk(body_op.operation, renumber)
