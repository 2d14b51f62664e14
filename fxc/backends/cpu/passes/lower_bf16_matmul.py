"""fxc-lower-bf16-matmul: bf16 x bf16 -> f32 ``linalg.matmul`` on memrefs to a micro-kernel.

Runs on bufferized IR (the CPU backend's ``llvm`` stage, before the
vectorizer).  Each ``linalg.matmul`` or ``linalg.batch_matmul`` with two
bf16 inputs and an f32 output (what ``torch.autocast("cpu", torch.bfloat16)``
makes of a matmul or ``linear``: the bf16 result is a ``truncf`` after it),
default indexing maps, and rows of unit stride becomes a ``func.call`` of
the micro-kernel's driver (added to the module once), on operands cast to
dynamic strided memrefs.  The option ``kernel`` names the variant
(:data:`KERNELS`); today one, ``avx512bf16``
(:mod:`fxc.backends.cpu.bf16_microkernel`, ``vdpbf16ps``).

The drivers, as fxc-lower-int8-matmul's:

* ``@fxc_bf16mm(A, B, C, acc)`` packs A and B per call;
* when B is a constant (``memref.get_global`` of a constant global: a
  frozen weight, which the frontend has already transposed for
  ``linear``) ``@fxc_bf16mm_cached(A, B, C, acc, Bp, ready)`` packs B once,
  on the first call, into a module global ``Bp``, guarded by the flag
  ``ready``;
* ``@fxc_bf16mm_batch(A, B, C, acc)`` (3-d operands) packs every batch,
  then runs one parallel nest over (batch, N panel, row tile).

``acc`` is false where a ``linalg.fill`` of zero into C comes just before
the matmul: the kernel overwrites C and the fill is dropped.

Any other matmul (f32, transposed maps, ...) is left alone: the vectorizer
takes it.  The CPU backend runs this pass where the host has the kernel's
features (its option ``bf16_microkernel``); lit tests pin it.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import arith, func, memref

from fxc._mlir_compat import ops_named, parse_module
from fxc.backends.cpu.bf16_microkernel import AVX512BF16, BATCH_TYPES
from fxc.backends.cpu.passes.lower_int8_matmul import (
    _DEFAULT_MAPS,
    _constant_global,
    _zero_fill_before,
    packed_weight_globals,
)
from fxc.compiler.passes import ModulePass, register

#: The kernel variants, by the name the ``kernel`` option gives.
KERNELS = {k.name: k for k in (AVX512BF16,)}

_BATCH_MAPS = (
    "[affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>, "
    "affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>]"
)

#: Per op name: the operands' rank and the default indexing maps.
_FORMS = {"linalg.matmul": (2, _DEFAULT_MAPS), "linalg.batch_matmul": (3, _BATCH_MAPS)}


def _applies(op: ir.Operation) -> bool:
    """Whether ``op`` (a matmul or batch matmul) is bf16 x bf16 -> f32 in the kernel's layout."""
    rank, maps = _FORMS[op.operation.name]
    operands = list(op.operands)
    if len(operands) != 3 or not all(isinstance(v.type, ir.MemRefType) for v in operands):
        return False
    a, b, c = (ir.MemRefType(v.type) for v in operands)
    bf16, f32 = ir.BF16Type.get(), ir.F32Type.get()
    if (a.element_type, b.element_type, c.element_type) != (bf16, bf16, f32):
        return False
    if not all(t.rank == rank and t.get_strides_and_offset()[0][-1] == 1 for t in (a, b, c)):
        return False
    if "cast" in op.attributes and str(op.attributes["cast"]) != "#linalg.type_fn<cast_signed>":
        return False
    return "indexing_maps" not in op.attributes or str(op.attributes["indexing_maps"]) == maps


@register
class LowerBf16Matmul(ModulePass):
    name = "fxc-lower-bf16-matmul"
    summary = "Lower bf16 x bf16 -> f32 linalg.matmul/batch_matmul on memrefs to a micro-kernel call (kernel=avx512bf16)"

    def __init__(self, kernel: str = "avx512bf16"):
        if kernel not in KERNELS:
            raise ValueError(f"fxc-lower-bf16-matmul: unknown kernel '{kernel}'; kernels are {', '.join(KERNELS)}")
        self.kernel = KERNELS[kernel]

    def run(self, module_op):
        work = [op for name in _FORMS for op in ops_named(module_op, name) if _applies(op)]
        if not work:
            return
        body = module_op.regions[0].blocks[0]
        for f in parse_module(self.kernel.kernel_module(), module_op.context).body.operations:
            f.operation.clone(ir.InsertionPoint.at_block_begin(body))
        packed = {}
        for op in work:
            self._rewrite(op, module_op, packed)

    def _rewrite(self, op, module_op, packed):
        kernel, names = self.kernel, self.kernel.func_names()
        batched = op.operation.name == "linalg.batch_matmul"
        a, b, c = op.operands
        fill = _zero_fill_before(op)
        with op.location, ir.InsertionPoint(op):
            def cast(value, type_asm):
                return memref.cast(ir.Type.parse(type_asm), value)

            accumulate = arith.constant(ir.IntegerType.get_signless(1), 0 if fill else 1)
            if batched:
                args = [cast(a, BATCH_TYPES["bf16"]), cast(b, BATCH_TYPES["bf16"]), cast(c, BATCH_TYPES["f32"]), accumulate]
                func.call([], ir.FlatSymbolRefAttr.get(names["run_batch"]), args)
            else:
                args = [cast(a, kernel.a_type), cast(b, kernel.a_type), cast(c, kernel.c_type), accumulate]
                weight = _constant_global(b, module_op)
                if weight is None:
                    func.call([], ir.FlatSymbolRefAttr.get(names["run"]), args)
                else:
                    key = (ir.StringAttr(weight.attributes["sym_name"]).value, kernel.prefix)
                    bp_type, bp, ready = packed_weight_globals(
                        module_op, packed, key, kernel.packed_b_type(*ir.MemRefType(b.type).shape), f"{kernel.prefix}_bpack")
                    args += [cast(memref.get_global(bp_type, bp), kernel.bp_type),
                             memref.get_global(ir.Type.parse(kernel.flag_type), ready)]
                    func.call([], ir.FlatSymbolRefAttr.get(names["run_cached"]), args)
        op.erase()
        if fill is not None:
            fill.erase()
