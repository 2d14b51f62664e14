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
launch data next to the grid; shapes are static literals in the source.
"""

from __future__ import annotations

import math
from typing import Dict, List, Tuple

from torch_mlir import ir

from fxc.backends.triton.emit import Coord, Emitter, element_type, tl_type
from fxc.backends.triton.partition import CONTRACTIONS, dim_position, indexing_maps, iterator_types, loop_sizes
from fxc.errors import CompileError, location_of

#: Largest reduction a persistent (one-tile) reduction kernel handles.
MAX_RBLOCK = 1 << 15


def next_pow2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def _kernel_parts(fn):
    block = fn.regions[0].blocks[0]
    ret = list(block.operations)[-1]
    return block, list(ret.operands)


def _root_loops(root, results) -> Tuple[List[int], List[int], List[tuple]]:
    """Sizes of the root's loops, which are reduced, and each result's index
    (in loop coordinates)."""
    if root.name == "linalg.generic":
        sizes, its = loop_sizes(root), iterator_types(root)
        maps = indexing_maps(root)
        n_in = len(root.operands) - len(root.results)
        idx = []
        for r in results:
            k = list(root.results).index(r)
            idx.append(tuple(dim_position(e) for e in maps[n_in + k].results))
        return sizes, [i for i, it in enumerate(its) if it == "reduction"], idx
    shape = ir.RankedTensorType(results[0].type).shape
    return list(shape), [], [tuple(range(len(shape)))]


def _decompose(name: str, ids: List[int], coords: List[Coord]) -> List[str]:
    lines, stride = [], 1
    for i in reversed(ids):
        c = coords[i]
        lines.append(f"c{i} = {name} // {stride} % {c.size}" if stride > 1 else f"c{i} = {name} % {c.size}")
        stride *= c.size
    return lines[::-1]


def pointwise(fn, name: str) -> Tuple[str, dict]:
    block, results = _kernel_parts(fn)
    root = results[0].owner
    sizes, red, out_idx = _root_loops(root, results)
    em = _pointwise_emitter(fn, sizes, red, None)
    em.emit_results = _emit_results(em, results, out_idx)
    if em.r_coords is not None and not red:
        ident = _identify(em, sizes)
        if ident is not None:
            em = _pointwise_emitter(fn, sizes, ident, ident)
            em.emit_results = _emit_results(em, results, out_idx)
    coords = em.coords
    xs = [i for i, c in enumerate(coords) if c.axis == "x"]
    rs = [i for i, c in enumerate(coords) if c.axis == "r"]
    xn, rn = math.prod(coords[i].size for i in xs), math.prod(coords[i].size for i in rs)
    rblock = next_pow2(rn)
    if rblock > MAX_RBLOCK:
        raise CompileError(f"fxc's Triton backend reduces at most {MAX_RBLOCK} elements per row (persistent "
                           f"reduction); this kernel reduces {rn}", location_of(root.location))
    xblock = min(next_pow2(xn), 1024 if rn == 1 else max(1, 4096 // rblock))
    body = [
        "xindex = tl.program_id(0) * XBLOCK + tl.arange(0, XBLOCK)[:, None]",
        f"xmask = xindex < {xn}",
        "rindex = tl.arange(0, RBLOCK)[None, :]",
        f"rmask = rindex < {rn}",
        *_decompose("xindex", xs, coords), *_decompose("rindex", rs, coords),
        *em.lines, *em.emit_results,
    ]
    params = [*em.args.values(), *[f"out{i}" for i in range(len(results))], "XBLOCK: tl.constexpr",
              "RBLOCK: tl.constexpr"]
    launch = {"grid": [-(-xn // xblock), 1, 1], "meta": {"XBLOCK": xblock, "RBLOCK": rblock},
              "num_warps": 8 if xblock * rblock >= 8192 else 4}
    return _source(name, params, body), launch


def _pointwise_emitter(fn, sizes, red, r_ids):
    coords = [Coord(f"c{i}", "r" if i in red else "x", s) for i, s in enumerate(sizes)]

    def new_r(size):
        coords.append(Coord(f"c{len(coords)}", "r", size))
        return len(coords) - 1

    args = {a: f"in{i}" for i, a in enumerate(fn.regions[0].blocks[0].arguments)}
    return Emitter(args, coords, {"x": "xmask", "r": "rmask"}, list(red) if red else None, new_r)


def _emit_results(em, results, out_idx) -> List[str]:
    stores = []
    for i, (r, loops) in enumerate(zip(results, out_idx)):
        index = tuple(None if p is None else p for p in loops)
        val, _ = em.value(r, index)
        axes = em.axes_of(index)
        shape = "[XBLOCK, RBLOCK]" if "r" in axes else "[XBLOCK, 1]"
        mask = em.mask_of(axes) or "xmask"
        off = em.offset(ir.RankedTensorType(r.type).shape, index)
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
    sizes, red, out_idx = _root_loops(root, results)
    if red:
        raise CompileError("fxc's Triton backend cannot fuse a reduction after a matmul", location_of(root.location))
    # Dry run: where does the root read the contraction?
    probe = Emitter({a: f"in{i}" for i, a in enumerate(block.arguments)},
                    [Coord(f"c{i}", "x", s) for i, s in enumerate(sizes)], {}, None)
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
    for i, s in enumerate(sizes):
        expr, axis = roles.get(i, ("0", None))
        if i not in roles and s != 1:
            raise CompileError("fxc's Triton backend cannot fuse this epilogue (it broadcasts the matmul)",
                               location_of(root.location))
        coords.append(Coord(expr, axis, s))
    em = Emitter(probe.args, coords, {"m": "mmask", "n": "nmask"}, None)
    a, b, init = mm.operands
    a_shape, b_shape = ir.RankedTensorType(a.type).shape, ir.RankedTensorType(b.type).shape
    M, K, N = a_shape[-2], a_shape[-1], b_shape[-1]
    a_name, a_strides = _operand(a, em)
    b_name, b_strides = _operand(b, em)
    in_type = tl_type(element_type(a))
    acc_type = "tl.int32" if in_type in ("tl.int8", "tl.int16") else "tl.float32"
    out_type = tl_type(element_type(mm.results[0]))
    init_v, _ = em.value(init, index)
    em.preset = {(mm.results[0], index): (em.fresh(f"(acc + {init_v}).to({out_type})", {"m", "n"})[0],
                                           frozenset({"m", "n"}))}
    stores = []
    for i, (r, loops) in enumerate(zip(results, out_idx)):
        val, _ = em.value(r, loops)
        off = em.offset(ir.RankedTensorType(r.type).shape, loops)
        stores.append(f"tl.store(out{i} + {off}, tl.broadcast_to({val}, [BM, BN]), mask=mmask & nmask)")
    precision = ', input_precision="ieee"' if in_type in ("tl.float32", "tl.float64") else ""
    bm, bn = min(128, max(16, next_pow2(M))), min(128, max(16, next_pow2(N)))
    bk = min(64, max(16, next_pow2(K)))
    ab = f"pid_b * {a_strides[0]} + " if batched else ""
    bb = f"pid_b * {b_strides[0]} + " if batched else ""
    body = [
        "pid_m = tl.program_id(0)", "pid_n = tl.program_id(1)", "pid_b = tl.program_id(2)",
        "offs_m = pid_m * BM + tl.arange(0, BM)", "offs_n = pid_n * BN + tl.arange(0, BN)",
        "offs_k = tl.arange(0, BK)",
        f"a_ptrs = {a_name} + {ab}offs_m[:, None] * {a_strides[-2]} + offs_k[None, :] * {a_strides[-1]}",
        f"b_ptrs = {b_name} + {bb}offs_k[:, None] * {b_strides[-2]} + offs_n[None, :] * {b_strides[-1]}",
        f"acc = tl.zeros((BM, BN), dtype={acc_type})",
        f"for k in range(0, {-(-K // bk)}):",
        f"    kmask = offs_k < {K} - k * BK",
        f"    a = tl.load(a_ptrs, mask=(offs_m[:, None] < {M}) & kmask[None, :], other=0)",
        f"    b = tl.load(b_ptrs, mask=kmask[:, None] & (offs_n[None, :] < {N}), other=0)",
        f"    acc = tl.dot(a, b, acc, out_dtype={acc_type}{precision})",
        f"    a_ptrs += BK * {a_strides[-1]}", f"    b_ptrs += BK * {b_strides[-2]}",
        f"mmask = offs_m[:, None] < {M}", f"nmask = offs_n[None, :] < {N}",
        *em.lines, *stores,
    ]
    params = [*em.args.values(), *[f"out{i}" for i in range(len(results))], "BM: tl.constexpr",
              "BN: tl.constexpr", "BK: tl.constexpr"]
    batch = a_shape[0] if batched else 1
    launch = {"grid": [-(-M // bm), -(-N // bn), batch], "meta": {"BM": bm, "BN": bn, "BK": bk},
              "num_warps": 8 if bm * bn >= 128 * 128 else 4, "num_stages": 3}
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
    shape = ir.RankedTensorType(v.type).shape
    strides = [math.prod(shape[i + 1:]) for i in range(len(shape))]
    if perm is not None:
        strides = [strides[p] for p in perm]
    return em.args[v], strides


def _source(name: str, params, body) -> str:
    lines = ["@triton.jit", f"def {name}({', '.join(params)}):"]
    lines += [f"    {b}" for b in body]
    return "\n".join(lines) + "\n"


TEMPLATES = {"pointwise": pointwise, "reduction": pointwise, "matmul": matmul}
