"""Triton source for a kernel function of the ``kernels`` stage.

Two templates, both driven by the value engine (``emit.py``):

* **pointwise / reduction**: a 2-D tile ``[XBLOCK, RBLOCK]``: ``x`` indexes
  the flattened parallel coordinates, ``r`` the flattened reduction
  coordinates (a persistent reduction: one tile holds whole rows, so
  softmax and layer_norm read their input once).  When the root is
  elementwise and reads reductions broadcast (softmax's final division),
  root coordinates that no reduction result depends on and whose sizes
  match the reduced ones *are* the reduction coordinates.
* **matmul**: a ``[BM, BN]`` tile of a (batched) GEMM, accumulated over
  ``BK`` slices with ``tl.dot`` (fp32 accumulation for floating point, int32
  for int8), then the elementwise epilogue on the accumulator, then one store.

Block sizes come from the shapes (Inductor-like heuristics), baked into the
launch data next to the grid.  Static sizes are literals in the source; a
dynamic size is an expression over size symbols (``sizes.py``), which the
kernel takes as integer arguments; the grid, and the block sizes of a
reduction over a dynamic row, are expressions the host plan evaluates at
each launch (a dynamic size's block size is chosen for ``sizes.HINT``).
"""

from __future__ import annotations

from typing import Dict, List, Tuple

from torch_mlir import ir

from fxc.backends.triton import sizes
from fxc.backends.triton.emit import Coord, Emitter, element_type, tl_type
from fxc.backends.triton.partition import CONTRACTIONS, dim_position, indexing_maps, iterator_types, loop_sizes
from fxc.backends.triton.sizes import Shapes, Size
from fxc.errors import CompileError, location_of

#: Largest reduction a persistent (one-tile) reduction kernel handles.
MAX_RBLOCK = 1 << 15


def next_pow2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def _kernel_parts(fn):
    block = fn.regions[0].blocks[0]
    ret = list(block.operations)[-1]
    return block, list(ret.operands)


def _root_loops(root, results, shapes: Shapes) -> Tuple[List[Size], List[int], List[tuple]]:
    """Sizes of the root's loops, which are reduced, and each result's index
    (in loop coordinates)."""
    if root.name == "linalg.generic":
        sizes, its = loop_sizes(root, shapes), iterator_types(root)
        maps = indexing_maps(root)
        n_in = len(root.operands) - len(root.results)
        idx = []
        for r in results:
            k = list(root.results).index(r)
            idx.append(tuple(dim_position(e) for e in maps[n_in + k].results))
        return sizes, [i for i, it in enumerate(its) if it == "reduction"], idx
    shape = shapes.shape(results[0])
    red = [ir.IntegerAttr(root.attributes["dimension"]).value] if root.name == "tm_tensor.scan" else []
    return list(shape), red, [tuple(range(len(shape)))] * len(results)


def _decompose(name: str, ids: List[int], coords: List[Coord]) -> List[str]:
    lines, stride = [], 1
    for i in reversed(ids):
        c = coords[i]
        lines.append(f"c{i} = {name} // {sizes.atom(stride)} % {sizes.atom(c.size)}" if stride != 1
                     else f"c{i} = {name} % {sizes.atom(c.size)}")
        stride = sizes.mul(stride, c.size)
    return lines[::-1]


def pointwise(fn, name: str) -> Tuple[str, dict]:
    block, results = _kernel_parts(fn)
    root = results[0].owner
    alias, symbols = _size_params(fn)
    loops, red, out_idx = _root_loops(root, results, Shapes(alias))
    em = _pointwise_emitter(fn, loops, red, None, alias)
    em.emit_results = _emit_results(em, results, out_idx)
    if em.r_coords is not None and not red:
        ident = _identify(em, loops)
        if ident is not None:
            em = _pointwise_emitter(fn, loops, ident, ident, alias)
            em.emit_results = _emit_results(em, results, out_idx)
    coords = em.coords
    xs = [i for i, c in enumerate(coords) if c.axis == "x" and not c.derived]
    rs = [i for i, c in enumerate(coords) if c.axis == "r" and not c.derived]
    xn, rn = sizes.prod([coords[i].size for i in xs]), sizes.prod([coords[i].size for i in rs])
    if isinstance(rn, int):
        rblock = next_pow2(rn)
        if rblock > MAX_RBLOCK:
            raise CompileError(f"fxc's Triton backend reduces at most {MAX_RBLOCK} elements per row (persistent "
                               f"reduction); this kernel reduces {rn}", location_of(root.location))
        xblock = min(next_pow2(sizes.hint(xn)), 1024 if rn == 1 else max(1, 4096 // rblock))
        warps = 8 if xblock * rblock >= 8192 else 4
    else:  # a dynamic row: both blocks chosen at launch (the plan checks MAX_RBLOCK)
        rblock = f"pow2({rn})"
        xblock = f"max(1, 4096 // pow2({rn}))"
        warps = 8
    body = [
        "xindex = tl.program_id(0) * XBLOCK + tl.arange(0, XBLOCK)[:, None]",
        f"xmask = xindex < {sizes.atom(xn)}",
        "rindex = tl.arange(0, RBLOCK)[None, :]",
        f"rmask = rindex < {sizes.atom(rn)}",
        *_decompose("xindex", xs, coords), *_decompose("rindex", rs, coords),
        *em.lines, *em.emit_results,
    ]
    params = [*em.args.values(), *[f"out{i}" for i in range(len(results))], *(["fxc_err"] if em.checks else []),
              *symbols, "XBLOCK: tl.constexpr", "RBLOCK: tl.constexpr"]
    launch = {"grid": [sizes.cdiv(xn, xblock), 1, 1], "meta": {"XBLOCK": xblock, "RBLOCK": rblock},
              "num_warps": warps}
    _add_sizes(launch, alias, symbols)
    if isinstance(rblock, str):
        launch["limits"] = {"RBLOCK": MAX_RBLOCK}
    if em.checks:
        launch["checks"] = em.checks
    return _source(name, params, body), launch


def _size_params(fn) -> Tuple[Dict[str, str], List[str]]:
    """A kernel's integer parameters: the symbols its arguments' and results'
    sizes are, and a name ``zN`` for each other size expression (``max(s0, 1)``
    from the host's size arithmetic), which the kernel's source uses instead
    (``alias``: expression -> name); the plan evaluates them at each launch."""
    shapes = Shapes()
    block, results = _kernel_parts(fn)
    dims = [d for a in block.arguments if isinstance(a.type.maybe_downcast(), ir.ShapedType)
            for d in shapes.shape(a)]
    dims += [shapes.size(a) for a in block.arguments if not isinstance(a.type.maybe_downcast(), ir.ShapedType)]
    alias: Dict[str, str] = {}
    names: List[str] = []
    for d in dims + [d for r in results for d in shapes.shape(r)]:
        if isinstance(d, str) and d.isidentifier() and d not in names:
            names.append(d)
        elif isinstance(d, str) and not d.isidentifier() and d not in alias:
            alias[d] = f"z{len(alias)}"
            names.append(alias[d])
    return alias, names


def _add_sizes(launch: dict, alias: Dict[str, str], symbols: List[str]) -> None:
    if symbols:
        launch["symbols"] = symbols
    if alias:
        launch["aliases"] = {name: expr for expr, name in alias.items()}


def _pointwise_emitter(fn, sizes, red, r_ids, alias):
    coords = [Coord(f"c{i}", "r" if i in red else "x", s) for i, s in enumerate(sizes)]

    def new_r(size):
        coords.append(Coord(f"c{len(coords)}", "r", size))
        return len(coords) - 1

    args = _tensor_args(fn.regions[0].blocks[0])
    return Emitter(args, coords, {"x": "xmask", "r": "rmask"}, list(red) if red else None, new_r, alias=alias)


def _emit_results(em, results, out_idx) -> List[str]:
    stores = []
    for i, (r, loops) in enumerate(zip(results, out_idx)):
        index = tuple(None if p is None else p for p in loops)
        val, _ = em.value(r, index)
        axes = em.axes_of(index)
        shape = "[XBLOCK, RBLOCK]" if "r" in axes else "[XBLOCK, 1]"
        mask = em.mask_of(axes) or "xmask"
        off = em.offset(em.shapes.shape(r), index)
        if off == "0":  # a 0-d result (a full reduction): one pointer per row of the tile
            off = "xindex * 0"
        stores.append(f"tl.store(out{i} + {off}, tl.broadcast_to({val}, {shape}), mask={mask})")
    return stores


def _identify(em, sizes):
    """Root coordinates standing for the reduction coordinates, or None."""
    used = {c for idx in em.reduction_indices for c in idx if c is not None}
    free = [i for i in range(len(sizes)) if i not in used]
    ident = []
    for c in em.r_coords:
        match = next((i for i in free if sizes[i] == em.coords[c].size and i not in ident), None)
        if match is None:
            return None
        ident.append(match)
    return ident


def matmul(fn, name: str) -> Tuple[str, dict]:
    block, results = _kernel_parts(fn)
    mm = next(op.operation for op in block.operations if op.operation.name in CONTRACTIONS)
    root = results[0].owner
    alias, symbols = _size_params(fn)
    loops, red, out_idx = _root_loops(root, results, Shapes(alias))
    if red:
        raise CompileError("fxc's Triton backend cannot fuse a reduction after a matmul", location_of(root.location))
    # Dry run: where does the root read the contraction?
    probe = Emitter(_tensor_args(block), [Coord(f"c{i}", "x", s) for i, s in enumerate(loops)], {}, None,
                    alias=alias)
    seen = []
    probe.preset = _Recorder(mm.results[0], seen)
    for r, loops in zip(results, out_idx):
        probe.value(r, loops)
    index = seen[0]
    batched = mm.name == "linalg.batch_matmul"
    roles = {index[-2]: ("offs_m[:, None]", "m"), index[-1]: ("offs_n[None, :]", "n")}
    if batched:
        roles[index[0]] = ("pid_b", None)
    coords = []
    for i, s in enumerate(loops):
        expr, axis = roles.get(i, ("0", None))
        if i not in roles and s != 1:
            raise CompileError("fxc's Triton backend cannot fuse this epilogue (it broadcasts the matmul)",
                               location_of(root.location))
        coords.append(Coord(expr, axis, s))
    em = Emitter(probe.args, coords, {"m": "mmask", "n": "nmask"}, None, alias=alias)
    a, b, init = mm.operands
    a_shape, b_shape = em.shapes.shape(a), em.shapes.shape(b)
    M, K, N = a_shape[-2], a_shape[-1], b_shape[-1]
    a_name, a_strides = _operand(a, em)
    b_name, b_strides = _operand(b, em)
    in_type = tl_type(element_type(a))
    acc_type = "tl.int32" if in_type in ("tl.int8", "tl.int16") else "tl.float32"
    # tl.dot takes no wide integers: those GEMMs multiply a [BM, BK, BN] tile and sum over K
    # (exact, wrapping as torch's int32/int64 mm does), on small tiles.
    wide = in_type in ("tl.int32", "tl.int64")
    if wide:
        acc_type = in_type
    out_type = tl_type(element_type(mm.results[0]))
    init_v, _ = em.value(init, index)
    em.preset = {(mm.results[0], index): (em.fresh(f"(acc + {init_v}).to({out_type})", {"m", "n"})[0],
                                           frozenset({"m", "n"}))}
    stores = []
    for i, (r, loops) in enumerate(zip(results, out_idx)):
        val, _ = em.value(r, loops)
        off = em.offset(em.shapes.shape(r), loops)
        stores.append(f"tl.store(out{i} + {off}, tl.broadcast_to({val}, [BM, BN]), mask=mmask & nmask)")
    precision = ', input_precision="ieee"' if in_type in ("tl.float32", "tl.float64") else ""
    bm, bn = min(128, max(16, next_pow2(sizes.hint(M)))), min(128, max(16, next_pow2(sizes.hint(N))))
    bk = min(64, max(16, next_pow2(sizes.hint(K))))
    if wide:
        bm, bn, bk = min(bm, 32), min(bn, 32), 16
    M, K, N = (sizes.atom(x) for x in (M, K, N))
    ab = f"pid_b * {a_strides[0]} + " if batched else ""
    bb = f"pid_b * {b_strides[0]} + " if batched else ""
    body = [
        "pid_m = tl.program_id(0)", "pid_n = tl.program_id(1)", "pid_b = tl.program_id(2)",
        "offs_m = pid_m * BM + tl.arange(0, BM)", "offs_n = pid_n * BN + tl.arange(0, BN)",
        "offs_k = tl.arange(0, BK)",
        f"a_ptrs = {a_name} + {ab}offs_m[:, None] * {a_strides[-2]} + offs_k[None, :] * {a_strides[-1]}",
        f"b_ptrs = {b_name} + {bb}offs_k[:, None] * {b_strides[-2]} + offs_n[None, :] * {b_strides[-1]}",
        f"acc = tl.zeros((BM, BN), dtype={acc_type})",
        f"for k in range(0, tl.cdiv({K}, BK)):",
        f"    kmask = offs_k < {K} - k * BK",
        f"    a = tl.load(a_ptrs, mask=(offs_m[:, None] < {M}) & kmask[None, :], other=0)",
        f"    b = tl.load(b_ptrs, mask=kmask[:, None] & (offs_n[None, :] < {N}), other=0)",
        "    acc += tl.sum(a[:, :, None] * b[None, :, :], axis=1)" if wide else
        f"    acc = tl.dot(a, b, acc, out_dtype={acc_type}{precision})",
        f"    a_ptrs += BK * {a_strides[-1]}", f"    b_ptrs += BK * {b_strides[-2]}",
        f"mmask = offs_m[:, None] < {M}", f"nmask = offs_n[None, :] < {N}",
        *em.lines, *stores,
    ]
    if em.checks:
        raise CompileError("fxc's Triton backend cannot fuse a gather into a matmul epilogue",
                           location_of(root.location))
    params = [*em.args.values(), *[f"out{i}" for i in range(len(results))], *symbols, "BM: tl.constexpr",
              "BN: tl.constexpr", "BK: tl.constexpr"]
    batch = a_shape[0] if batched else 1
    launch = {"grid": [sizes.cdiv(a_shape[-2], bm), sizes.cdiv(b_shape[-1], bn), batch],
              "meta": {"BM": bm, "BN": bn, "BK": bk},
              "num_warps": 8 if bm * bn >= 128 * 128 else 4, "num_stages": 3}
    _add_sizes(launch, alias, symbols)
    return _source(name, params, body), launch


class _Recorder(dict):
    """A preset table that records the index the contraction is read at."""

    def __init__(self, value, seen):
        super().__init__()
        self._value, self._seen = value, seen

    def __contains__(self, key):
        if key[0] == self._value:
            self._seen.append(key[1])
            return True
        return False

    def __getitem__(self, key):
        return "acc", frozenset()


def _operand(v, em) -> Tuple[str, List[int]]:
    """A GEMM operand's kernel argument and strides (a transpose of one is
    read through permuted strides)."""
    perm = None
    if v not in em.args and not isinstance(v.owner, ir.Block) and v.owner.name == "linalg.transpose":
        perm = list(ir.DenseI64ArrayAttr(v.owner.attributes["permutation"]))
        v = v.owner.operands[0]
    if v not in em.args:
        raise CompileError("fxc's Triton backend reads matmul operands from memory only (no prologue fusion)",
                           location_of(v.owner.location))
    strides = [sizes.atom(s) for s in sizes.strides(em.shapes.shape(v))]
    if perm is not None:
        strides = [strides[p] for p in perm]
    return em.args[v], strides


def _tensor_args(block) -> dict:
    """Triton names of a kernel's tensor arguments (``index`` arguments are
    sizes: the kernel takes their symbols instead)."""
    tensors = [a for a in block.arguments if isinstance(a.type.maybe_downcast(), ir.ShapedType)]
    return {a: f"in{i}" for i, a in enumerate(tensors)}


def _source(name: str, params, body) -> str:
    lines = ["@triton.jit", f"def {name}({', '.join(params)}):"]
    lines += [f"    {b}" for b in body]
    return "\n".join(lines) + "\n"


TEMPLATES = {"pointwise": pointwise, "reduction": pointwise, "matmul": matmul}
