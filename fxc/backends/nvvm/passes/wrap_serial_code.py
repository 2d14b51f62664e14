"""fxc-nvvm-wrap-serial-code: host-level computation as a one-thread kernel.

After ``convert-linalg-to-parallel-loops``, a linalg op with no parallel dim
(a full reduction too short for fxc-nvvm-block-reductions; a fill or an
elementwise op on a 0-d tensor, such as ``x.mean()``'s division) leaves ``scf.for`` loops and ``memref.load``/``store`` directly
in the public function, where no GPU mapping takes them
(fxc-nvvm-verify-mapped would reject them).  This pass wraps each run of
such ops (consecutive ops that are neither loops already parallel nor what
the host plan runs itself) into a one-iteration ``scf.parallel``, which the
mapping turns into a kernel of one block of one thread: correct, run in
program order, and sequential (what it gets is short).  An op of such a run whose result is used after it is a located error.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import arith

from fxc.backends.nvvm.passes.verify_mapped import HOST_OPS
from fxc.compiler.passes import ModulePass, funcs_with_body, register

#: Ops left where they are: the host plan runs them (plan.py), or kernels read them.
KEEP = HOST_OPS | {"scf.parallel", "gpu.launch"}


@register
class WrapSerialCode(ModulePass):
    name = "fxc-nvvm-wrap-serial-code"
    summary = "Wrap host-level loops and scalar code into a one-thread scf.parallel"

    def run(self, module_op):
        for fn in funcs_with_body(module_op):
            if "sym_visibility" in fn.attributes:
                continue
            run = []
            for op in list(fn.regions[0].blocks[0].operations):
                op = op.operation
                if op.name in KEEP:
                    self._wrap(fn, run)
                    run = []
                else:
                    run.append(op)
            self._wrap(fn, run)

    def _wrap(self, fn, run) -> None:
        if not run:
            return

        def top(user):  # the op of fn's body that holds ``user``
            user = user.operation
            while user.parent != fn:
                user = user.parent
            return user

        for o in run:
            if o.name == "memref.dim":
                raise self.fail(o, "fxc's NVVM backend compiles static shapes only (a dynamic size is read here)")
            for r in o.results:
                if any(all(top(u.owner) != x for x in run) for u in r.uses):
                    raise self.fail(o, f"fxc's NVVM backend cannot put '{o.name}' in a kernel: "
                                       "the host uses its result")
        index = ir.IndexType.get(run[0].context)
        with ir.InsertionPoint(run[0]), run[0].location:
            c0 = arith.ConstantOp(index, 0).result
            c1 = arith.ConstantOp(index, 1).result
            par = ir.Operation.create("scf.parallel", operands=[c0, c1, c1],
                                      attributes={"operandSegmentSizes": ir.DenseI32ArrayAttr.get([1, 1, 1, 0])},
                                      regions=1)
        block = par.regions[0].blocks.append(index)
        with ir.InsertionPoint(block), run[0].location:
            end = ir.Operation.create("scf.reduce", operands=[], regions=0)
        for o in run:
            o.move_before(end)
