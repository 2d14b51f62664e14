"""fxc-recoverable-checks: a failed run-time check in compiled code raises a
Python ``RuntimeError`` instead of aborting the process.

``cf.assert`` (what the program's ``torch._check``/``_assert_scalar`` on
values computed by the code become) lowers to ``puts`` + ``abort()``: the
user's process dies.  This pass, on ``cf`` after ``convert-scf-to-cf``,
replaces each ``cf.assert`` with a branch to a block that calls
``fxc_check_failed(i)`` (``i`` the check's index into the module's
``fxc.checks`` messages, which the manifest records).  The CPU backend links
a small C shim into every shared object (``build.py``): the runtime enters
the code through ``fxc_guarded_call``, which ``setjmp``s, and
``fxc_check_failed`` ``longjmp``s back to it; the runtime then raises the
check's message.  Buffers the code had allocated before the failure are not
freed (an error path; the process lives).

A check inside an OpenMP region stays an ``abort()``: a ``longjmp`` out of
a worker thread is undefined.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import arith, cf, func

from fxc._mlir_compat import walk
from fxc.compiler.passes import ModulePass, register

#: The C function a failed check calls, and the module attribute with the
#: checks' messages.
CALLEE = "fxc_check_failed"
MESSAGES = "fxc.checks"


def _in_openmp(op) -> bool:
    parent = op.parent
    while parent is not None:
        if parent.name.startswith("omp."):
            return True
        parent = parent.parent
    return False


@register
class RecoverableChecks(ModulePass):
    name = "fxc-recoverable-checks"
    summary = "Failed cf.assert checks call fxc_check_failed (a Python RuntimeError), not abort()"

    def run(self, module_op):
        asserts = []
        walk(module_op, lambda op: asserts.append(op) if op.name == "cf.assert" and not _in_openmp(op) else None)
        if not asserts:
            return False
        body = module_op.regions[0].blocks[0]
        i32 = ir.IntegerType.get_signless(32)
        with ir.Location.unknown(module_op.context), ir.InsertionPoint.at_block_begin(body):
            func.FuncOp(CALLEE, ([i32], []), visibility="private")
        messages = []
        for op in asserts:
            messages.append(ir.StringAttr(op.attributes["msg"]).value)
            self._rewrite(op, len(messages) - 1, i32)
        module_op.attributes[MESSAGES] = ir.ArrayAttr.get([ir.StringAttr.get(m) for m in messages])

    @staticmethod
    def _rewrite(op, index: int, i32) -> None:
        block = op.block
        after = [o.operation for o in block.operations]
        after = after[after.index(op) + 1:]
        rest = block.create_after()
        for o in after:
            o.detach_from_parent()
            ir.InsertionPoint(rest).insert(o)
        failed = rest.create_before()
        with op.location:
            with ir.InsertionPoint(failed):
                func.CallOp([], ir.FlatSymbolRefAttr.get(CALLEE), [arith.ConstantOp(i32, index).result])
                cf.BranchOp([], rest)  # never taken: fxc_check_failed does not return
            with ir.InsertionPoint(block):
                cf.CondBranchOp(op.operands[0], [], [], rest, failed)
        op.erase()
