"""fxc-convert-linalg-to-vector: tile float contractions and elementwise /
reduction ``linalg`` ops on buffers, and vectorize them.

Options: ``vector-bits`` (the host's SIMD width: 512 for AVX-512, 256 for
AVX2, 128 elsewhere) and ``parallel`` (outer contraction tiles become
``scf.forall``, which ``scf-forall-to-parallel`` + ``convert-scf-to-openmp``
run on threads; otherwise ``scf.for``).

The pass chooses tile sizes per op in Python, tags each op with
``fxc.vectorize = N`` and builds one transform-dialect script that the
upstream ``transform-interpreter`` applies:

* ``linalg.matmul`` / ``linalg.batch_matmul`` on f32/f64 with static shapes:
  cache tiles (batch 1, M <= 64, N <= 256, K <= 256; the M/N tile loop is an
  ``scf.forall``), then a register tile ``mr x (2 * lanes) x 1`` that
  vectorizes to ``vector.contract`` and lowers to ``vector.fma`` outer
  products with the accumulator tile hoisted out of the K loop.
* ``linalg.generic`` whose body is arith/math only, with static shapes and
  the innermost loop dimension innermost (or absent) in every operand: every
  dimension but the innermost is tiled by 1, the innermost by up to
  ``4 * lanes``, and the tile is vectorized (reductions become
  ``vector.multi_reduction`` and then ``vector.reduction``).

Tile sizes always divide the dimension, so no masks are needed; an op none
fits stays for ``convert-linalg-to-loops``, as do generics on i1 buffers,
with ``math.fpowi``/``ipowi``, truncating f64 to f16/bf16, or reducing with
a NaN-propagating ``maximumf``/``minimumf`` (see the checks below).  A transform that does not apply
(the vectorizer declines) is silenced per op and leaves the op as it was.
"""

from __future__ import annotations

from torch_mlir import ir, passmanager
from torch_mlir.dialects import scf

from fxc._mlir_compat import parse_module
from fxc.compiler.passes import ModulePass, register

_ATTR = "fxc.vectorize"
_CONTRACTIONS = ("linalg.matmul", "linalg.batch_matmul")
_BODY_DIALECTS = ("arith.", "math.")
# Their integer exponent would become a vector, which llvm.intr.powi rejects.
_SCALAR_ONLY = ("math.fpowi", "math.ipowi")

# Applied to each function once the tagged ops are vectorized: contraction
# form and loop-invariant code out of the loops; then (after
# _hoist_accumulators) vector lowering to FMAs and plain loads/stores.
_CANONICALIZE_VECTORS = """
    %f = transform.structured.match ops{["func.func"]} in %root : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %f {
      transform.apply_patterns.vector.reduction_to_contract
      transform.apply_patterns.vector.transfer_permutation_patterns
      transform.apply_patterns.canonicalization
    } : !transform.any_op
    %loops = transform.structured.match ops{["scf.for"]} in %root : (!transform.any_op) -> !transform.any_op
    transform.apply_licm to %loops : !transform.any_op
"""
_LOWER_VECTORS = """
    %f2 = transform.structured.match ops{["func.func"]} in %root : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %f2 {
      transform.apply_patterns.vector.lower_contraction lowering_strategy = "outerproduct"
      transform.apply_patterns.vector.lower_outerproduct
    } : !transform.any_op
    transform.apply_patterns to %f2 {
      transform.apply_patterns.vector.lower_transfer max_transfer_rank = 1
      transform.apply_patterns.vector.transfer_to_scf full_unroll = true
      transform.apply_patterns.vector.lower_broadcast
      transform.apply_patterns.vector.lower_shape_cast
      transform.apply_patterns.vector.lower_transpose
    } : !transform.any_op
"""


def _static_shapes(op) -> list | None:
    shapes = []
    for v in op.operands:
        t = v.type
        if not isinstance(t, ir.MemRefType):
            return None
        if not t.has_static_shape:
            return None
        shapes.append(list(t.shape))
    return shapes


def _element_bits(op) -> int | None:
    """The common float width of ``op``'s operands, else None."""
    widths = set()
    for v in op.operands:
        et = v.type.element_type
        if not isinstance(et, (ir.F32Type, ir.F64Type)):
            return None
        widths.add(32 if isinstance(et, ir.F32Type) else 64)
    return widths.pop() if len(widths) == 1 else None


def _largest_divisor(n: int, candidates) -> int:
    return next((c for c in candidates if c >= 1 and n % c == 0), 1)


def _tile(handle: str, sizes, out: str, forall: bool, lines: list) -> None:
    n = sum(1 for s in sizes if s)
    sizes_text = ", ".join(str(s) for s in sizes)
    if forall:
        lines.append(f"  %{out}, %{out}_l = transform.structured.tile_using_forall %{handle} tile_sizes [{sizes_text}]"
                     " : (!transform.any_op) -> (!transform.any_op, !transform.any_op)")
    else:
        loops = ", ".join(["!transform.any_op"] * n)
        lines.append(f"  %{out}, %{out}_l:{n} = transform.structured.tile_using_for %{handle} tile_sizes [{sizes_text}]"
                     f" : (!transform.any_op) -> (!transform.any_op, {loops})")


@register
class ConvertLinalgToVector(ModulePass):
    name = "fxc-convert-linalg-to-vector"
    summary = "Tile and vectorize float contractions and elementwise/reduction linalg ops"

    def __init__(self, vector_bits: int = 512, parallel: bool = False):
        self.vector_bits = int(vector_bits)
        self.parallel = parallel in (True, "true", "1", 1)

    def run(self, module_op):
        steps = []
        for func in module_op.regions[0].blocks[0].operations:
            if func.operation.name != "func.func" or not func.regions[0].blocks:
                continue
            self._walk(func.operation, steps)
        if not steps:
            return
        self._interpret(module_op, "\n".join(steps) + _CANONICALIZE_VECTORS)
        for loop in reversed(_ops_named(module_op, "scf.for")):
            _hoist_accumulators(loop)
        self._interpret(module_op, _LOWER_VECTORS)

    def _walk(self, func, steps):
        for block in func.regions[0].blocks:
            for op in block.operations:
                op = op.operation
                lines = self._plan(op, len(steps))
                if lines:
                    op.attributes[_ATTR] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), len(steps))
                    steps.append("\n".join(lines))
                for region in op.regions:
                    for inner in region.blocks:
                        for nested in inner.operations:
                            if nested.operation.regions:
                                self._walk(nested.operation, steps)

    def _plan(self, op, index: int) -> list | None:
        if op.name in _CONTRACTIONS:
            return self._plan_contraction(op, index)
        if op.name == "linalg.generic":
            return self._plan_generic(op, index)
        return None

    @staticmethod
    def _open(index: int) -> list:
        """The start of op ``index``'s steps: a sequence whose failures
        (the vectorizer declining) leave that op for the loop lowering, and
        ``%m<index>`` matching the op."""
        return [f"  transform.sequence %root : !transform.any_op failures(suppress) {{\n"
                f"  ^bb0(%s{index}: !transform.any_op):",
                f'  %m{index} = transform.structured.match attributes {{"{_ATTR}" = {index} : i64}} in %s{index}'
                " : (!transform.any_op) -> !transform.any_op"]

    def _plan_contraction(self, op, index):
        shapes, bits = _static_shapes(op), _element_bits(op)
        if shapes is None or bits is None:
            return None
        lanes = max(self.vector_bits // bits, 1)
        *batch, m, k = shapes[0]
        n = shapes[1][-1]
        mr = _largest_divisor(m, (8 if lanes >= 16 else 4, 4, 2, 1))
        nr = _largest_divisor(n, (2 * lanes, lanes, lanes // 2, 4, 2, 1))
        mc = _largest_divisor(m, [c for c in range(64, 0, -1) if c % mr == 0])
        nc = _largest_divisor(n, [c for c in range(256, 0, -1) if c % nr == 0])
        kc = _largest_divisor(k, range(256, 0, -1))
        lead = [1] * len(batch)
        inner = [0] * len(batch)
        lines = self._open(index)
        _tile(f"m{index}", lead + [mc, nc], f"c{index}", self.parallel, lines)
        _tile(f"c{index}", inner + [0, 0, kc], f"k{index}", False, lines)
        _tile(f"k{index}", inner + [mr, nr, 1], f"r{index}", False, lines)
        lines.append(f"  transform.structured.vectorize %r{index} : !transform.any_op")
        lines.append("  transform.yield\n  }")
        return lines

    def _plan_generic(self, op, index):
        shapes = _static_shapes(op)
        if shapes is None or not _vectorizable_body(op):
            return None
        if "reduction" in str(op.attributes["iterator_types"]) and _has_op(op, _NAN_MIN_MAX):
            return None
        maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
        rank = maps[0].n_dims
        if rank == 0 or not all(_innermost_contiguous(mp, rank) for mp in maps):
            return None
        widths = [_bit_width(v.type.element_type) for v in op.operands]
        # i1 buffers hold a byte per element, an i1 vector a bit per lane;
        # fxc-expand-f64-to-half expands scalar f64 -> f16/bf16 truncations only.
        types = [v.type.element_type for v in op.operands]
        halves = any(isinstance(t, (ir.F16Type, ir.BF16Type)) for t in types)
        if None in widths or min(widths) < 8 or (halves and any(isinstance(t, ir.F64Type) for t in types)):
            return None
        extent = _loop_extent(maps, shapes, rank - 1)
        lanes = max(self.vector_bits // max(widths), 1)
        vr = _largest_divisor(extent, (4 * lanes, 2 * lanes, lanes, lanes // 2, 4, 2))
        if vr < 2:
            return None
        lines = self._open(index)
        sizes = [1] * (rank - 1) + [vr]
        _tile(f"m{index}", sizes, f"t{index}", False, lines)
        lines.append(f"  transform.structured.vectorize %t{index} : !transform.any_op")
        lines.append("  transform.yield\n  }")
        return lines

    def _interpret(self, module_op, body: str) -> None:
        script = ("module attributes {transform.with_named_sequence} {\n"
                  "transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {\n"
                  f"{body}\n  transform.yield\n}}\n}}\n")
        lib = parse_module(script, module_op.context)
        seq = lib.body.operations[0]
        seq.detach_from_parent()
        ir.InsertionPoint(module_op.regions[0].blocks[0]).insert(seq)
        module_op.attributes["transform.with_named_sequence"] = ir.UnitAttr.get()
        try:
            pm = passmanager.PassManager.parse("builtin.module(transform-interpreter)")
            pm.run(module_op)
        finally:
            seq.erase()
            del module_op.attributes["transform.with_named_sequence"]
            for op in _ops_named(module_op, None):
                if _ATTR in op.attributes:
                    del op.attributes[_ATTR]


def _ops_named(op, name):
    """Every op nested in ``op`` (pre-order) named ``name`` (any if None)."""
    out = []
    for region in op.regions:
        for block in region.blocks:
            for child in block.operations:
                child = child.operation
                if name is None or child.name == name:
                    out.append(child)
                out.extend(_ops_named(child, name))
    return out


def _defined_outside(value, loop) -> bool:
    owner = value.owner
    op = owner.owner if isinstance(owner, ir.Block) else owner.operation
    while op is not None:
        if op == loop:
            return False
        op = op.parent
    return True


def _hoist_accumulators(loop) -> None:
    """A ``transfer_read``/``transfer_write`` pair of one buffer at loop-
    invariant indices (the contraction's accumulator tile) becomes a value
    carried by ``loop``: read before it, written after it.

    Upstream's hoist_redundant_vector_transfers declines buffers that come
    from ``memref.subview``, which every tiled buffer does.  The tiled
    buffers of one linalg op are distinct views (an output never aliases an
    input of a contraction after one-shot bufferization)."""
    if len(loop.results):
        return
    body = loop.regions[0].blocks[0]
    ops = [o.operation for o in body.operations]
    if not any(o.name in ("vector.contract", "vector.multi_reduction") for o in ops):
        return
    reads = [o for o in ops if o.name == "vector.transfer_read"]
    writes = [o for o in ops if o.name == "vector.transfer_write"]
    if len(writes) != 1:
        return
    w = writes[0]
    base, idx = w.operands[1], list(w.operands)[2:]
    match = [r for r in reads if r.operands[0] == base and list(r.operands)[1:1 + len(idx)] == idx]
    if len(match) != 1 or not all(_defined_outside(v, loop) for v in [base, *idx, *match[0].operands]):
        return
    users = [u for u in ops if base in list(u.operands)]
    if len(users) != 2:
        return
    r = match[0]
    if r.result.type != w.operands[0].type:
        return  # the value written back is not the one read (a reshaped reduction): the loop cannot carry it
    r.move_before(loop)
    with loop.location:
        new = scf.ForOp(loop.operands[0], loop.operands[1], loop.operands[2], [r.result], ip=ir.InsertionPoint(loop))
        new_body = new.body
        body.arguments[0].replace_all_uses_with(new.induction_variable)
        r.result.replace_all_uses_with(new.inner_iter_args[0])
        ip = ir.InsertionPoint(new_body)
        value = w.operands[0]
        for o in ops:
            if o != w and o.name != "scf.yield" and o != r:
                o.detach_from_parent()
                ip.insert(o)
        scf.YieldOp([value], ip=ip)
        w.move_after(new.operation)
        w.operands[0] = new.results[0]
    # The read's own operand uses outside the loop stay; its result now
    # feeds the loop.
    new.operation.operands[3] = r.result
    loop.erase()


def _bit_width(t) -> int | None:
    for cls, w in ((ir.F32Type, 32), (ir.F64Type, 64), (ir.F16Type, 16), (ir.BF16Type, 16)):
        if isinstance(t, cls):
            return w
    if isinstance(t, ir.IntegerType):
        return ir.IntegerType(t).width
    return None


# A vector.reduction with a NaN-propagating min/max has no x86 instruction:
# LLVM expands it lane by lane, slower than the scalar loop.
_NAN_MIN_MAX = ("arith.maximumf", "arith.minimumf")


def _has_op(op, names) -> bool:
    return any(o.operation.name in names for o in op.regions[0].blocks[0].operations)


def _vectorizable_body(op) -> bool:
    for inner in op.regions[0].blocks[0].operations:
        name = inner.operation.name
        if name != "linalg.yield" and (not name.startswith(_BODY_DIALECTS) or name in _SCALAR_ONLY):
            return False
    return True


def _innermost_contiguous(mp, rank: int) -> bool:
    """The innermost loop dim is absent from ``mp`` or only its last result;
    every result is a dim or the constant 0."""
    results = list(mp.results)
    for i, r in enumerate(results):
        if isinstance(r, ir.AffineDimExpr):
            if ir.AffineDimExpr(r).position == rank - 1 and i != len(results) - 1:
                return False
        elif not (isinstance(r, ir.AffineConstantExpr) and ir.AffineConstantExpr(r).value == 0):
            return False
    return True


def _loop_extent(maps, shapes, dim: int) -> int:
    for mp, shape in zip(maps, shapes):
        for i, r in enumerate(mp.results):
            if isinstance(r, ir.AffineDimExpr) and ir.AffineDimExpr(r).position == dim:
                return shape[i]
    return 1
