"""fxc-convert-float-scalars-to-arith: Python float scalar ops torch-mlir
converts wrongly or not at all.

* Comparisons.  torch-mlir converts ``aten.eq.float`` / ``gt.float`` /
  ``ge.float`` (and their ``float_int`` forms) to ``arith.cmpf`` with
  *unordered* predicates (``ueq``, ``ugt``, ``uge``), true when an operand is
  NaN, where Python's ``==``, ``>``, ``>=`` are false (``x.item() == math.inf``
  was true for a NaN ``x``); it has no conversion for ``lt.float``.  They
  become ``arith.cmpf`` with the ordered predicates (``ne`` stays unordered:
  Python's ``!=`` is true for NaN).
* ``aten.Int.float`` (``int(x)``, ``math.trunc``: ``int(n * 0.2)`` of a
  size), which torch-mlir does not convert: ``arith.fptosi``, which rounds
  toward zero as ``int()`` does.

Runs before torch-mlir's convert-torch-to-arith.
"""

from __future__ import annotations

from torch_mlir import ir

from fxc._mlir_compat import walk
from fxc.compiler.passes import ModulePass, register

# arith::CmpFPredicate values.
_OEQ, _OGT, _OGE, _OLT, _OLE, _UNE = 1, 2, 3, 4, 5, 13
_PREDICATES = {"eq": _OEQ, "gt": _OGT, "ge": _OGE, "lt": _OLT, "le": _OLE, "ne": _UNE}
_COMPARES = {f"torch.aten.{cmp}.{form}": pred for cmp, pred in _PREDICATES.items() for form in ("float", "float_int")}
_INT_FLOAT = "torch.aten.Int.float"


def _i64() -> ir.Type:
    return ir.IntegerType.get_signless(64)


def _create(name: str, result: ir.Type, operands, attributes=None) -> ir.Value:
    return ir.Operation.create(name, results=[result], operands=list(operands), attributes=attributes).result


def _as_f64(value: ir.Value) -> ir.Value:
    if str(value.type) == "!torch.float":
        return _create("torch_c.to_f64", ir.F64Type.get(), [value])
    return _create("arith.sitofp", ir.F64Type.get(), [_create("torch_c.to_i64", _i64(), [value])])


def _compare(op) -> ir.Value:
    lhs, rhs = (_as_f64(v) for v in op.operands)
    pred = ir.IntegerAttr.get(_i64(), _COMPARES[op.name])
    cmp = _create("arith.cmpf", ir.IntegerType.get_signless(1), [lhs, rhs], {"predicate": pred})
    return _create("torch_c.from_i1", op.results[0].type, [cmp])


def _int_of_float(op) -> ir.Value:
    as_int = _create("arith.fptosi", _i64(), [_as_f64(op.operands[0])])
    return _create("torch_c.from_i64", op.results[0].type, [as_int])


_PATTERNS = {**{name: _compare for name in _COMPARES}, _INT_FLOAT: _int_of_float}


@register
class ConvertFloatScalarsToArith(ModulePass):
    name = "fxc-convert-float-scalars-to-arith"
    summary = "Float comparisons (NaN as in Python) and int(float) as arith ops"

    def run(self, module_op):
        todo = []
        walk(module_op, lambda op: todo.append(op) if op.name in _PATTERNS else None)
        for op in todo:
            with op.location, ir.InsertionPoint(op):
                result = _PATTERNS[op.name](op)
            op.results[0].replace_all_uses_with(result)
            op.erase()
