"""Symbolic sizes in the Triton backend's functions.

A size is an ``int`` or a Python expression over the signature's size
symbols (``"s0"``, ``"s0*8"``; the grammar ``fxc.runtime.shapes`` evaluates).
Static dims come from the types; a dynamic (``?``) dim is traced back to
what defines it:

* a function argument: its ``fxc.shape`` attribute (the public function's
  arguments carry the signature's shapes; fxc-triton-outline-kernels gives
  each kernel argument and result one, and each ``index`` argument of a
  kernel an ``fxc.size``);
* ``tensor.empty``'s dynamic operands, a linalg op's init, a reshape's groups
  or output sizes, a kernel call's result attributes;
* index arithmetic (``tensor.dim``, ``arith.muli``/``addi``/``subi``/
  ``divsi``/``ceildivsi``, ``index_cast``, ``affine.apply``) on those.

Anything else is a located ``CompileError``: the backend never guesses a size.
Kernels take the symbols their sizes use as integer arguments; grids and
block sizes that depend on them are expressions the host plan evaluates at
each launch.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Union

from torch_mlir import ir

from fxc.errors import CompileError, location_of
from fxc.runtime.shapes import compile_expr

Size = Union[int, str]

#: What a dynamic size is taken to be when choosing block sizes.
HINT = 128


def atom(s: Size) -> str:
    s = str(s)
    return s if s.isidentifier() or s.lstrip("-").isdigit() or (s.startswith("(") and s.endswith(")")) else f"({s})"


def mul(a: Size, b: Size) -> Size:
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    if a == 1 or b == 1:
        return b if a == 1 else a
    if a == 0 or b == 0:
        return 0
    return f"{atom(a)}*{atom(b)}"


def prod(sizes: Sequence[Size]) -> Size:
    out: Size = 1
    for s in sizes:
        out = mul(out, s)
    return out


def _binary(a: Size, b: Size, op: str) -> Size:
    if isinstance(a, int) and isinstance(b, int):
        return {"+": a + b, "-": a - b, "//": a // b, "%": a % b}[op] if op != "cdiv" else -(-a // b)
    if op == "cdiv":
        return f"(-(-{atom(a)} // {atom(b)}))"
    return f"({atom(a)} {op} {atom(b)})"


def add(a: Size, b: Size) -> Size:
    return a if b == 0 else _binary(a, b, "+")


def cdiv(a: Size, b: Size) -> Size:
    return a if b == 1 else _binary(a, b, "cdiv")


def symbols(sizes: Sequence[Size]) -> List[str]:
    """The symbols the sizes use, in first-use order."""
    out: List[str] = []
    for s in sizes:
        if isinstance(s, str):
            out += [x for x in compile_expr(s)[1] if x not in out]
    return out


def hint(s: Size) -> int:
    """A size's value when every symbol is :data:`HINT` (for block sizes)."""
    if isinstance(s, int):
        return s
    return max(1, compile_expr(s)[0]({x: HINT for x in compile_expr(s)[1]}))


def to_attr(sizes: Sequence[Size]) -> ir.Attribute:
    return ir.ArrayAttr.get([ir.IntegerAttr.get(ir.IntegerType.get_signless(64), s) if isinstance(s, int)
                             else ir.StringAttr.get(s) for s in sizes])


def from_attr(attr) -> List[Size]:
    out: List[Size] = []
    for a in ir.ArrayAttr(attr):
        a = a.maybe_downcast() if hasattr(a, "maybe_downcast") else a
        out.append(a.value if isinstance(a, ir.IntegerAttr) else ir.StringAttr(a).value)
    return out


class Shapes:
    """The symbolic shapes of one function's values (memoized)."""

    def __init__(self, alias: Optional[Dict[str, str]] = None):
        self._memo: Dict[ir.Value, object] = {}
        #: argument size expression -> the name a kernel's source uses for it
        self._alias = alias or {}

    def shape(self, v: ir.Value) -> List[Size]:
        static = list(ir.RankedTensorType(v.type).shape)
        if all(d >= 0 for d in static):
            return static
        if v not in self._memo:
            dims = self._shape(v)
            self._memo[v] = [s if s >= 0 else d for s, d in zip(static, dims)]
        return self._memo[v]

    def size(self, v: ir.Value) -> Size:
        if v not in self._memo:
            self._memo[v] = self._size(v)
        return self._memo[v]

    # -- tensors -------------------------------------------------------------

    def _shape(self, v: ir.Value) -> List[Size]:
        owner = v.owner
        if isinstance(owner, ir.Block):
            dims = self._arg_attr(v, "fxc.shape", from_attr)
            return [self._alias.get(d, d) if isinstance(d, str) else d for d in dims]
        name = owner.name
        if name == "tensor.empty":
            dyn = iter(owner.operands)
            return [self.size(next(dyn)) if d < 0 else d for d in ir.RankedTensorType(v.type).shape]
        if name.startswith(("linalg.", "tm_tensor.")):  # destination style: a result has its init's shape
            k = list(owner.results).index(v)
            return self.shape(owner.operands[len(owner.operands) - len(owner.results) + k])
        if name == "tensor.collapse_shape":
            src = self.shape(owner.operands[0])
            return [prod([src[ir.IntegerAttr(i).value] for i in ir.ArrayAttr(g)])
                    for g in ir.ArrayAttr(owner.attributes["reassociation"])]
        if name == "tensor.expand_shape":
            dyn = iter(owner.operands[1:])
            return [self.size(next(dyn)) if d < 0 else d for d in ir.RankedTensorType(v.type).shape]
        if name == "tensor.extract_slice":
            static = ir.DenseI64ArrayAttr(owner.attributes["static_sizes"])
            dyn = iter(n for n, st in zip(slice_params(owner, self)[1], static) if abs(st) >= 1 << 62)
            return [d if d >= 0 else next(dyn) for d in ir.RankedTensorType(v.type).shape]
        if name == "tensor.concat":
            d = ir.IntegerAttr(owner.attributes["dim"]).value
            first = self.shape(owner.operands[0])
            total: Size = 0
            for x in owner.operands:
                total = add(total, self.shape(x)[d])
            return first[:d] + [total] + first[d + 1:]
        if name == "tensor.reshape":
            elems = owner.operands[1].owner
            if isinstance(elems, ir.Block) or elems.name != "tensor.from_elements":
                raise self._unknown(v, owner)
            return [self.size(x) if d < 0 else d for x, d in zip(elems.operands, ir.RankedTensorType(v.type).shape)]
        if name == "tensor.insert_slice":
            return self.shape(owner.operands[1])
        if name == "tensor.pad":
            low = list(ir.DenseI64ArrayAttr(owner.attributes["static_low"]))
            high = list(ir.DenseI64ArrayAttr(owner.attributes["static_high"]))
            if any(abs(x) >= 1 << 62 for x in low + high):
                raise self._unknown(v, owner)
            return [add(add(n, lo), hi) for n, lo, hi in zip(self.shape(owner.operands[0]), low, high)]
        if name == "tensor.cast":
            return self.shape(owner.operands[0])
        if name == "func.call":
            return self._call_result(owner, list(owner.results).index(v))
        raise self._unknown(v, owner)

    def _call_result(self, call, k: int) -> List[Size]:
        callee = ir.FlatSymbolRefAttr(call.attributes["callee"]).value
        module = call.parent
        while module.name != "builtin.module":
            module = module.parent
        for op in module.regions[0].blocks[0].operations:
            if op.operation.name == "func.func" and ir.StringAttr(op.attributes["sym_name"]).value == callee:
                if "res_attrs" in op.attributes:
                    d = ir.DictAttr(ir.ArrayAttr(op.attributes["res_attrs"])[k])
                    if "fxc.shape" in d:
                        return from_attr(d["fxc.shape"])
        raise self._unknown(call.results[k], call)

    # -- index values --------------------------------------------------------

    def _size(self, v: ir.Value) -> Size:
        owner = v.owner
        if isinstance(owner, ir.Block):
            size = self._arg_attr(v, "fxc.size", _int_or_str)
            return self._alias.get(size, size) if isinstance(size, str) else size
        name = owner.name
        if name == "arith.constant":
            value = ir.IntegerAttr(owner.attributes["value"]).value
            return int(bool(value)) if str(v.type) == "i1" else value
        if name == "arith.cmpi":
            pred = ir.IntegerAttr(owner.attributes["predicate"]).value
            a, b = (self.size(x) for x in owner.operands)
            if isinstance(a, int) and isinstance(b, int):
                return int(eval(f"{a} {_CMPI[pred]} {b}"))  # noqa: S307 (two ints)
            return f"({atom(a)} {_CMPI[pred]} {atom(b)})"
        if name == "tensor.dim":
            return self.shape(owner.operands[0])[self.size(owner.operands[1])]
        if name in ("arith.index_cast", "arith.index_castui", "arith.extsi", "arith.trunci"):
            return self.size(owner.operands[0])
        ops = {"arith.muli": mul, "arith.addi": add, "arith.subi": lambda a, b: _binary(a, b, "-"),
               "arith.divsi": lambda a, b: _binary(a, b, "//"), "arith.floordivsi": lambda a, b: _binary(a, b, "//"),
               "arith.divui": lambda a, b: _binary(a, b, "//"), "arith.ceildivsi": cdiv,
               "arith.remsi": lambda a, b: _binary(a, b, "%")}
        if name in ops:
            return ops[name](self.size(owner.operands[0]), self.size(owner.operands[1]))
        if name in ("arith.maxsi", "arith.minsi"):
            a, b = (self.size(x) for x in owner.operands)
            pick = max if name == "arith.maxsi" else min
            return pick(a, b) if isinstance(a, int) and isinstance(b, int) else f"{name[-5:-2]}({a}, {b})"
        if name == "arith.select":
            c, a, b = (self.size(x) for x in owner.operands)
            if isinstance(c, int):
                return a if c else b
            return f"(({c}) * {atom(a)} + (1 - ({c})) * {atom(b)})"
        if name == "affine.apply":
            amap = ir.AffineMapAttr(owner.attributes["map"]).value
            vals = [self.size(x) for x in owner.operands]
            return _affine(amap.results[0], vals[:amap.n_dims], vals[amap.n_dims:], owner)
        raise self._unknown(v, owner)

    @staticmethod
    def _arg_attr(v: ir.Value, key: str, read):
        fn = v.owner.owner
        if "arg_attrs" in fn.attributes:
            d = ir.DictAttr(ir.ArrayAttr(fn.attributes["arg_attrs"])[v.arg_number])
            if key in d:
                return read(d[key])
        raise CompileError(f"fxc's Triton backend does not know the size of argument {v.arg_number} "
                           f"(no '{key}' attribute)", location_of(fn.location))

    @staticmethod
    def _unknown(v, op) -> CompileError:
        return CompileError(f"fxc's Triton backend cannot follow a dynamic size through '{op.name}'",
                            location_of(op.location))


_CMPI = {0: "==", 1: "!=", 2: "<", 3: "<=", 4: ">", 5: ">=", 6: "<", 7: "<=", 8: ">", 9: ">="}
_AFFINE = (("AffineAddExpr", add), ("AffineMulExpr", mul), ("AffineFloorDivExpr", lambda a, b: _binary(a, b, "//")),
           ("AffineCeilDivExpr", cdiv), ("AffineModExpr", lambda a, b: _binary(a, b, "%")))


def _affine(e, dims, syms, op) -> Size:
    """An affine expression over sizes."""
    e = e.maybe_downcast() if hasattr(e, "maybe_downcast") else e
    if isinstance(e, ir.AffineConstantExpr):
        return e.value
    if isinstance(e, ir.AffineDimExpr):
        return dims[e.position]
    if isinstance(e, ir.AffineSymbolExpr):
        return syms[e.position]
    for cls, fn in _AFFINE:
        if isinstance(e, getattr(ir, cls)):
            return fn(_affine(e.lhs, dims, syms, op), _affine(e.rhs, dims, syms, op))
    raise CompileError(f"fxc's Triton backend cannot evaluate the size {e}", location_of(op.location))


def slice_params(op, shapes: "Shapes"):
    """An extract/insert_slice's offsets, sizes and strides: ints, or the
    sizes of its dynamic operands (which follow the source, and the
    destination of an insert, in that order)."""
    first = 1 if op.name == "tensor.extract_slice" else 2
    dyn = iter(op.operands[first:])
    out = []
    for key in ("static_offsets", "static_sizes", "static_strides"):
        out.append([shapes.size(next(dyn)) if abs(x) >= 1 << 62 else x
                    for x in ir.DenseI64ArrayAttr(op.attributes[key])])
    return out


def _int_or_str(a) -> Size:
    a = a.maybe_downcast() if hasattr(a, "maybe_downcast") else a
    return a.value if isinstance(a, ir.IntegerAttr) else ir.StringAttr(a).value


def is_static(sizes: Sequence[Size]) -> bool:
    return all(isinstance(s, int) for s in sizes)


def strides(shape: Sequence[Size]) -> List[Size]:
    return [prod(shape[i + 1:]) for i in range(len(shape))]


def pow2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())

