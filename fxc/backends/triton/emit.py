"""The value engine: a kernel function's linalg ops as Triton expressions.

A kernel's tile is indexed by *coordinates* (``Coord``): each is a Triton
expression (``c0 = xindex // 8 % 4``), the tile axis it varies along
(``x``/``r`` for pointwise and reduction kernels, ``m``/``n``/``b`` for
GEMMs) and its size.  ``Emitter.value(v, index)`` returns the name of a
Triton variable holding tensor ``v`` at ``index`` (one coordinate or
``None`` -- the constant 0 -- per dimension of ``v``), emitting the code that
computes it: a load for a kernel argument, a generic's body with its loop
indices substituted, a fill's constant, a transpose or unit reshape as index
permutation.  Values are memoized per (value, index), so each is computed
once per tile.  A reduction's reduced loops are the kernel's reduction
coordinates (``Emitter.r_coords``), reduced with ``tl.sum``/``tl.max``/...
(keeping the dimension, so it broadcasts against the tile).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Dict, List, Optional, Tuple

from torch_mlir import ir

from fxc.backends.triton import sizes
from fxc.backends.triton.partition import dim_position, indexing_maps, iterator_types, loop_sizes
from fxc.backends.triton.sizes import Shapes, Size
from fxc.errors import CompileError, location_of

TL_TYPES = {"f32": "tl.float32", "f16": "tl.float16", "bf16": "tl.bfloat16", "f64": "tl.float64",
            "i1": "tl.int1", "i8": "tl.int8", "i16": "tl.int16", "i32": "tl.int32", "i64": "tl.int64",
            "index": "tl.int64"}
_BINARY = {"arith.addf": "+", "arith.addi": "+", "arith.subf": "-", "arith.subi": "-", "arith.mulf": "*",
           "arith.muli": "*", "arith.divf": "/", "arith.andi": "&", "arith.ori": "|", "arith.xori": "^",
           "arith.remsi": "%", "arith.remf": "%", "arith.shli": "<<", "arith.shrsi": ">>"}
_CALLS = {"arith.maximumf": "tl.maximum({0}, {1}, propagate_nan=tl.PropagateNan.ALL)",
          "arith.minimumf": "tl.minimum({0}, {1}, propagate_nan=tl.PropagateNan.ALL)",
          "arith.maxnumf": "tl.maximum({0}, {1})", "arith.minnumf": "tl.minimum({0}, {1})",
          "arith.maxsi": "tl.maximum({0}, {1})", "arith.minsi": "tl.minimum({0}, {1})",
          "arith.select": "tl.where({0}, {1}, {2})", "arith.negf": "(-{0})",
          "arith.divsi": "({0} // {1})", "math.absf": "tl.abs({0})", "math.absi": "tl.abs({0})"}
#: Math functions Triton computes in fp32 (fp16/bf16 operands are widened).
_MATH = {"math.exp": "tl.exp({0})", "math.log": "tl.log({0})", "math.sqrt": "tl.sqrt({0})",
         "math.rsqrt": "tl.rsqrt({0})", "math.erf": "tl.erf({0})", "math.sin": "tl.sin({0})",
         "math.cos": "tl.cos({0})", "math.tanh": "(2 * tl.sigmoid(2 * {0}) - 1)",
         "math.exp2": "tl.exp2({0})", "math.log2": "tl.log2({0})", "math.log1p": "tl.log(1 + {0})",
         "math.powf": "libdevice.pow({0}, {1})", "math.floor": "tl.floor({0})", "math.ceil": "tl.ceil({0})"}
_CASTS = ("arith.extf", "arith.truncf", "arith.sitofp", "arith.fptosi", "arith.extsi", "arith.trunci",
          "arith.index_cast", "arith.extui", "arith.uitofp", "arith.bitcast")
_CMPF = {1: "==", 2: ">", 3: ">=", 4: "<", 5: "<=", 6: "!=", 8: "==", 9: ">", 10: ">=", 11: "<", 12: "<=", 13: "!="}
_CMPI = {0: "==", 1: "!=", 2: "<", 3: "<=", 4: ">", 5: ">="}
#: combining op -> (Triton reduction, neutral element by kind)
_REDUCE = {"arith.addf": ("tl.sum", "0"), "arith.addi": ("tl.sum", "0"),
           "arith.maximumf": ("tl.max", "float('-inf')"), "arith.maxnumf": ("tl.max", "float('-inf')"),
           "arith.minimumf": ("tl.min", "float('inf')"), "arith.minnumf": ("tl.min", "float('inf')"),
           "arith.maxsi": ("tl.max", None), "arith.minsi": ("tl.min", None), "arith.mulf": ("_prod", "1")}


def tl_type(t: ir.Type) -> str:
    key = str(t)
    if key not in TL_TYPES:
        raise CompileError(f"fxc's Triton backend has no Triton type for {key}")
    return TL_TYPES[key]


def element_type(v: ir.Value) -> ir.Type:
    t = v.type
    return ir.RankedTensorType(t).element_type if isinstance(t.maybe_downcast(), ir.RankedTensorType) else t


@dataclasses.dataclass
class Coord:
    expr: str
    axis: Optional[str]  # None: a scalar (program id), no mask
    size: Size  # an int, or an expression over size symbols (kernel arguments)
    derived: bool = False  # computed from other coordinates (a slice, a concat piece), not decomposed


def _fail(op, what: str) -> CompileError:
    return CompileError(f"fxc's Triton backend does not support {what} yet", location_of(op.location))


class Emitter:
    """Builds one kernel's body; see the module docstring.

    Args:
        args: Triton names of the kernel function's block arguments.
        coords: the kernel's coordinates.
        masks: tile axis -> mask expression.
        r_coords: coordinate ids of the reduction axis (may be filled on the
            first reduction when ``None``).
        tile: tile axis -> its block shape position, for broadcasting.
    """

    def __init__(self, args: Dict[ir.Value, str], coords: List[Coord], masks: Dict[str, str],
                 r_coords: Optional[List[int]], new_r_coord=None, alias: Optional[Dict[str, str]] = None):
        self.args, self.coords, self.masks = args, coords, masks
        self.r_coords = r_coords
        self.new_r_coord = new_r_coord
        self.lines: List[str] = []
        self.memo: Dict[Tuple, Tuple[str, frozenset]] = {}
        self.reduction_indices: List[tuple] = []  # output indices reductions were evaluated at
        self.preset: Dict[Tuple, Tuple[str, frozenset]] = {}
        self.shapes = Shapes(alias)
        #: messages of the run-time checks (gather bounds, cf.assert), reported through ``fxc_err``
        self.checks: List[str] = []
        self._derived: Dict[str, int] = {}
        self._n = 0

    def fresh(self, code: str, axes) -> Tuple[str, frozenset]:
        name = f"t{self._n}"
        self._n += 1
        self.lines.append(f"{name} = {code}")
        return name, frozenset(axes)

    # -- indices and loads ---------------------------------------------------

    def derive(self, base: Optional[int], expr: str, size: Size) -> int:
        """A coordinate computed from coordinate ``base`` (None: the constant 0)."""
        if expr not in self._derived:
            axis = self.coords[base].axis if base is not None else None
            self.coords.append(Coord(expr, axis, size, derived=True))
            self._derived[expr] = len(self.coords) - 1
        return self._derived[expr]

    def axes_of(self, index) -> frozenset:
        return frozenset(self.coords[c].axis for c in index if c is not None and self.coords[c].axis)

    def mask_of(self, axes) -> Optional[str]:
        parts = [self.masks[a] for a in sorted(axes) if self.masks.get(a)]
        return " & ".join(parts) if parts else None

    def offset(self, shape, index, strides=None) -> str:
        if strides is None:
            strides = sizes.strides(shape)
        terms = [f"{self.coords[c].expr} * {sizes.atom(s)}" if s != 1 else self.coords[c].expr
                 for c, s in zip(index, strides) if c is not None]
        return " + ".join(terms) or "0"

    def load(self, v: ir.Value, index) -> Tuple[str, frozenset]:
        shape = self.shapes.shape(v)
        axes = self.axes_of(index)
        mask = self.mask_of(axes)
        extra = f", mask={mask}, other=0" if mask else ""
        return self.fresh(f"tl.load({self.args[v]} + {self.offset(shape, index)}{extra})", axes)

    # -- values ----------------------------------------------------------------

    def value(self, v: ir.Value, index: tuple) -> Tuple[str, frozenset]:
        key = (v, tuple(index))
        if key in self.preset:
            return self.preset[key]
        if key not in self.memo:
            self.memo[key] = self._compute(v, tuple(index))
        return self.memo[key]

    def _compute(self, v: ir.Value, index: tuple):
        if v in self.args:
            return self.load(v, index)
        op = v.owner
        name = op.name
        if name == "linalg.fill":
            c = op.operands[0].owner
            if isinstance(c, ir.Block) or c.name != "arith.constant":
                raise _fail(op, "a linalg.fill of a value computed at run time")
            return self.fresh(f"tl.full([1, 1], {_literal(c.attributes['value'])}, {tl_type(element_type(v))})", ())
        if name == "linalg.transpose":
            perm = list(ir.DenseI64ArrayAttr(op.attributes["permutation"]))
            src = [None] * len(perm)
            for i, p in enumerate(perm):
                src[p] = index[i]
            return self.value(op.operands[0], tuple(src))
        if name in ("tensor.expand_shape", "tensor.collapse_shape"):
            return self.value(op.operands[0], self._unit_reshape(op, index))
        if name == "linalg.generic":
            return self._generic(op, v, index)
        if name == "tensor.extract_slice":
            return self.value(op.operands[0], self._slice(op, index))
        if name == "tensor.concat":
            return self._concat(op, index)
        if name == "tensor.cast":
            return self.value(op.operands[0], index)
        if name == "tm_tensor.scan":
            return self._scan(op, v, index)
        if name == "tensor.pad":
            return self._pad(op, index)
        if name == "tensor.insert_slice":
            return self._insert_slice(op, index)
        raise _fail(op, f"'{name}' inside a kernel")

    def _scan(self, op, v, index):
        """An inclusive sum scan along the tile's reduction axis (``tl.cumsum``):
        ``out[0] = in[0]``, ``out[i] = out[i-1] + in[i]``, as tm_tensor.scan runs it."""
        d = ir.IntegerAttr(op.attributes["dimension"]).value
        body = list(op.regions[0].blocks[0].operations)
        if v != op.results[0] or not ir.BoolAttr(op.attributes["inclusive"]).value:
            raise _fail(op, "an exclusive scan or a scan's final accumulator")
        if len(body) != 2 or body[0].name not in ("arith.addf", "arith.addi"):
            raise _fail(op, "this scan body (only sums: cumsum)")
        if self.r_coords is None or index[d] not in self.r_coords or len(self.r_coords) != 1:
            raise _fail(op, "a scan outside the root of its kernel")
        x, _ = self.value(op.operands[0], index)
        full = self.fresh(f"tl.broadcast_to({x}, [XBLOCK, RBLOCK])", {"x", "r"})[0]
        masked = self.fresh(f"tl.where({self.masks.get('r') or 'True'}, {full}, 0)", {"x", "r"})[0]
        return self.fresh(f"tl.cumsum({masked}, axis=1).to({tl_type(element_type(v))})", {"x", "r"})

    def _clamp(self, c: int, lo: Size, n: Size, step: int = 1) -> int:
        """Coordinate ``(c - lo) // step`` clamped into ``[0, n)``: reads at it never leave the buffer."""
        shifted = f"({self.coords[c].expr} - {sizes.atom(lo)})" if lo != 0 else self.coords[c].expr
        if step != 1:
            shifted = f"({shifted} // {step})"
        return self.derive(c, f"tl.minimum(tl.maximum({shifted}, 0), {sizes.atom(n)} - 1)", n)

    def _static(self, op, name: str) -> List[int]:
        values = list(ir.DenseI64ArrayAttr(op.attributes[name]))
        if any(abs(x) >= 1 << 62 for x in values):
            raise _fail(op, f"'{op.name}' with {name.replace('static_', '')} known only at run time")
        return values

    def _pad(self, op, index):
        """The source read at clamped coordinates where the result lies inside it, the padding elsewhere."""
        low = self._static(op, "static_low")
        src = op.operands[0]
        shape = self.shapes.shape(src)
        region = op.regions[0].blocks[0]
        pad = list(region.operations)[-1].operands[0]
        if any(pad.owner == o for o in region.operations) and pad.owner.name != "arith.constant":
            raise _fail(op, "a tensor.pad whose padding value depends on the position")
        conds, src_index = [], []
        for c, lo, n in zip(index, low, shape):
            if c is None or (lo == 0 and n == self.coords[c].size):
                src_index.append(c)
                continue
            e = self.coords[c].expr
            conds.append(f"({e} >= {lo}) & ({e} < {sizes.atom(sizes.add(n, lo))})")
            src_index.append(self._clamp(c, lo, n))
        val, axes = self.value(src, tuple(src_index))
        if not conds:
            return val, axes
        fill, fill_axes = self.scalar(pad, {}, ())
        return self.fresh(f"tl.where({' & '.join(conds)}, {val}, {fill})", axes | fill_axes | self.axes_of(index))

    def _insert_slice(self, op, index):
        """The inserted tensor where the coordinate falls on the slice, the destination elsewhere."""
        offsets, strides = self._static(op, "static_offsets"), self._static(op, "static_strides")
        src, dest = op.operands[0], op.operands[1]
        if len(ir.RankedTensorType(src.type).shape) != len(offsets):
            raise _fail(op, "a rank-reducing tensor.insert_slice")
        conds, src_index = [], []
        for c, off, st, n in zip(index, offsets, strides, self.shapes.shape(src)):
            if c is None:
                if off != 0:
                    raise _fail(op, "a tensor.insert_slice read at a constant coordinate")
                src_index.append(None)
                continue
            e = self.coords[c].expr
            conds.append(f"({e} >= {off}) & ({e} < {sizes.atom(sizes.add(sizes.mul(n, st), off))})")
            if st != 1:
                conds.append(f"(({e} - {off}) % {st} == 0)")
            src_index.append(self._clamp(c, off, n, st))
        inner, in_axes = self.value(src, tuple(src_index))
        outer, out_axes = self.value(dest, index)
        if not conds:
            return inner, in_axes
        return self.fresh(f"tl.where({' & '.join(conds)}, {inner}, {outer})", in_axes | out_axes | self.axes_of(index))

    def _slice(self, op, index) -> tuple:
        """The source index of an extract_slice read at ``index`` (offsets may
        be sizes known at run time; strides are static)."""
        offsets, sizes_, strides = sizes.slice_params(op, self.shapes)
        if not all(isinstance(st, int) for st in strides):
            raise _fail(op, "a slice with strides known only at run time")
        src, k = [], 0
        for i, (off, n, st) in enumerate(zip(offsets, sizes_, strides)):
            dropped = n == 1 and len(sizes_) - i > len(index) - k
            c = None if dropped else index[k]
            k += 0 if dropped else 1
            if c is None:
                src.append(self.derive(None, str(off), 1) if off != 0 else None)
            elif off == 0 and st == 1:
                src.append(c)
            else:
                step = f" * {st}" if st != 1 else ""
                src.append(self.derive(c, f"({sizes.atom(off)} + {self.coords[c].expr}{step})", self.coords[c].size))
        return tuple(src)

    def _concat(self, op, index):
        """Each piece read at a clamped coordinate (always in bounds), then
        the one covering the coordinate selected."""
        d = ir.IntegerAttr(op.attributes["dim"]).value
        c = index[d]
        if c is None:
            raise _fail(op, "a concat read at a constant coordinate")
        base, off, pieces = self.coords[c].expr, 0, []
        for x in op.operands:
            n = self.shapes.shape(x)[d]
            val = self.value(x, index[:d] + (self._clamp(c, off, n),) + index[d + 1:])
            off = sizes.add(off, n)
            pieces.append((off, val))
        val, axes = pieces[-1][1]
        for end, (v, ax) in reversed(pieces[:-1]):
            axes = axes | ax | self.axes_of([c])
            val, axes = self.fresh(f"tl.where({base} < {sizes.atom(end)}, {v}, {val})", axes)
        return val, axes

    @staticmethod
    def _unit_reshape(op, index) -> tuple:
        src_shape = ir.RankedTensorType(op.operands[0].type).shape
        dst_shape = ir.RankedTensorType(op.results[0].type).shape
        groups = [[ir.IntegerAttr(i).value for i in ir.ArrayAttr(g)] for g in ir.ArrayAttr(op.attributes["reassociation"])]
        expand = op.name == "tensor.expand_shape"
        src = [None] * len(src_shape)
        for k, g in enumerate(groups):
            if expand:  # src dim k <- the non-unit dim of the group
                src[k] = next((index[i] for i in g if dst_shape[i] != 1), None)
            else:  # collapse: dst dim k -> the non-unit src dim of the group
                for i in g:
                    if src_shape[i] != 1:
                        src[i] = index[k]
        return tuple(src)

    def _generic(self, op, v, index):
        k = list(op.results).index(v)
        maps = indexing_maps(op)
        n_in = len(op.operands) - len(op.results)
        its = iterator_types(op)
        loops: List[Optional[int]] = [None] * len(its)
        for e, c in zip(maps[n_in + k].results, index):
            if dim_position(e) is not None:
                loops[dim_position(e)] = c
        red = [i for i, it in enumerate(its) if it == "reduction"]
        if red:
            ranges = loop_sizes(op, self.shapes)
            if self.r_coords is None:
                self.r_coords = [self.new_r_coord(ranges[i]) for i in red]
            if [self.coords[c].size for c in self.r_coords] != [ranges[i] for i in red]:
                raise _fail(op, "two reductions over different sizes in one kernel")
            for i, c in zip(red, self.r_coords):
                loops[i] = c
            self.reduction_indices.append(index)
        block = op.regions[0].blocks[0]
        env = {}
        # Inputs, and for an elementwise generic also the outputs' initial values (read as inputs).
        for i in range(n_in if red else len(op.operands)):
            arg_index = tuple(loops[p] if (p := dim_position(e)) is not None else None for e in maps[i].results)
            env[block.arguments[i]] = ("in", op.operands[i], arg_index)
        for a in block.operations:
            if a.operation.name == "cf.assert":  # an index check (gather)
                self.check(*self.scalar(a.operands[0], env, loops), ir.StringAttr(a.attributes["msg"]).value)
        yield_op = list(block.operations)[-1]
        result = yield_op.operands[k]
        if not red:
            return self.scalar(result, env, loops)
        return self._reduce(op, k, result, env, loops, block.arguments[n_in + k], index)

    def _reduce(self, op, k, result, env, loops, out_arg, out_index):
        comb = result.owner if not isinstance(result.owner, ir.Block) else None
        if comb is not None and comb.name == "arith.select" and comb.operands[2] == out_arg:
            return self._arg_reduce(op, comb, env, loops, out_index)
        if comb is None or comb.name not in _REDUCE or out_arg not in list(comb.operands):
            raise _fail(op, "this reduction body (only sum, prod, max, min, argmax and argmin combinations)")
        other = [x for x in comb.operands if x != out_arg]
        other = other[0] if other else out_arg
        fn, neutral = _REDUCE[comb.name]
        x, axes = self.scalar(other, env, loops)
        dtype = tl_type(element_type(result))
        if neutral is None:  # an integer max/min: the type's least/greatest value
            bits = {"tl.int1": 1, "tl.int8": 8, "tl.int16": 16, "tl.int32": 32}.get(dtype, 64)
            neutral = ("0" if fn == "tl.max" else "1") if bits == 1 else (
                str(-(2 ** (bits - 1))) if fn == "tl.max" else str(2 ** (bits - 1) - 1))
        full = self.fresh(f"tl.broadcast_to({x}, [XBLOCK, RBLOCK])", {"x", "r"})[0]
        masked = self.fresh(f"tl.where({self.masks.get('r') or 'True'}, {full}, {neutral})", {"x", "r"})[0]
        if fn == "_prod":
            red = self.fresh(f"tl.reduce({masked}, 1, _mul, keep_dims=True)", {"x"})[0]
        else:
            red = self.fresh(f"{fn}({masked}, axis=1, keep_dims=True).to({dtype})", {"x"})[0]
        if comb.name in ("arith.maximumf", "arith.minimumf"):  # NaN-propagating; tl.max/tl.min are not
            nan = self.fresh(f"tl.max(({masked} != {masked}).to(tl.int32), axis=1, keep_dims=True) > 0", {"x"})[0]
            red = self.fresh(f"tl.where({nan}, float('nan'), {red}).to({dtype})", {"x"})[0]
        init, init_axes = self.value(op.operands[len(op.operands) - len(op.results) + k], out_index)
        return self._apply(comb.name, [init, red], result, {"x"} | set(init_axes))

    def _arg_reduce(self, op, select, env, loops, out_index):
        """argmax/argmin: ``out_i = x > out_v ? index : out_i`` (``<`` for
        argmin), run in order from the inits (v0, i0).  Its result is the first
        index of the extreme M of the non-NaN values if M beats v0, else i0
        (a NaN never compares greater)."""
        cmp = select.operands[0].owner
        preds = {"arith.cmpf": {2: "max", 4: "min"}, "arith.cmpi": {4: "max", 2: "min"}}
        kind = None if isinstance(cmp, ir.Block) else preds.get(cmp.name, {}).get(
            ir.IntegerAttr(cmp.attributes["predicate"]).value)
        acc = cmp.operands[1] if kind else None
        n_in = len(op.operands) - len(op.results)
        if kind is None or not isinstance(acc.owner, ir.Block) or acc.arg_number < n_in:
            raise _fail(op, "this index-selecting reduction (only argmax and argmin)")
        x, _ = self.scalar(cmp.operands[0], env, loops)
        idx, _ = self.scalar(select.operands[1], env, loops)
        v0, v_axes = self.value(op.operands[acc.arg_number], out_index)
        i0, i_axes = self.value(op.operands[self._out_operand(op, select)], out_index)
        dtype = tl_type(element_type(op.results[acc.arg_number - n_in]))
        if dtype.startswith("tl.float"):
            worst = "float('-inf')" if kind == "max" else "float('inf')"
        else:
            bits = {"tl.int8": 8, "tl.int16": 16, "tl.int32": 32}.get(dtype, 64)
            worst = str(-(2 ** (bits - 1))) if kind == "max" else str(2 ** (bits - 1) - 1)
        tile = "[XBLOCK, RBLOCK]"
        xs = self.fresh(f"tl.broadcast_to({x}, {tile})", {"x", "r"})[0]
        ids = self.fresh(f"tl.broadcast_to(({idx}).to(tl.int64), {tile})", {"x", "r"})[0]
        valid = self.fresh(f"({self.masks.get('r') or 'True'}) & ({xs} == {xs})", {"x", "r"})[0]
        block = op.regions[0].blocks[0]
        acc_comb = list(block.operations)[-1].operands[acc.arg_number - n_in].owner
        if not isinstance(acc_comb, ir.Block) and acc_comb.name in ("arith.maximumf", "arith.minimumf"):
            # The running extreme becomes NaN at the first NaN and nothing beats it after:
            # only the elements before the first NaN (in index order) count.
            nan_at = self.fresh(f"tl.min(tl.where(({self.masks.get('r') or 'True'}) & ({xs} != {xs}), {ids}, "
                                f"{2 ** 62}), axis=1, keep_dims=True)", {"x"})[0]
            valid = self.fresh(f"{valid} & ({ids} < {nan_at})", {"x", "r"})[0]
        m = self.fresh(f"tl.{kind}(tl.where({valid}, {xs}, {worst}), axis=1, keep_dims=True)", {"x"})[0]
        first = self.fresh(f"tl.min(tl.where({valid} & ({xs} == {m}), {ids}, {2 ** 62}), axis=1, keep_dims=True)",
                           {"x"})[0]
        better = ">" if kind == "max" else "<"
        out_type = tl_type(element_type(select.result))
        return self.fresh(f"tl.where({m} {better} {v0}, {first}, {i0}).to({out_type})",
                          {"x"} | set(v_axes) | set(i_axes))

    @staticmethod
    def _out_operand(op, select) -> int:
        """The init operand of the result ``select`` yields."""
        block = op.regions[0].blocks[0]
        k = list(list(block.operations)[-1].operands).index(select.result)
        return len(op.operands) - len(op.results) + k

    # -- scalar bodies -----------------------------------------------------------

    def scalar(self, v: ir.Value, env, loops=()) -> Tuple[str, frozenset]:
        """The Triton expression of a value of a generic's body (or a scalar
        operand of a fill)."""
        if v in env:
            entry = env[v]
            if entry[0] == "in":
                env[v] = self.value(entry[1], entry[2])
            return env[v]
        op = v.owner
        if (isinstance(op, ir.Block) and op.owner.operation.name == "func.func") or (
                not isinstance(op, ir.Block) and op.name == "tensor.dim"):
            # A size (a kernel argument or a tensor's dim): its expression over the kernel's size parameters.
            return self.fresh(f"tl.full([1, 1], {sizes.atom(self.shapes.size(v))}, {tl_type(v.type)})", ())
        if isinstance(op, ir.Block):
            raise CompileError("fxc's Triton backend cannot read a generic's output value here")
        if op.name == "arith.constant":
            code = _literal(op.attributes["value"])
            return self.fresh(f"tl.full([1, 1], {code}, {tl_type(v.type)})", ())
        if op.name == "tensor.extract":
            return self._gather(op, env, loops)
        if op.name == "math.fpowi":
            return self._powi(op, v, env, loops)
        if op.name == "linalg.index":
            c = loops[ir.IntegerAttr(op.attributes["dim"]).value]
            if c is None:
                return "0", frozenset()
            return self.fresh(f"({self.coords[c].expr}).to(tl.int64)", self.axes_of([c]))
        operands = [self.scalar(x, env, loops) for x in op.operands]
        names = [o[0] for o in operands]
        axes = frozenset().union(*[o[1] for o in operands]) if operands else frozenset()
        out = self._apply(op.name, names, v, axes, op)
        env[v] = out
        return out

    def check(self, cond: str, axes, msg: str) -> None:
        """A run-time check: lanes of the tile where ``cond`` fails write the
        check's number into ``fxc_err``, which the host plan reads after the
        launch and raises on (``tl.device_assert`` is a no-op in the
        interpreter and without debug builds, so it cannot be relied on)."""
        self.checks.append(msg)
        mask = self.mask_of(axes)
        bad = self.fresh(f"(({cond}) == 0) & ({mask})" if mask else f"({cond}) == 0", axes)[0]
        self.lines.append(f"tl.store(fxc_err + {bad}.to(tl.int32) * 0, {bad}.to(tl.int32) * {len(self.checks)}, "
                          f"mask={bad})")

    def _powi(self, op, v, env, loops):
        """``x ** n`` for an integer ``n``: by squaring when ``n`` is a constant
        (as LLVM expands powi), else ``libdevice.pow``."""
        x, axes = self.scalar(op.operands[0], env, loops)
        e = op.operands[1].owner
        if isinstance(e, ir.Block) or e.name != "arith.constant":
            n, n_axes = self.scalar(op.operands[1], env, loops)
            dtype = tl_type(v.type)
            return self.fresh(f"libdevice.pow({x}.to(tl.float32), {n}.to(tl.float32)).to({dtype})", axes | n_axes)
        n = ir.IntegerAttr(e.attributes["value"]).value
        result, base, k = None, x, abs(n)
        while k:
            if k & 1:
                result = base if result is None else self.fresh(f"{result} * {base}", axes)[0]
            k >>= 1
            if k:
                base = self.fresh(f"{base} * {base}", axes)[0]
        if result is None:
            return self.fresh(f"tl.full([1, 1], 1.0, {tl_type(v.type)})", ())
        return self.fresh(f"1.0 / {result}" if n < 0 else result, axes)

    def _gather(self, op, env, loops):
        """``tensor.extract`` in a generic's body: a load at computed indices
        (the tensor is a kernel argument: the partition never fuses its
        producer).  Each index is checked against its dimension and clamped
        into it, so the load never leaves the buffer."""
        src = op.operands[0]
        if src not in self.args:
            raise _fail(op, "a gather from a tensor computed in the same kernel")
        shape = self.shapes.shape(src)
        idx = []
        for i, n in zip(op.operands[1:], shape):
            x, ax = self.scalar(i, env, loops)
            self.check(f"({x} >= 0) & ({x} < {sizes.atom(n)})", ax, f"index out of bounds for a dimension of size {n}")
            idx.append(self.fresh(f"tl.minimum(tl.maximum({x}, 0), {sizes.atom(n)} - 1)", ax))
        strides = sizes.strides(shape)
        terms = [f"{n} * {sizes.atom(s)}" if s != 1 else n for (n, _), s in zip(idx, strides)]
        axes = frozenset().union(*[a for _, a in idx])
        mask = self.mask_of(axes)
        extra = f", mask={mask}, other=0" if mask else ""
        return self.fresh(f"tl.load({self.args[src]} + {' + '.join(terms) or '0'}{extra})", axes)

    def _apply(self, name, xs, v, axes, op=None):
        dtype = tl_type(v.type if not isinstance(v.type.maybe_downcast(), ir.RankedTensorType) else element_type(v))
        if name in _BINARY:
            return self.fresh(f"{xs[0]} {_BINARY[name]} {xs[1]}", axes)
        if name in _CALLS:
            return self.fresh(_CALLS[name].format(*xs), axes)
        if name in _MATH:
            wide = [f"{x}.to(tl.float32)" if dtype in ("tl.float16", "tl.bfloat16") else x for x in xs]
            return self.fresh(f"({_MATH[name].format(*wide)}).to({dtype})", axes)
        if name in _CASTS:
            return self.fresh(f"{xs[0]}.to({dtype})", axes)
        if name in ("arith.cmpf", "arith.cmpi"):
            pred = ir.IntegerAttr(op.attributes["predicate"]).value
            table = _CMPF if name == "arith.cmpf" else _CMPI
            if pred not in table:
                raise _fail(op, f"{name} predicate {pred}")
            code = f"({xs[0]} {table[pred]} {xs[1]})"
            if name == "arith.cmpf" and 8 <= pred <= 12:  # unordered: true on NaN
                code = f"({code} | ({xs[0]} != {xs[0]}) | ({xs[1]} != {xs[1]}))"
            return self.fresh(code, axes)
        if name == "_mul":
            return self.fresh(f"{xs[0]} * {xs[1]}", axes)
        if name == "arith.mulf" and len(xs) == 2:
            return self.fresh(f"{xs[0]} * {xs[1]}", axes)
        raise _fail(op if op is not None else v.owner, f"'{name}' in a kernel body")


def _literal(attr) -> str:
    a = attr.maybe_downcast() if hasattr(attr, "maybe_downcast") else attr
    if isinstance(a, ir.BoolAttr):
        return "1" if a.value else "0"
    if isinstance(a, ir.IntegerAttr):
        return str(a.value)
    if isinstance(a, ir.FloatAttr):
        x = a.value
        if math.isnan(x):
            return "float('nan')"
        if math.isinf(x):
            return "float('inf')" if x > 0 else "float('-inf')"
        return repr(x)
    raise CompileError(f"fxc's Triton backend cannot use the constant {attr} in a kernel")
