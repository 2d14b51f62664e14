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
* where B was written by a ``linalg.transpose`` of ``Bt`` (``linear``'s
  weight, not frozen) with nothing in between that could change either,
  ``@fxc_bf16mm_bt(A, Bt, C, acc)`` (or ``@fxc_bf16mm_cached_bt`` for a
  constant ``Bt``) packs B from ``Bt``, whose rows hold B's K pairs
  adjacent, and the transpose goes once nothing else reads its output
  (64x512 by 512x512, 2 threads: 425 -> 119 us);
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
    call_driver,
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


#: Ops that may come between a transpose and the matmul that reads it, when
#: what they write (their last operand) is a fresh buffer or the matmul's output.
_WRITE_FRESH = ("memref.alloc", "linalg.fill", "memref.copy")


def _writes_only_fresh(op: ir.Operation, c: ir.Value, keep) -> bool:
    if op.name == "memref.alloc":
        return True
    if op.name not in _WRITE_FRESH:
        return False
    out = op.operands[len(op.operands) - 1]
    fresh = isinstance(out.owner, ir.OpView) and out.owner.operation.name == "memref.alloc"
    return (fresh or out == c) and all(out != v for v in keep)


def _transpose_of_b(op: ir.Operation):
    """The ``linalg.transpose`` ([1, 0], 2-d rows of unit stride) that last
    wrote the matmul's B, or None; only allocations, and fills and copies
    into fresh buffers or the matmul's output (neither B nor the
    transpose's input), may come between."""
    b, c = op.operands[1], op.operands[2]
    ops = [o.operation for o in op.operation.block.operations]
    between = []
    for prev in reversed(ops[:ops.index(op.operation)]):
        if prev.name == "linalg.transpose" and prev.operands[1] == b:
            src = prev.operands[0]
            t = ir.MemRefType(src.type)
            ok = (str(prev.attributes["permutation"]) == "array<i64: 1, 0>" and t.rank == 2
                  and t.get_strides_and_offset()[0][-1] == 1)
            return prev if ok and all(_writes_only_fresh(o, c, (b, src)) for o in between) else None
        if not _writes_only_fresh(prev, c, (b,)):
            return None
        between.append(prev)
    return None


def _erase_dead_transposes(buffers) -> None:
    """Erases the transposes into ``buffers`` that nothing reads any more."""
    for buf in buffers:
        users = [u.owner for u in buf.uses]
        if all(u.name in ("linalg.transpose", "memref.dealloc") for u in users):
            for u in users:
                if u.name == "linalg.transpose":
                    u.erase()


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
        packed, transposed = {}, []
        for op in work:
            self._rewrite(op, module_op, packed, transposed)
        _erase_dead_transposes(transposed)

    def _rewrite(self, op, module_op, packed, transposed):
        kernel, names = self.kernel, self.kernel.func_names()
        batched = op.operation.name == "linalg.batch_matmul"
        a, b, c = op.operands
        transpose = None if batched else _transpose_of_b(op)
        if transpose is not None:
            # B^T's rows hold B's K pairs adjacent: pack from it, and the
            # transpose goes once nothing else reads its output.
            transposed.append(b)
            b, names = transpose.operands[0], kernel.transposed_b_names()
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
                k_dim, n_dim = ir.MemRefType(b.type).shape[::1 if transpose is None else -1]
                call_driver(names, args, _constant_global(b, module_op), (transpose is None,),
                            kernel.packed_b_type(k_dim, n_dim), kernel.bp_type, f"{kernel.prefix}_bpack",
                            module_op, packed)
        op.erase()
        if fill is not None:
            fill.erase()
