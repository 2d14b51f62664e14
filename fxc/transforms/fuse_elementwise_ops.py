"""fxc-fuse-elementwise-ops: upstream's elementwise fusion, with named
contractions, convolutions and pools kept as they are.

Upstream's ``linalg-fuse-elementwise-ops`` fuses an elementwise producer into
any ``linalg.generic`` consumer, and its reshape propagation rewrites a
named op it pushes a reshape through (``linalg.matmul`` between a
``collapse_shape`` and an ``expand_shape``, which torch-mlir emits for every
``[1, S, D] x [D, N]`` linear) into a ``linalg.generic``.  Together they turn
a linear after a layer norm into one generic that normalizes each input
element again for every output column (``N`` times the work), and a generic
contraction that no contraction lowering (vectorizer, micro-kernels)
recognizes anymore: GPT-2 at a static sequence length ran 7x slower than at a
dynamic one, where the reshapes do not fold.

This pass moves each such named op into a private function of its own for
the duration of the fusion, so that neither the fusion nor the reshape
propagation can see into it, runs ``linalg-fuse-elementwise-ops``, and moves
the ops back.  Elementwise chains and their reductions fuse as before; a
contraction's elementwise consumer (bias, activation) never fused into it
(the producer must be elementwise), so nothing is lost.
"""

from __future__ import annotations

from torch_mlir import ir, passmanager
from torch_mlir.dialects import func

from fxc._mlir_compat import nested_ops
from fxc.compiler.passes import ModulePass, register

#: Named linalg ops with reduction loops whose inputs the fusion must not
#: recompute, by name fragment.
_KEPT = ("matmul", "matvec", "vecmat", "dot", "contract", "conv", "pooling", "batch_reduce")
_PREFIX = "__fxc_kept_"
#: Body ops (yield included) of a producer cheap enough to recompute per consumer.
_CHEAP_BODY = 4


def _kept(op) -> bool:
    name = op.name
    return name.startswith("linalg.") and any(k in name for k in _KEPT)


@register
class FuseElementwiseOps(ModulePass):
    name = "fxc-fuse-elementwise-ops"
    summary = "Fuse elementwise linalg ops, keeping named contractions, convolutions and pools out of the fusion"

    def run(self, module_op):
        body = module_op.regions[0].blocks[0]
        kept = []  # (op, call, outlined func)
        for fn in list(body.operations):
            if fn.operation.name != "func.func" or not fn.regions[0].blocks:
                continue
            for op in nested_ops(fn.operation):
                if _kept(op):
                    kept.append(_outline(op, body, len(kept)))
            for op in nested_ops(fn.operation):
                if _cheap_elementwise(op):
                    _copy_per_consumer(op)
        passmanager.PassManager.parse("builtin.module(func.func(linalg-fuse-elementwise-ops))",
                                      module_op.context).run(module_op)
        for op, call, outlined in kept:
            _inline(op, call, outlined)


def _cheap_elementwise(op) -> bool:
    if op.name != "linalg.generic" or len(op.results) != 1:
        return False
    if not all("parallel" in str(a) for a in ir.ArrayAttr(op.attributes["iterator_types"])):
        return False
    body = [o.operation for o in op.regions[0].blocks[0].operations]
    return len(body) <= _CHEAP_BODY and all(o.name.startswith("arith.") or o.name == "linalg.yield" for o in body)


def _copy_per_consumer(op) -> None:
    """Gives every use of ``op``'s result but the first a copy of ``op`` of
    its own, placed before its user, when every user is a generic that
    reads each element once.  (Were one user left with the original alone,
    upstream would fuse it there, broadcast or not.)"""
    uses = [(u.owner, u.operand_number) for u in op.results[0].uses]
    if len(uses) < 2 or not all(owner.name == "linalg.generic" and _reads_once(owner, i) for owner, i in uses):
        return
    for owner, i in uses[1:]:
        copy = op.clone(ir.InsertionPoint(owner))
        owner.operands[i] = copy.results[0]


def _reads_once(consumer, operand: int) -> bool:
    """Whether ``consumer`` reads each element of the operand once (its map
    is a permutation of all the consumer's loops): fusing the producer then
    computes each element once, where a broadcasting read would compute it
    again for every broadcast index (GPT-2's attention ran 1.8x slower)."""
    maps = ir.ArrayAttr(consumer.attributes["indexing_maps"])
    return ir.AffineMapAttr(maps[operand]).value.is_permutation


def _outline(op, module_body, index):
    """Moves ``op`` into a new private function and calls it in its place."""
    operands = list(op.operands)
    results = [r.type for r in op.results]
    with op.location, ir.InsertionPoint(module_body):
        fn = func.FuncOp(f"{_PREFIX}{index}", ([v.type for v in operands], results), visibility="private")
        entry = fn.add_entry_block()
    with op.location, ir.InsertionPoint(op):
        call = func.CallOp(results, ir.FlatSymbolRefAttr.get(f"{_PREFIX}{index}"), operands)
    for old, new in zip(op.results, call.results):
        old.replace_all_uses_with(new)
    op.detach_from_parent()
    ir.InsertionPoint(entry).insert(op)
    for i, arg in enumerate(entry.arguments):
        op.operands[i] = arg
    with op.location, ir.InsertionPoint(entry):
        func.ReturnOp(list(op.results))
    return op, call.operation, fn.operation


def _inline(op, call, outlined):
    ret = outlined.regions[0].blocks[0].operations[1].operation
    ret.erase()
    op.move_before(call)
    for i, value in enumerate(call.operands):
        op.operands[i] = value
    for old, new in zip(call.results, op.results):
        old.replace_all_uses_with(new)
    call.erase()
    outlined.erase()
