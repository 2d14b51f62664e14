"""fxc-results-to-out-params: static results become caller-allocated out-params.

The CPU runtime allocates a result itself when it knows its shape before the
call: every dim static, the fast path.  Then the entry function takes it as
an out-param (upstream ``buffer-results-to-out-params``, static allocations
hoisted into the caller's buffer, no copy).

When any result of the entry has a dynamic dim, the function keeps returning
its results: compiled code allocates them (the deallocation pipeline that
runs next leaves returned buffers owned by the caller), and the runtime
hands each buffer to a torch tensor that frees it when it dies.  That serves
data-dependent sizes (``nonzero``, ``.item()`` as a size), which nobody can
compute before the call, and saves symbolic-size results the copy an
out-param would cost.
"""

from __future__ import annotations

from torch_mlir import ir, passmanager

from fxc.compiler.passes import ModulePass, public_funcs, register

UPSTREAM = "buffer-results-to-out-params{modify-public-functions=true hoist-static-allocs=true}"


def _static(t: ir.Type) -> bool:
    try:
        return ir.MemRefType(t).has_static_shape
    except ValueError:
        return True  # not a memref


@register
class ResultsToOutParams(ModulePass):
    name = "fxc-results-to-out-params"
    summary = "Static entry results become out-params; dynamic ones stay returned buffers"

    def run(self, module_op):
        results = [t for fn in public_funcs(module_op)
                   for t in ir.FunctionType(ir.TypeAttr(fn.attributes["function_type"]).value).results]
        if all(_static(t) for t in results):
            passmanager.PassManager.parse(f"builtin.module({UPSTREAM})", module_op.context).run(module_op)
