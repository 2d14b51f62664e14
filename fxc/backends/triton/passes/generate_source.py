"""fxc-triton-generate-source: each kernel function gets its Triton source.

For every ``func.func`` with an ``fxc.kernel`` attribute (made by
fxc-triton-outline-kernels) the kernel templates (``kernels.py``) write a
``@triton.jit`` function named after it; the pass attaches it as
``fxc.triton.source`` and the launch data (grid, block sizes, warps) as
``fxc.triton.launch`` (JSON).  The linalg body stays, so the module remains
readable and can be fed back in at this stage.
"""

from __future__ import annotations

import json

from torch_mlir import ir

from fxc.backends.triton.kernels import TEMPLATES
from fxc.compiler.passes import ModulePass, register
from fxc.errors import CompileError, location_of


def kernel_funcs(module_op):
    for op in module_op.regions[0].blocks[0].operations:
        if op.operation.name == "func.func" and "fxc.kernel" in op.attributes:
            yield op.operation


@register
class GenerateSource(ModulePass):
    name = "fxc-triton-generate-source"
    summary = "Attach the Triton source and launch data of each kernel function"

    def run(self, module_op):
        for fn in kernel_funcs(module_op):
            kind = ir.StringAttr(fn.attributes["fxc.kernel"]).value
            name = ir.StringAttr(fn.attributes["sym_name"]).value
            try:
                source, launch = TEMPLATES[kind](fn, name)
            except CompileError as e:
                raise e if e.location else CompileError(e.message, location_of(fn.location))
            fn.attributes["fxc.triton.source"] = ir.StringAttr.get(source)
            fn.attributes["fxc.triton.launch"] = ir.StringAttr.get(json.dumps(launch, sort_keys=True))
