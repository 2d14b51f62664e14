"""fxc-nvvm-module-to-ptx: each NVVM ``gpu.module`` becomes a ``gpu.binary`` of PTX.

Upstream ``gpu-module-to-binary{format=isa}`` does this, but the torch-mlir
wheel's LLVM has no NVPTX target; ``ptx.py`` emits the PTX with Triton's
LLVM instead.  The chip and the PTX ISA version come from the module's
``#nvvm.target`` (``nvvm-attach-target{chip=sm_90 features=+ptx87}``), and
the result is what upstream prints:
``gpu.binary @m [#gpu.object<#nvvm.target<...>, assembly = "PTX">]``.
``ptxas`` turns the PTX into a cubin when the artifact is built.
"""

from __future__ import annotations

import re

from torch_mlir import ir

from fxc.backends.nvvm import ptx
from fxc.compiler.passes import ModulePass, register
from fxc.errors import CompileError


def nvvm_target(gpu_module: ir.Operation):
    """(chip, ptx_version, target attribute text) of a ``gpu.module``."""
    targets = gpu_module.attributes["targets"] if "targets" in gpu_module.attributes else None
    text = str(targets[0]) if targets is not None and len(targets) else ""
    chip = re.search(r'chip = "(sm_\w+)"', text)
    version = re.search(r"\+ptx(\d+)", text)
    if not text.startswith("#nvvm.target") or not chip:
        return None
    return chip.group(1), int(version.group(1)) if version else 87, text


@register
class ModuleToPtx(ModulePass):
    name = "fxc-nvvm-module-to-ptx"
    summary = "Emit each NVVM gpu.module as a gpu.binary holding its PTX"

    def run(self, module_op):
        for op in list(module_op.regions[0].blocks[0].operations):
            op = op.operation
            if op.name != "gpu.module":
                continue
            target = nvvm_target(op)
            if target is None:
                raise self.fail(op, "gpu.module has no #nvvm.target (run nvvm-attach-target first)")
            chip, version, target_text = target
            for fn in op.regions[0].blocks[0].operations:
                _check_lowered(self, fn.operation)
            body = "\n".join(str(o) for o in op.regions[0].blocks[0].operations)
            try:
                text = ptx.to_ptx(f"module {{\n{body}\n}}", chip, version)
            except CompileError as e:
                raise self.fail(op, str(e)) from None
            name = ir.StringAttr(op.attributes["sym_name"]).value
            with op.location:
                # Parsed, not Operation.create: a created gpu.binary lacks the
                # default offloading handler and crashes the printer.
                binary = ir.Module.parse(
                    f"gpu.binary @{name} [#gpu.object<{target_text}, assembly = {ir.StringAttr.get(text)}>]")
                binary.body.operations[0].operation.clone(ip=ir.InsertionPoint(op))
            op.erase()


def _check_lowered(pass_, op: ir.Operation) -> None:
    """Raises at the first op of a device function that is not LLVM or NVVM."""
    if not op.name.startswith(("llvm.", "nvvm.")):
        raise pass_.fail(op, f"'{op.name}' was not lowered to NVVM (fxc's NVVM backend cannot compile it yet)")
    for region in op.regions:
        for block in region.blocks:
            for inner in block.operations:
                _check_lowered(pass_, inner.operation)
