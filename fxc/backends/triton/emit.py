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

from fxc.backends.triton.partition import dim_position, indexing_maps, iterator_types, loop_sizes
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
    size: int


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
                 r_coords: Optional[List[int]], new_r_coord=None):
        self.args, self.coords, self.masks = args, coords, masks
        self.r_coords = r_coords
        self.new_r_coord = new_r_coord
        self.lines: List[str] = []
        self.memo: Dict[Tuple, Tuple[str, frozenset]] = {}
        self.reduction_indices: List[tuple] = []  # output indices reductions were evaluated at
        self.preset: Dict[Tuple, Tuple[str, frozenset]] = {}
        self._n = 0

    def fresh(self, code: str, axes) -> Tuple[str, frozenset]:
        name = f"t{self._n}"
        self._n += 1
        self.lines.append(f"{name} = {code}")
        return name, frozenset(axes)

    # -- indices and loads ---------------------------------------------------

    def axes_of(self, index) -> frozenset:
        return frozenset(self.coords[c].axis for c in index if c is not None and self.coords[c].axis)

    def mask_of(self, axes) -> Optional[str]:
        parts = [self.masks[a] for a in sorted(axes) if self.masks.get(a)]
        return " & ".join(parts) if parts else None

    def offset(self, shape, index, strides=None) -> str:
        if strides is None:
            strides = [math.prod(shape[i + 1:]) for i in range(len(shape))]
        terms = [f"{self.coords[c].expr} * {s}" if s != 1 else self.coords[c].expr
                 for c, s in zip(index, strides) if c is not None]
        return " + ".join(terms) or "0"

    def load(self, v: ir.Value, index) -> Tuple[str, frozenset]:
        shape = ir.RankedTensorType(v.type).shape
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
        raise _fail(op, f"'{name}' inside a kernel")

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
            sizes = loop_sizes(op)
            if self.r_coords is None:
                self.r_coords = [self.new_r_coord(sizes[i]) for i in red]
            if [self.coords[c].size for c in self.r_coords] != [sizes[i] for i in red]:
                raise _fail(op, "two reductions over different sizes in one kernel")
            for i, c in zip(red, self.r_coords):
                loops[i] = c
            self.reduction_indices.append(index)
        block = op.regions[0].blocks[0]
        env = {}
        for i in range(n_in):
            arg_index = tuple(loops[p] if (p := dim_position(e)) is not None else None for e in maps[i].results)
            env[block.arguments[i]] = ("in", op.operands[i], arg_index)
        yield_op = list(block.operations)[-1]
        result = yield_op.operands[k]
        if not red:
            return self.scalar(result, env, loops)
        return self._reduce(op, k, result, env, loops, block.arguments[n_in + k], index)

    def _reduce(self, op, k, result, env, loops, out_arg, out_index):
        comb = result.owner if not isinstance(result.owner, ir.Block) else None
        if comb is None or comb.name not in _REDUCE or out_arg not in list(comb.operands):
            raise _fail(op, "this reduction body (only sum, prod, max and min combinations)")
        other = [x for x in comb.operands if x != out_arg]
        other = other[0] if other else out_arg
        fn, neutral = _REDUCE[comb.name]
        x, axes = self.scalar(other, env, loops)
        dtype = tl_type(element_type(result))
        if neutral is None:
            neutral = f"{'-' if fn == 'tl.max' else ''}{2 ** 31 - 1 if dtype == 'tl.int32' else 2 ** 63 - 1}"
        full = self.fresh(f"tl.broadcast_to({x}, [XBLOCK, RBLOCK])", {"x", "r"})[0]
        masked = self.fresh(f"tl.where({self.masks.get('r') or 'True'}, {full}, {neutral})", {"x", "r"})[0]
        if fn == "_prod":
            red = self.fresh(f"tl.reduce({masked}, 1, _mul, keep_dims=True)", {"x"})[0]
        else:
            red = self.fresh(f"{fn}({masked}, axis=1, keep_dims=True).to({dtype})", {"x"})[0]
        init, init_axes = self.value(op.operands[len(op.operands) - len(op.results) + k], out_index)
        return self._apply(comb.name, [init, red], result, {"x"} | set(init_axes))

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
        if isinstance(op, ir.Block):
            raise CompileError("fxc's Triton backend cannot read a generic's output value here")
        if op.name == "arith.constant":
            code = _literal(op.attributes["value"])
            return self.fresh(f"tl.full([1, 1], {code}, {tl_type(v.type)})", ())
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
