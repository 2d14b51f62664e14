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

Under autocast, eager's fast path for ``nn.TransformerEncoderLayer``
bufferizes its linears to *f32* matmuls of buffers that hold bf16 values:
A written by an elementwise generic ``extf(truncf(x))`` (the activation
rounded to bf16), B by ``extf`` of a bf16 buffer (the transposed bf16
weight).  Where both operands of an f32 x f32 -> f32 matmul are such a
buffer (or one ``collapse_shape``/``expand_shape`` of it), fully written by
a generic with identity maps whose body is only that ``extf`` or that
``truncf`` then ``extf``, and nothing between the generic and the matmul
writes its output (nor, for ``extf``, its bf16 input), the matmul reads
bf16 instead: the ``extf`` generic's input (so the transposed-B look-through
above still applies), or for ``truncf`` a new bf16 buffer that a clone of
the generic, yielding the ``truncf``'d value, writes beside it (freed after
the last matmul reading it).  The f32 generics and transposes whose
output nothing reads any more go, with their buffers.  This changes no value beyond summation
order: a bf16 x bf16 product is exact in f32 (8-bit significands, 16-bit
product), so ``extf(a) * extf(b)`` in f32 is the same number
``vdpbf16ps`` forms, and it accumulates in f32 as the f32 matmul does,
only in another order (and with denormals flushed, as for any bf16 matmul
here).  Distinct allocations, function arguments (fxc gives each its own
buffer) and globals are taken as distinct buffers; an op of unknown effect
in between leaves the matmul alone.

Any other matmul (f32 of other values, transposed maps, ...) is left
alone: the vectorizer takes it.  The CPU backend runs this pass where the host has the kernel's
features (its option ``bf16_microkernel``); lit tests pin it.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import arith, func, memref

from fxc._mlir_compat import nested_ops, ops_named, parse_module
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


#: Ops that only make a view of their first operand (the reshapes first), and ops that touch no memory.
_RESHAPES = ("memref.collapse_shape", "memref.expand_shape")
_VIEWS = _RESHAPES + ("memref.subview", "memref.cast")
_NO_WRITE = _VIEWS + ("memref.alloc", "memref.alloca", "memref.get_global", "memref.dim")


def _root(value: ir.Value):
    """What tells ``value``'s buffer apart: its allocation, the function
    argument, or the global's name; None where unknown (a call's result)."""
    while isinstance(value.owner, ir.OpView) and value.owner.operation.name in _VIEWS:
        value = value.owner.operation.operands[0]
    owner = value.owner
    if not isinstance(owner, ir.OpView):
        return value  # a block argument: fxc gives each program argument its own buffer
    name = owner.operation.name
    if name == "memref.get_global":
        return ir.FlatSymbolRefAttr(owner.attributes["name"]).value
    return value if name in ("memref.alloc", "memref.alloca") else None


def _may_alias(a: ir.Value, b: ir.Value) -> bool:
    ra, rb = _root(a), _root(b)
    return ra is None or rb is None or ra == rb


def _written(op: ir.Operation):
    """The memrefs ``op`` writes (or frees), or None where that is not known."""
    name = op.name
    if name in _NO_WRITE or name.startswith(("arith.", "math.")):
        return ()
    if name in ("memref.copy", "memref.dealloc"):
        return (op.operands[len(op.operands) - 1],)
    if name in ("linalg.transpose", "linalg.broadcast"):
        return (op.operands[len(op.operands) - 1],)
    if name.startswith("linalg.") and "operandSegmentSizes" in op.attributes:
        n = list(ir.DenseI32ArrayAttr(op.attributes["operandSegmentSizes"]))[-1]
        return tuple(op.operands)[len(op.operands) - n:]
    return None


def _last_writer(op: ir.Operation, value: ir.Value):
    """The last op before ``op`` in its block that writes ``value``'s buffer
    (None where an op of unknown effect comes first), and the ops between."""
    ops = [o.operation for o in op.block.operations]
    between = []
    for prev in reversed(ops[:ops.index(op)]):
        written = _written(prev)
        if written is None:
            return None, between
        if any(_may_alias(w, value) for w in written):
            return prev, between
        between.append(prev)
    return None, between


def _untouched(between, values) -> bool:
    """Whether no op of ``between`` (all of known effect) writes any of ``values``."""
    return all(not _may_alias(w, v) for o in between for w in _written(o) for v in values)


def _transpose_of_b(op: ir.Operation):
    """The ``linalg.transpose`` ([1, 0], 2-d rows of unit stride) that last
    wrote the matmul's B, or None; nothing in between may write B or the
    transpose's input (distinct allocations, arguments and globals are
    distinct buffers)."""
    b = op.operands[1]
    prev, between = _last_writer(op.operation, b)
    if prev is None or prev.name != "linalg.transpose" or prev.operands[1] != b:
        return None
    src = prev.operands[0]
    t = ir.MemRefType(src.type)
    ok = (str(prev.attributes["permutation"]) == "array<i64: 1, 0>" and t.rank == 2
          and t.get_strides_and_offset()[0][-1] == 1)
    return prev if ok and _untouched(between, (b, src)) else None


def _erase_dead_writers(buffers) -> None:
    """Erases the transposes and generics into ``buffers`` that nothing reads
    any more, and the buffers, then those into the buffers they read, and so on."""
    buffers = list(buffers)
    while buffers:
        buf = buffers.pop()
        if not isinstance(buf.owner, ir.OpView) or buf.owner.operation.name != "memref.alloc":
            continue  # an argument or a global is read outside
        users = [u.owner for u in buf.uses]
        for u in users:
            if u.name in _VIEWS and u.operation.operands[0] == buf and not list(u.results[0].uses):
                u.erase()
        users = [u.owner for u in buf.uses]
        writers = [u for u in users if u.name != "memref.dealloc"]
        if not all(_only_writes(u, buf) for u in writers):
            continue
        for u in writers:
            buffers += [v for v in u.operands if v != buf and isinstance(v.type, ir.MemRefType)]
            u.erase()
        alloc = buf.owner
        for u in [u.owner for u in buf.uses]:  # only deallocs are left
            u.erase()
        buffers = [v for v in buffers if v != buf]
        alloc.erase()


def _only_writes(op, buf) -> bool:
    """Whether ``op`` writes ``buf`` (whole) and nothing else, and reads no element of it."""
    if op.name == "linalg.transpose":
        return op.operands[1] == buf
    if op.name != "linalg.generic" or _written(op) != (buf,) or list(op.operands).count(buf) != 1:
        return False
    return not list(op.regions[0].blocks[0].arguments[len(op.operands) - 1].uses)


def _exact_bf16(op: ir.Operation):
    """"extf" where ``op`` is an elementwise ``linalg.generic`` (identity maps)
    whose body is only ``arith.extf`` of a bf16 input to f32; "truncf" where
    its one output (identity map; inputs may broadcast) is the ``extf`` of any bf16 value its body computes from
    inputs it does not write (``truncf(x)``: an activation rounded to bf16;
    ``truncf(relu(x + bias))``: a fused epilogue), the ``extf`` read by the
    yield alone; else None."""
    if op.name != "linalg.generic" or _written(op) != (op.operands[len(op.operands) - 1],):
        return None
    out = op.operands[len(op.operands) - 1]
    identity = ir.AffineMap.get_identity(ir.MemRefType(out.type).rank)
    maps = [ir.AffineMapAttr(m).value for m in ir.ArrayAttr(op.attributes["indexing_maps"])]
    if maps[-1] != identity:  # every element written (inputs may broadcast)
        return None
    block = op.regions[0].blocks[0]
    body = [o.operation for o in block.operations]
    ext, yield_ = (body[-2], body[-1]) if len(body) >= 2 else (None, None)
    if ext is None or ext.name != "arith.extf" or yield_.operands[0] != ext.results[0] \
            or ext.operands[0].type != ir.BF16Type.get() or ext.results[0].type != ir.F32Type.get() \
            or len(list(ext.results[0].uses)) != 1 or list(block.arguments[len(op.operands) - 1].uses):
        return None
    if len(body) == 2 and len(op.operands) == 2 and ext.operands[0] == block.arguments[0]:
        return "extf" if maps[0] == identity else None
    inputs = list(op.operands)[:-1]
    return "truncf" if not any(_may_alias(x, out) for x in inputs if isinstance(x.type, ir.MemRefType)) else None


def _rounded_operand(op: ir.Operation, x: ir.Value):
    """For the matmul ``op``'s f32 operand ``x`` (a buffer, or one
    collapse_shape/expand_shape of it) last written, whole, by an
    exactly-bf16 generic: ``(generic, kind, view)``; None otherwise.  Nothing
    between the generic and ``op`` may write its output, nor (for "extf",
    whose bf16 input ``op`` will read) its input."""
    view = x.owner if isinstance(x.owner, ir.OpView) and x.owner.operation.name in _RESHAPES else None
    buf = view.operation.operands[0] if view is not None else x
    gen, between = _last_writer(op, buf)
    kind = None if gen is None else _exact_bf16(gen)
    if kind is None or gen.operands[len(gen.operands) - 1] != buf:
        return None
    src = gen.operands[0]
    ok = _untouched(between, (buf,) if kind == "truncf" else (buf, src))
    if view is not None and kind == "extf":  # the view is remade on the bf16 input
        ok = ok and src.type == ir.MemRefType.get(ir.MemRefType(src.type).shape, ir.BF16Type.get())
    if kind == "truncf":  # the bf16 copy is allocated as the output is
        ok = ok and isinstance(buf.owner, ir.OpView) and buf.owner.operation.name == "memref.alloc"
    return (gen, kind, view) if ok else None


def _f32_matmul_plans(module_op):
    """The f32 x f32 -> f32 matmuls whose operands both hold bf16 values
    (:func:`_rounded_operand`), each with its operands' plans."""
    f32 = ir.F32Type.get()
    plans = []
    # In program order: a bf16 copy is freed after its last reader.
    for op in (o for o in nested_ops(module_op) if o.name in _FORMS):
        operands = list(op.operands)
        if len(operands) != 3 or not all(isinstance(v.type, ir.MemRefType)
                                         and ir.MemRefType(v.type).element_type == f32 for v in operands):
            continue
        a, b = (_rounded_operand(op, v) for v in operands[:2])
        if a is not None and b is not None:
            plans.append((op, (a, b)))
    return plans


def _attributes(op: ir.Operation) -> dict:
    return {name: op.attributes[name] for name in op.attributes}


def _bf16_copy(gen: ir.Operation) -> ir.Value:
    """A new bf16 buffer, written just after the truncf-extf generic ``gen``
    by a clone of it that yields the truncf'd value."""
    alloc = gen.operands[len(gen.operands) - 1].owner.operation
    t = ir.MemRefType(alloc.results[0].type)
    with gen.location, ir.InsertionPoint(gen):
        ty = ir.MemRefType.get(t.shape, ir.BF16Type.get())
        out = ir.Operation.create("memref.alloc", results=[ty], operands=list(alloc.operands),
                                  attributes=_attributes(alloc)).results[0]
    clone = gen.clone(ir.InsertionPoint(gen))
    gen.move_before(clone)
    clone.operands[len(clone.operands) - 1] = out
    block = clone.regions[0].blocks[0]
    *_, ext, yield_ = (o.operation for o in block.operations)
    yield_.operands[0] = ext.operands[0]
    ext.erase()
    block.arguments[len(clone.operands) - 1].set_type(ir.BF16Type.get())
    return out


def _read_bf16(plans) -> list:
    """Points each planned matmul at the bf16 values its f32 operands hold:
    an "extf" generic's bf16 input, or a bf16 copy made beside a "truncf"
    one (freed after the last matmul that reads it).  Returns the f32
    buffers whose writers may now be dead."""
    copies, last_reader, f32_buffers = {}, {}, []
    for op, operands in plans:
        anchor = _zero_fill_before(op) or op
        for i, (gen, kind, view) in enumerate(operands):
            if kind == "extf":
                src = gen.operands[0]
            else:
                if gen not in copies:
                    copies[gen] = _bf16_copy(gen)
                src = copies[gen]
                last_reader[gen] = op
            if view is not None:
                v = view.operation
                ty = ir.MemRefType.get(ir.MemRefType(v.results[0].type).shape, ir.BF16Type.get())
                with v.location, ir.InsertionPoint(anchor):
                    src = ir.Operation.create(v.name, results=[ty], operands=[src] + list(v.operands)[1:],
                                              attributes=_attributes(v)).results[0]
            op.operands[i] = src
            f32_buffers.append(gen.operands[len(gen.operands) - 1])
    for gen, op in last_reader.items():
        with op.location, ir.InsertionPoint(op):
            memref.dealloc(copies[gen]).move_after(op)
    return f32_buffers


@register
class LowerBf16Matmul(ModulePass):
    name = "fxc-lower-bf16-matmul"
    summary = "Lower bf16 x bf16 -> f32 linalg.matmul/batch_matmul on memrefs to a micro-kernel call (kernel=avx512bf16)"

    def __init__(self, kernel: str = "avx512bf16"):
        if kernel not in KERNELS:
            raise ValueError(f"fxc-lower-bf16-matmul: unknown kernel '{kernel}'; kernels are {', '.join(KERNELS)}")
        self.kernel = KERNELS[kernel]

    def run(self, module_op):
        _erase_dead_writers(_read_bf16(_f32_matmul_plans(module_op)))
        work = [op for name in _FORMS for op in ops_named(module_op, name) if _applies(op)]
        if not work:
            return
        body = module_op.regions[0].blocks[0]
        for f in parse_module(self.kernel.kernel_module(), module_op.context).body.operations:
            f.operation.clone(ir.InsertionPoint.at_block_begin(body))
        packed, transposed = {}, []
        plans = [(op, None if op.operation.name == "linalg.batch_matmul" else _transpose_of_b(op)) for op in work]
        for op, transpose in plans:
            self._rewrite(op, transpose, module_op, packed, transposed)
        _erase_dead_writers(transposed)

    def _rewrite(self, op, transpose, module_op, packed, transposed):
        kernel, names = self.kernel, self.kernel.func_names()
        batched = op.operation.name == "linalg.batch_matmul"
        a, b, c = op.operands
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
