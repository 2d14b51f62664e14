"""fxc-lower-int8-matmul: int8 ``linalg.matmul`` on memrefs to a micro-kernel.

Runs on bufferized IR (the CPU backend's ``llvm`` stage, before
``convert-linalg-to-loops``).  Each ``linalg.matmul`` with two 8-bit inputs
(both ``cast_signed`` or both ``cast_unsigned``) and an i32 output, default
indexing maps, and rows of unit stride becomes a ``func.call`` of the
micro-kernel driver (added to the module once), on operands cast to dynamic
strided memrefs.  The option ``kernel`` names the variant (:data:`KERNELS`):

* ``vnni``: AVX-512 VNNI ``vpdpbusd``
  (:mod:`fxc.backends.cpu.int8_vnni_microkernel`), for signed operands;
  unsigned ones get the ``avx2`` kernel;
* ``avx2``: AVX2 ``vpmaddwd`` (:mod:`fxc.backends.cpu.int8_microkernel`);
* ``portable`` (the default): the same kernel in target-independent vector ops.

The drivers:

* ``@fxc_i8mm_s8(A, B, C, acc)`` packs A and B per call;
* when B is a constant (``memref.get_global`` of a constant global, i.e. a
  weight) ``@fxc_i8mm_cached_s8(A, B, C, acc, Bp, ready)`` packs B once, on
  the first call, into a module global ``Bp``, guarded by the flag ``ready``.

``acc`` is false where a ``linalg.fill`` of zero into C comes just before the
matmul: the kernel overwrites C and the fill is dropped.

Any other ``linalg.matmul`` is left alone (the generic loops lower it).
The CPU backend picks the variant from the host's features (its option
``int8_microkernel``); lit tests pin it.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import arith, func, memref

from fxc._mlir_compat import ops_named, parse_module
from fxc.backends.cpu import int8_microkernel as mk
from fxc.backends.cpu.int8_vnni_microkernel import VNNI
from fxc.compiler.passes import ModulePass, register

#: The kernel variants, by the name the ``kernel`` option gives.
KERNELS = {k.name: k for k in (VNNI, mk.AVX2, mk.PORTABLE)}

_DEFAULT_MAPS = (
    "[affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, "
    "affine_map<(d0, d1, d2) -> (d0, d1)>]"
)


def _unit_inner_stride(t: ir.MemRefType) -> bool:
    if t.rank != 2:
        return False
    strides, _ = t.get_strides_and_offset()
    return strides[-1] == 1


def _signedness(op: ir.Operation):
    """True/False (signed/unsigned) when the kernel applies to ``op``, else None."""
    ins, outs = list(op.operands)[:2], list(op.operands)[2:]
    if len(outs) != 1 or not all(isinstance(v.type, ir.MemRefType) for v in ins + outs):
        return None
    a, b, c = (ir.MemRefType(v.type) for v in ins + outs)
    i8, i32 = ir.IntegerType.get_signless(8), ir.IntegerType.get_signless(32)
    if a.element_type != i8 or b.element_type != i8 or c.element_type != i32:
        return None
    if not all(_unit_inner_stride(t) for t in (a, b, c)):
        return None
    if "indexing_maps" in op.attributes and str(op.attributes["indexing_maps"]) != _DEFAULT_MAPS:
        return None
    cast = str(op.attributes["cast"]) if "cast" in op.attributes else "#linalg.type_fn<cast_signed>"
    return {"#linalg.type_fn<cast_signed>": True, "#linalg.type_fn<cast_unsigned>": False}.get(cast)


def _zero_fill_before(op: ir.Operation):
    """The ``linalg.fill`` of zero into the matmul's output just before it, or None.

    The kernel then overwrites the output rather than adding to it, and the
    fill goes (one pass over C less, and no read of it).
    """
    prev = None
    for o in op.operation.block.operations:
        if o.operation == op.operation:
            break
        prev = o.operation
    if prev is None or prev.name != "linalg.fill" or len(prev.operands) != 2 or prev.operands[1] != op.operands[2]:
        return None
    value = prev.operands[0].owner
    if not isinstance(value, ir.OpView) or value.operation.name != "arith.constant":
        return None
    attr = value.attributes["value"]
    if isinstance(attr, ir.IntegerAttr):
        return prev if ir.IntegerAttr(attr).value == 0 else None
    return prev if isinstance(attr, ir.FloatAttr) and ir.FloatAttr(attr).value == 0.0 else None


def _constant_global(value: ir.Value, module_op: ir.Operation):
    """The constant ``memref.global`` that ``value`` reads, or None."""
    owner = value.owner
    if not isinstance(owner, ir.OpView) or owner.operation.name != "memref.get_global":
        return None
    name = ir.FlatSymbolRefAttr(owner.attributes["name"]).value
    for op in module_op.regions[0].blocks[0].operations:
        if op.operation.name == "memref.global" and ir.StringAttr(op.attributes["sym_name"]).value == name:
            return op if "constant" in op.attributes else None
    return None


def packed_weight_globals(module_op, packed: dict, key, bp_type: str, prefix: str):
    """``(type, name)`` of the packed copy of one constant weight, and its ready flag's name.

    The two globals (``@<prefix>_<n>`` of ``bp_type`` and ``@<prefix>_<n>_ready``)
    are made on the first use of ``key`` (the weight and how it is packed);
    later uses share them.
    """
    if key not in packed:
        name = f"{prefix}_{len(packed)}"
        text = (
            f'memref.global "private" @{name} : {bp_type} = uninitialized {{alignment = 64 : i64}}\n'
            f'memref.global "private" @{name}_ready : {mk.FLAG_TYPE} = dense<0>\n'
        )
        mod = parse_module(text, module_op.context)
        body = module_op.regions[0].blocks[0]
        for g in mod.body.operations:
            g.operation.clone(ir.InsertionPoint.at_block_begin(body))
        packed[key] = (ir.Type.parse(bp_type), name, f"{name}_ready")
    return packed[key]


def call_driver(names: dict, args: list, weight, key: tuple, bp_type: str, bp_arg_type: str, prefix: str,
                module_op, packed: dict) -> None:
    """Calls ``names["run"]`` on ``args``; or, where B is the constant
    global ``weight``, ``names["run_cached"]`` with B's packed copy (of
    ``bp_type``, passed as ``bp_arg_type``) and its ready flag
    (:func:`packed_weight_globals`; ``key`` tells packings apart)."""
    if weight is None:
        func.call([], ir.FlatSymbolRefAttr.get(names["run"]), args)
        return
    key = (ir.StringAttr(weight.attributes["sym_name"]).value, *key)
    bp_ty, bp, ready = packed_weight_globals(module_op, packed, key, bp_type, prefix)
    args = args + [memref.cast(ir.Type.parse(bp_arg_type), memref.get_global(bp_ty, bp)),
                   memref.get_global(ir.Type.parse(mk.FLAG_TYPE), ready)]
    func.call([], ir.FlatSymbolRefAttr.get(names["run_cached"]), args)


@register
class LowerInt8Matmul(ModulePass):
    name = "fxc-lower-int8-matmul"
    summary = "Lower int8 x int8 -> int32 linalg.matmul on memrefs to a micro-kernel call (kernel=vnni|avx2|portable)"

    def __init__(self, kernel: str = "portable"):
        if kernel not in KERNELS:
            raise ValueError(f"fxc-lower-int8-matmul: unknown kernel '{kernel}'; kernels are {', '.join(KERNELS)}")
        self.kernel = KERNELS[kernel]

    def _variant(self, signed: bool):
        return self.kernel if self.kernel.handles(signed) else mk.AVX2

    def run(self, module_op):
        work = [(op, s) for op in ops_named(module_op, "linalg.matmul") if (s := _signedness(op)) is not None]
        if not work:
            return
        body = module_op.regions[0].blocks[0]
        by_variant = {}
        for _, signed in work:
            by_variant.setdefault(self._variant(signed), set()).add(signed)
        for variant, kinds in by_variant.items():
            kernels = parse_module(variant.kernel_module(kinds), module_op.context)
            for op in kernels.body.operations:
                op.operation.clone(ir.InsertionPoint.at_block_begin(body))
        packed = {}
        for op, signed in work:
            self._rewrite(op, self._variant(signed), signed, module_op, packed)

    def _rewrite(self, op, variant, signed, module_op, packed):
        names = variant.func_names(signed)
        a, b, c = op.operands
        with op.location, ir.InsertionPoint(op):
            def cast(value, type_asm):
                return memref.cast(ir.Type.parse(type_asm), value)

            fill = _zero_fill_before(op)
            accumulate = arith.constant(ir.IntegerType.get_signless(1), 0 if fill else 1)
            args = [cast(a, mk.A_TYPE), cast(b, mk.A_TYPE), cast(c, mk.C_TYPE), accumulate]
            k_dim, n_dim = ir.MemRefType(b.type).shape
            call_driver(names, args, _constant_global(b, module_op), (variant.prefix, signed),
                        variant.packed_b_type(k_dim, n_dim), variant.bp_type, "fxc_i8mm_bpack", module_op, packed)
        op.erase()
        if fill is not None:
            fill.erase()
