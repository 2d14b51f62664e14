"""fxc-triton-outline-kernels: each group of linalg ops becomes a kernel function.

The partition (``fxc/backends/triton/partition.py``) groups the linalg ops
of each public function; every group moves into a private
``func.func @fxc_kernel_N`` whose arguments are the tensors it reads and
whose results are its root's results, and the group is replaced by a
``func.call`` to it.  What stays in the public function is the host plan:
kernel calls, host calls (effects), views (reshapes) and constants, in
program order.  Each kernel function carries ``fxc.kernel`` (``pointwise``,
``reduction`` or ``matmul``).
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import func

from fxc.backends.triton.partition import partition
from fxc.compiler.passes import ModulePass, public_funcs, register

#: Prefix of kernel function names.
KERNEL_PREFIX = "fxc_kernel_"
#: Ops a kernel clones instead of taking as arguments.
_CLONED = ("tensor.empty", "linalg.fill")


def _is_scalar_constant(v: ir.Value) -> bool:
    return (not isinstance(v.owner, ir.Block) and v.owner.name == "arith.constant"
            and not isinstance(v.type.maybe_downcast(), ir.ShapedType))


def _defined_outside(group_ops, op) -> list:
    """Values ``op`` (and its regions) use that no op of the group defines."""
    inside = {r for o in group_ops for r in o.results}
    found = []

    def visit(o):
        for v in o.operands:
            if v not in inside and not _in_region(v, op) and v not in found:
                found.append(v)
        return ir.WalkResult.ADVANCE

    op.walk(visit)
    return found


def _in_region(v: ir.Value, op) -> bool:
    """Whether ``v`` is defined inside ``op``'s regions."""
    owner = v.owner
    parent = owner.owner if isinstance(owner, ir.Block) else owner.parent
    while parent is not None:
        if parent == op:
            return True
        parent = parent.parent
    return False


@register
class OutlineKernels(ModulePass):
    name = "fxc-triton-outline-kernels"
    summary = "Move each fused group of linalg ops into a kernel function called by the host function"

    def run(self, module_op):
        body = module_op.regions[0].blocks[0]
        n = 0
        for fn in list(public_funcs(module_op)):
            for g in partition(fn.regions[0].blocks[0]):
                self._outline(g, fn, body, f"{KERNEL_PREFIX}{n}")
                n += 1

    def _outline(self, g, fn, module_body, name):
        ops = g.ops
        outside = []
        for op in ops:
            for v in _defined_outside(ops, op):
                if v not in outside:
                    outside.append(v)
        cloned = [v for v in outside if _is_scalar_constant(v) or
                  (not isinstance(v.owner, ir.Block) and v.owner.name in _CLONED)]
        args = [v for v in outside if v not in cloned]
        results = [r for r in g.root.results if list(r.uses)]
        with g.root.location:
            kfn = func.FuncOp(name, ir.FunctionType.get([a.type for a in args], [r.type for r in results]),
                              visibility="private", ip=ir.InsertionPoint(fn))
            kfn.attributes["fxc.kernel"] = ir.StringAttr.get(g.kind)
            entry = kfn.add_entry_block()
            mapping = dict(zip(args, entry.arguments))
            self._clone_into(entry, cloned, ops, mapping)
            func.ReturnOp([mapping[r] for r in results], ip=ir.InsertionPoint(entry))
            call = func.CallOp([r.type for r in results], ir.FlatSymbolRefAttr.get(name), args,
                               ip=ir.InsertionPoint(g.root))
        for r, c in zip(results, call.results):
            r.replace_all_uses_with(c)
        for op in reversed(ops):
            op.erase()

    @staticmethod
    def _clone_into(entry, cloned, ops, mapping):
        ip = ir.InsertionPoint(entry)
        for v in cloned:
            _clone_value(v, ip, mapping)
        for op in ops:
            c = op.clone(ip=ip)
            _remap(c, mapping)
            for old, new in zip(op.results, c.results):
                mapping[old] = new


def _clone_value(v, ip, mapping):
    """Clones the op defining ``v`` (and what it uses) into the kernel."""
    if v in mapping:
        return
    for operand in v.owner.operands:
        _clone_value(operand, ip, mapping)
    c = v.owner.clone(ip=ip)
    _remap(c, mapping)
    mapping[v] = c.results[0]


def _remap(op, mapping) -> None:
    def visit(o):
        for i, v in enumerate(o.operands):
            if v in mapping:
                o.operands[i] = mapping[v]
        return ir.WalkResult.ADVANCE

    op.walk(visit)
