"""fxc-triton-outline-kernels: each group of linalg ops becomes a kernel function.

The partition (``fxc/backends/triton/partition.py``) groups the linalg ops
of each public function; every group moves into a private
``func.func @fxc_kernel_N`` whose arguments are the tensors it reads (and the dynamic sizes of
the tensors it creates) and whose results are its root's results, each
argument and result annotated with its symbolic shape (``fxc.shape``,
``fxc.size``; see ``sizes.py``), and the group is replaced by a
``func.call`` to it.  What stays in the public function is the host plan:
kernel calls, host calls (effects), views (reshapes) and constants, in
program order.  Each kernel function carries ``fxc.kernel`` (``pointwise``,
``reduction`` or ``matmul``).
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import func

from fxc._mlir_compat import defined_inside
from fxc.backends.triton import sizes
from fxc.backends.triton.partition import partition
from fxc.backends.triton.sizes import Shapes
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
            if v not in inside and not defined_inside(v, op) and v not in found:
                found.append(v)
        return ir.WalkResult.ADVANCE

    op.walk(visit)
    return found


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
        cloned, args = [], []
        for v in outside:
            _classify(v, cloned, args)
        results = [r for r in g.root.results if list(r.uses)]
        shapes = Shapes()
        with g.root.location:
            kfn = func.FuncOp(name, ir.FunctionType.get([a.type for a in args], [r.type for r in results]),
                              visibility="private", ip=ir.InsertionPoint(fn))
            kfn.attributes["fxc.kernel"] = ir.StringAttr.get(g.kind)
            kfn.attributes["arg_attrs"] = ir.ArrayAttr.get([_size_attrs(a, shapes) for a in args])
            kfn.attributes["res_attrs"] = ir.ArrayAttr.get([_size_attrs(r, shapes) for r in results])
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


def _classify(v, cloned, args) -> None:
    """Sorts a value a kernel uses into those it recomputes (scalar constants,
    ``tensor.empty`` and ``linalg.fill``, with what they use) and its arguments
    (tensors, and dynamic sizes the recomputed ops take)."""
    if v in cloned or v in args:
        return
    if _is_scalar_constant(v) or (not isinstance(v.owner, ir.Block) and v.owner.name in _CLONED):
        if not _is_scalar_constant(v):
            for operand in v.owner.operands:
                _classify(operand, cloned, args)
        cloned.append(v)
    else:
        args.append(v)


def _size_attrs(v, shapes: Shapes) -> ir.DictAttr:
    """``fxc.shape`` of a tensor, ``fxc.size`` of an index (symbolic sizes)."""
    if isinstance(v.type.maybe_downcast(), ir.ShapedType):
        return ir.DictAttr.get({"fxc.shape": sizes.to_attr(shapes.shape(v))})
    size = shapes.size(v)
    return ir.DictAttr.get({"fxc.size": sizes.to_attr([size])[0]})


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
