"""fxc-convert-linalg-to-vector: tile float contractions and elementwise /
reduction ``linalg`` ops on buffers, and vectorize them.

Options: ``vector-bits`` (the host's SIMD width: 512 for AVX-512, 256 for
AVX2, 128 elsewhere) and ``parallel`` (outer contraction tiles, and the
outer parallel dimension of generics, become ``scf.forall``, which
``scf-forall-to-parallel`` + ``convert-scf-to-openmp`` run on threads: for
contractions of at least 2^20 multiply-adds in two tiles or more, generics
of at least 2^16 iterations, a dynamic size counted as 64; otherwise
``scf.for``).

The pass chooses tile sizes per op in Python, tags each op with
``fxc.vectorize = N`` and builds one transform-dialect script that the
upstream ``transform-interpreter`` applies:

* ``linalg.matmul`` / ``linalg.batch_matmul`` on f32/f64 (or f16/bf16 inputs into
  an f32 accumulator, widened as read): cache tiles
  (batch 1, M <= 64, N <= 256, K <= 256; the M/N tile loop is an
  ``scf.forall``), then a register tile ``mr x (2 * lanes) x 1`` that
  vectorizes to ``vector.contract`` and lowers to ``vector.fma`` outer
  products with the accumulator tile hoisted out of the K loop.
* ``linalg.generic`` whose body is arith/math only, with the innermost loop
  dimension innermost (or absent) in every operand: every dimension but the
  innermost is tiled by 1, the innermost by up to ``4 * lanes``, and the tile
  is vectorized.  A loop that reduces each vector into a carried accumulator
  carries the whole vector instead (one vector op per step) and reduces it
  horizontally once, after the loop.

Static tile sizes always divide the dimension, so no masks are needed.  A
dynamic dimension's tile loop is peeled: the main loop's tiles are static and
vectorized; the remainder's are vectorized a row at a time for contractions
and left scalar for generics.  An op none fits stays for
``convert-linalg-to-loops``, as do generics on i1 buffers, with
``math.fpowi``/``ipowi``, or truncating f64 to f16/bf16 (see the checks
below).  A transform that does not apply (the vectorizer declines) is
silenced per op and leaves the op as it was.
"""

from __future__ import annotations

import math

from torch_mlir import ir, passmanager
from torch_mlir.dialects import arith, scf, vector

from fxc._mlir_compat import defined_inside, nested_ops, parse_module
from fxc.backends.cpu.passes._generic_views import (bit_width as _bit_width, collapse_inner_loops,
                                                     drop_unit_results, loop_extent as _loop_extent,
                                                     operand_shapes as _shapes)
from fxc.compiler.passes import ModulePass, register

_ATTR = "fxc.vectorize"
#: Multiply-adds below which a contraction's tiles run on one thread.
_PARALLEL_WORK = 1 << 20
#: Iterations below which an elementwise / reduction generic runs on one thread.
_PARALLEL_ELEMENTS = 1 << 16
_TYPICAL_DYNAMIC_SIZE = 64
#: The widest cache tile of a contraction's N dimension.
_CACHE_N = 256
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
      transform.apply_patterns.vector.sink_ops
      transform.apply_patterns.canonicalization
    } : !transform.any_op
    %loops = transform.structured.match ops{["scf.for"]} in %root : (!transform.any_op) -> !transform.any_op
    transform.apply_licm to %loops : !transform.any_op
"""
# (a format string: {transpose} is the transpose lowering for the host)
_LOWER_VECTORS = """
    %f2 = transform.structured.match ops{{["func.func"]}} in %root : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %f2 {{
      transform.apply_patterns.vector.lower_contraction lowering_strategy = "outerproduct"
      transform.apply_patterns.vector.lower_outerproduct
    }} : !transform.any_op
    transform.apply_patterns to %f2 {{
      transform.apply_patterns.vector.lower_transfer max_transfer_rank = 1
      transform.apply_patterns.vector.transfer_to_scf full_unroll = true
      transform.apply_patterns.vector.lower_broadcast
      transform.apply_patterns.vector.lower_shape_cast
      transform.apply_patterns.vector.lower_transpose {transpose}
    }} : !transform.any_op
"""


def _element_bits(op) -> int | None:
    """The float width a contraction accumulates in: its f32/f64 output's,
    with inputs of that type, or half-precision inputs (f16/bf16) into an
    f32 accumulator (widened as they are read); else None."""
    *inputs, out = [v.type.element_type for v in op.operands]
    if isinstance(out, ir.F64Type) and all(isinstance(t, ir.F64Type) for t in inputs):
        return 64
    if isinstance(out, ir.F32Type) and all(isinstance(t, (ir.F32Type, ir.F16Type, ir.BF16Type)) for t in inputs):
        return 32
    return None


def _largest_divisor(n: int | None, candidates) -> int:
    """The first candidate that divides ``n``; for a dynamic ``n``, the
    first candidate (its partial tiles are peeled, see ``_peel``)."""
    if n is None:
        return next(c for c in candidates if c >= 1)
    return next((c for c in candidates if c >= 1 and n % c == 0), 1)


def _register_rows(lanes: int) -> int:
    """Rows of a contraction's register tile (two vectors wide): 8 x 2
    accumulators of AVX-512's 32 registers; 6 x 2 of AVX2's (or SSE's,
    NEON's) 16, with two for the row of B and one for A's broadcast: 12
    independent FMA chains, more than the 2 pipes x 4 cycles of latency
    that 4 x 2 only just cover."""
    return 8 if lanes >= 16 else 6


def _split(handle: str, extent, units, dimension: int, tag: str, lines: list) -> list:
    """``[(handle, extent)]`` of the parts of ``handle``'s op along
    ``dimension``: for each unit in turn, a part of whole units and the
    rest (a static extent the unit does not divide); the last part is the
    remainder."""
    parts = []
    for unit in units:
        if extent is None or extent <= unit or extent % unit == 0:
            continue
        main = extent // unit * unit
        t = f"{tag}_{len(parts)}"
        lines.append(f"  %sp{t} = transform.structured.split %{handle} after {main}"
                     f" {{dimension = {dimension}}} : !transform.any_op")
        lines.append(f"  %sm{t}, %sr{t} = transform.split_handle %sp{t}"
                     " : (!transform.any_op) -> (!transform.any_op, !transform.any_op)")
        parts.append((f"sm{t}", main))
        extent, handle = extent - main, f"sr{t}"
    return parts + [(handle, extent)]


def _tile(handle: str, sizes, out: str, forall: bool, lines: list, interchange=None) -> None:
    n = sum(1 for s in sizes if s)
    sizes_text = ", ".join(str(s) for s in sizes)
    if interchange:
        sizes_text += "] interchange = [" + ", ".join(str(i) for i in interchange)
    if forall:
        lines.append(f"  %{out}, %{out}_l = transform.structured.tile_using_forall %{handle} tile_sizes [{sizes_text}]"
                     " : (!transform.any_op) -> (!transform.any_op, !transform.any_op)")
    else:
        loops = ", ".join(["!transform.any_op"] * n)
        lines.append(f"  %{out}, %{out}_l:{n} = transform.structured.tile_using_for %{handle} tile_sizes [{sizes_text}]"
                     f" : (!transform.any_op) -> (!transform.any_op, {loops})")


def _peel(handle: str, sizes, op_name: str, out: str, lines: list) -> tuple:
    """Tile ``handle`` by ``sizes`` (one nonzero size: a dimension of dynamic
    extent) and peel the loop: the main loop's tiles have the static size,
    the remainder loop's are smaller.  Returns the handles of the op in the
    main and in the remainder loop."""
    _tile(handle, sizes, out, False, lines)
    lines.append(f'  %{out}_f = transform.cast %{out}_l#0 : !transform.any_op to !transform.op<"scf.for">')
    lines.append(f"  %{out}_main, %{out}_rest = transform.loop.peel %{out}_f"
                 ' : (!transform.op<"scf.for">) -> (!transform.any_op, !transform.any_op)')
    for part in ("main", "rest"):
        lines.append(f'  %{out}_{part}_op = transform.structured.match ops{{["{op_name}"]}} in %{out}_{part}'
                     " : (!transform.any_op) -> !transform.any_op")
    return f"{out}_main_op", f"{out}_rest_op"


@register
class ConvertLinalgToVector(ModulePass):
    name = "fxc-convert-linalg-to-vector"
    summary = "Tile and vectorize float contractions and elementwise/reduction linalg ops"

    def __init__(self, vector_bits: int = 512, parallel: bool = False):
        self.vector_bits = int(vector_bits)
        self.parallel = parallel in (True, "true", "1", 1)

    def run(self, module_op):
        for op in nested_ops(module_op, "linalg.generic"):
            drop_unit_results(op)
            while collapse_inner_loops(op, self.vector_bits):
                pass
        steps = []
        for func in module_op.regions[0].blocks[0].operations:
            if func.operation.name != "func.func" or not func.regions[0].blocks:
                continue
            self._walk(func.operation, steps)
        if not steps:
            return
        self._interpret(module_op, "\n".join(steps) + _CANONICALIZE_VECTORS)
        for loop in reversed(nested_ops(module_op, "scf.for")):
            _hoist_accumulators(loop)
        for loop in nested_ops(module_op, "scf.for"):
            _widen_reduction(loop)
        # 16 x 16 f32 tiles through AVX-512 shuffles, 8 x 8 through AVX2's;
        # other shapes element by element.
        transpose = ('lowering_strategy = "shuffle_16x16"' if self.vector_bits >= 512
                     else "avx2_lowering_strategy = true" if self.vector_bits == 256 else "")
        self._interpret(module_op, _LOWER_VECTORS.format(transpose=transpose))

    def _walk(self, parent, steps):
        """Plans every op nested in ``parent`` (loops included, not linalg
        bodies: a planned op's region is its scalar body)."""
        for region in parent.regions:
            for block in region.blocks:
                for op in block.operations:
                    op = op.operation
                    lines = self._plan(op, len(steps))
                    if lines:
                        op.attributes[_ATTR] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), len(steps))
                        steps.append("\n".join(lines))
                    elif op.regions and not op.name.startswith("linalg."):
                        self._walk(op, steps)

    def _plan(self, op, index: int) -> list | None:
        if op.name in _CONTRACTIONS:
            return self._plan_contraction(op, index)
        if op.name == "linalg.transpose":
            return self._plan_transpose(op, index)
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
        shapes, bits = _shapes(op), _element_bits(op)
        if shapes is None or bits is None:
            return None
        lanes = max(self.vector_bits // bits, 1)
        *batch, m, k = shapes[0]
        n = shapes[1][-1]
        lines = self._open(index)
        # Threads only for enough work to pay for a fork/join (a dynamic
        # size counted as _TYPICAL_DYNAMIC_SIZE).
        def typical(d):
            return _TYPICAL_DYNAMIC_SIZE if d is None else d

        work = math.prod(typical(d) for d in (*batch, m, n, k))
        parallel = self.parallel and "fxc.sequential" not in op.attributes and work >= _PARALLEL_WORK
        # A static N that whole vectors do not divide (a 56-wide convolution
        # row): split into a part of whole vectors and a remainder, each
        # with its own register tile, rather than one narrow tile for all.
        # A long one: first a part of whole cache tiles (256 wide).
        # A static M that the register tile's rows do not divide (64 rows
        # of 6-row tiles): the same, one part of whole register tiles and
        # the rest.
        rows = _register_rows(lanes)
        m_parts = _split(f"m{index}", m, (rows,), len(batch), f"{index}r", lines)
        for i, (m_handle, m_part) in enumerate(m_parts):
            n_parts = _split(m_handle, n, (_CACHE_N, lanes) if lanes >= 4 else (), len(batch) + 1,
                             f"{index}_{i}", lines)
            for j, (handle, n_part) in enumerate(n_parts):
                self._tile_contraction(handle, f"{index}_{i}_{j}", batch, m_part, n_part, k, lanes, parallel,
                                       lines)
        lines.append("  transform.yield\n  }")
        return lines

    @staticmethod
    def _tile_contraction(handle, tag, batch, m, n, k, lanes, parallel, lines):
        """Cache tiles (an scf.forall when ``parallel`` and there are two
        or more), then register tiles, vectorized, for one contraction of
        the given sizes (None: dynamic, peeled)."""
        mr = _largest_divisor(m, (_register_rows(lanes), 4, 2, 1))
        nr = _largest_divisor(n, (2 * lanes, lanes, lanes // 2, 4, 2, 1))
        mc = _largest_divisor(m, [c for c in range(64, 0, -1) if c % mr == 0])
        nc = _largest_divisor(n, [c for c in range(_CACHE_N, 0, -1) if c % nr == 0])
        kc = _largest_divisor(k, range(256, 0, -1))
        lead = [1] * len(batch)
        inner = [0] * len(batch)

        def typical(d):
            return _TYPICAL_DYNAMIC_SIZE if d is None else d

        tiles = math.prod(typical(d) for d in batch) * -(-typical(m) // mc) * -(-typical(n) // nc)
        _tile(handle, lead + [mc, nc], f"c{tag}", parallel and tiles >= 2, lines)
        _tile(f"c{tag}", inner + [0, 0, kc], f"k{tag}", False, lines)
        # A dynamic M or N: peel its register-tile loop, so that the main
        # loop's tiles are static (vectorized as a static dimension's) and
        # the remainder's are vectorized one row (column) at a time.
        variants = [(f"k{tag}", mr, nr)]
        if m is None:
            main, rest = _peel(f"k{tag}", inner + [mr], "linalg.matmul" if not batch else "linalg.batch_matmul",
                               f"pm{tag}", lines)
            variants = [(main, mr, nr), (rest, 1, nr)]
        if n is None:
            split = []
            for j, (h, mt, nt) in enumerate(variants):
                main, rest = _peel(h, inner + [0, nr], "linalg.matmul" if not batch else "linalg.batch_matmul",
                                   f"pn{tag}_{j}", lines)
                split += [(main, mt, nt), (rest, mt, 1)]
            variants = split
        for j, (h, mt, nt) in enumerate(variants):
            # Register tiles column-major in the cache tile: B's [k, nr]
            # panel stays in L1 while A's rows stream past it (BLIS's
            # order), rather than all of B streaming past each row of A.
            b = len(batch)
            _tile(h, inner + [mt, nt, 1], f"r{tag}_{j}", False, lines, interchange=[*range(b), b + 1, b, b + 2])
            lines.append(f"  transform.structured.vectorize %r{tag}_{j} : !transform.any_op")

    def _plan_transpose(self, op, index):
        """A transpose that keeps the innermost dimension is a vectorized
        copy of rows; one that swaps the two innermost moves ``t x t``
        tiles through registers (``vector.transpose``, shuffles)."""
        shapes = _shapes(op)
        widths = [_bit_width(v.type.element_type) for v in op.operands]
        if shapes is None or None in widths or min(widths) < 8 or widths[0] != widths[1]:
            return None
        perm = list(ir.DenseI64ArrayAttr(op.attributes["permutation"]))
        out = shapes[1]
        rank = len(out)
        lanes = max(self.vector_bits // widths[0], 1)
        if rank >= 1 and perm[-1] == rank - 1 and out[-1] is not None:
            sizes = [1] * (rank - 1) + [_largest_divisor(out[-1], (4 * lanes, 2 * lanes, lanes, lanes // 2, 4, 2))]
        elif rank >= 2 and perm[-2:] == [rank - 1, rank - 2] and None not in out[-2:]:
            t = _largest_divisor(min(out[-2:]), (lanes, lanes // 2, 4))
            if out[-2] % t or out[-1] % t:
                return None
            sizes = [1] * (rank - 2) + [t, t]
        else:
            return None
        if sizes[-1] < 2:
            return None
        lines = self._open(index)
        _tile(f"m{index}", sizes, f"t{index}", False, lines)
        lines.append(f"  transform.structured.vectorize %t{index} : !transform.any_op")
        lines.append("  transform.yield\n  }")
        return lines

    def _plan_generic(self, op, index):
        shapes = _shapes(op)
        if shapes is None or not _vectorizable_body(op):
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
        if extent is None:
            # A dynamic innermost extent: tiles of one vector, the loop
            # peeled; its remainder stays for the scalar loops.
            if lanes < 2:
                return None
            lines = self._open(index)
            handle = self._fork(op, maps, shapes, rank, index, lines)
            if rank > 1:
                _tile(handle, [1] * (rank - 1), f"o{index}", False, lines)
                handle = f"o{index}"
            sizes = [0] * (rank - 1) + [lanes]
            main, _ = _peel(handle, sizes, op.name, f"p{index}", lines)
            # Tiled once more, the main loop's op reads static-sized views
            # (peeling makes the size a constant, not the views' types).
            _tile(main, sizes, f"t{index}", False, lines)
            lines.append(f"  transform.structured.vectorize %t{index} : !transform.any_op")
            lines.append("  transform.yield\n  }")
            return lines
        vr = _largest_divisor(extent, (4 * lanes, 2 * lanes, lanes, lanes // 2, 4, 2))
        if vr < 2:
            return None
        lines = self._open(index)
        handle = self._fork(op, maps, shapes, rank, index, lines, vr)
        sizes = [1] * (rank - 1) + [vr]
        _tile(handle, sizes, f"t{index}", False, lines)
        lines.append(f"  transform.structured.vectorize %t{index} : !transform.any_op")
        lines.append("  transform.yield\n  }")
        return lines

    def _fork(self, op, maps, shapes, rank: int, index: int, lines: list, vr: int = 0) -> str:
        """Spreads a generic of enough work over threads: an ``scf.forall``
        over its outermost parallel dimension but the innermost (one
        iteration per index; OpenMP's static schedule gives each thread a
        contiguous block), or, for a 1-d op, over vector-aligned chunks of
        its one dimension.  Returns the handle of the op to tile further."""
        handle = f"m{index}"
        if not self.parallel or "fxc.sequential" in op.attributes:
            return handle
        extents = [_loop_extent(maps, shapes, d) for d in range(rank)]
        if math.prod(_TYPICAL_DYNAMIC_SIZE if e is None else e for e in extents) < _PARALLEL_ELEMENTS:
            return handle
        kinds = [str(a) for a in ir.ArrayAttr(op.attributes["iterator_types"])]
        parallel = [d for d in range(rank) if "parallel" in kinds[d]]
        outer = [d for d in parallel if d < rank - 1 and (extents[d] is None or extents[d] >= 2)]
        sizes = [0] * rank
        if outer:
            sizes[outer[0]] = 1
        elif rank == 1 and parallel and extents[0] is not None and vr:
            # Chunks of whole vector tiles, at least 8 of them.
            chunk = _largest_divisor(extents[0], range(extents[0] // 8 // vr * vr, 0, -vr))
            if chunk < vr:
                return handle
            sizes[0] = chunk
        else:
            return handle
        _tile(handle, sizes, f"q{index}", True, lines)
        return f"q{index}"

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
            for op in nested_ops(module_op, None):
                if _ATTR in op.attributes:
                    del op.attributes[_ATTR]


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
    if len(match) != 1 or any(defined_inside(v, loop) for v in [base, *idx, *match[0].operands]):
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


#: vector.kind -> (elementwise op, neutral element) for float reductions.
_COMBINE = {
    "add": (arith.AddFOp, -0.0),
    "mul": (arith.MulFOp, 1.0),
    "maximumf": (arith.MaximumFOp, float("-inf")),
    "minimumf": (arith.MinimumFOp, float("inf")),
    "maxnumf": (arith.MaxNumFOp, float("-inf")),
    "minnumf": (arith.MinNumFOp, float("inf")),
}


def _widen_reduction(loop) -> None:
    """A loop that reduces each vector it reads into its carried accumulator
    (``acc = multi_reduction(v, acc)``: a horizontal reduction per
    iteration) carries a whole vector instead (``acc = combine(v, acc)``, one
    instruction) and reduces it once after the loop.  The float reduction is
    reassociated, as eager's vectorized reductions are."""
    if len(loop.results) != 1:
        return
    body = loop.regions[0].blocks[0]
    carried = body.arguments[1]
    for o in list(body.operations):
        if o.operation.name == "vector.contract" and o.operation.operands[2] == carried:
            _contract_as_reduction(o.operation)
    ops = [o.operation for o in body.operations]
    red = [o for o in ops if o.name == "vector.multi_reduction" and o.operands[1] == carried]
    if len(red) != 1 or sum(1 for o in ops for v in o.operands if v == carried) != 1:
        return
    red = red[0]
    yield_op = ops[-1]
    kind = str(red.attributes["kind"]).removeprefix("#vector.kind<").removesuffix(">")
    source_type = red.operands[0].type
    if (kind not in _COMBINE or len(yield_op.operands) != 1 or yield_op.operands[0] != red.results[0]
            or not isinstance(ir.VectorType(source_type).element_type, (ir.F32Type, ir.F64Type))):
        return
    combine, neutral = _COMBINE[kind]
    elem = ir.VectorType(source_type).element_type
    with loop.location, ir.InsertionPoint(loop):
        init = arith.ConstantOp(source_type, ir.DenseElementsAttr.get_splat(source_type, ir.FloatAttr.get(elem, neutral)))
        new = scf.ForOp(loop.operands[0], loop.operands[1], loop.operands[2], [init.result])
    body.arguments[0].replace_all_uses_with(new.induction_variable)
    ip = ir.InsertionPoint(new.body)
    for o in ops:
        if o != yield_op and o != red:
            o.detach_from_parent()
            ip.insert(o)
    with loop.location:
        acc = combine(red.operands[0], new.inner_iter_args[0], ip=ip).result
        scf.YieldOp([acc], ip=ip)
        with ir.InsertionPoint(loop):
            total = vector.MultiDimReductionOp(ir.Attribute.parse(f"#vector.kind<{kind}>"), new.results[0],
                                               loop.operands[3], red.attributes["reduction_dims"])
    loop.results[0].replace_all_uses_with(total.result)
    loop.erase()  # with its body's remains: the reduction and the yield


def _contract_as_reduction(op) -> None:
    """``contract(a, b, acc)`` of two same-shaped float operands read
    elementwise (``reduction_to_contract`` made it of a sum of products,
    the variance's ``sum((x - mean)^2)``) becomes ``multi_reduction(a * b,
    acc)``, which ``_widen_reduction`` carries as a whole vector."""
    maps = [ir.AffineMapAttr(m).value for m in ir.ArrayAttr(op.attributes["indexing_maps"])]
    kinds = ["reduction" in str(k) for k in ir.ArrayAttr(op.attributes["iterator_types"])]
    lhs, rhs, acc = op.operands
    if (str(op.attributes["kind"]) != "#vector.kind<add>" or lhs.type != rhs.type or maps[0] != maps[1]
            or maps[0] != ir.AffineMap.get_identity(len(kinds))
            or not isinstance(ir.VectorType(lhs.type).element_type, (ir.F32Type, ir.F64Type))):
        return
    with op.location, ir.InsertionPoint(op):
        product = arith.MulFOp(lhs, rhs).result
        dims = [i for i, r in enumerate(kinds) if r]
        red = vector.MultiDimReductionOp(ir.Attribute.parse("#vector.kind<add>"), product, acc, dims)
    op.results[0].replace_all_uses_with(red.result)
    op.erase()


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
