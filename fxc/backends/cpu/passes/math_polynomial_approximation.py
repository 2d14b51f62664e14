"""fxc-math-polynomial-approximation: ``math.exp``, ``math.log``,
``math.tanh`` and ``math.erf`` on ``f32`` (scalars and vectors) become
polynomial (or rational) approximations in ``arith``/``math.fma``.

Upstream MLIR has this as ``math-polynomial-approximation``; the torch-mlir
wheel does not ship it.  Without it, a vectorized ``exp`` lowers to
``llvm.intr.exp`` on a vector, which LLVM scalarizes into one libm call per
lane: softmax, GELU and tanh run at scalar speed inside vector loops.

The approximations, with their largest error against PyTorch's CPU kernels
over their whole ranges (``test_math_approximation.py`` measures them):

* ``exp``: Cephes ``expf`` (range reduction by ``ln 2`` in two parts, a
  degree-6 polynomial, and ``2^n`` built in two halves so that denormal
  results stay exact to rounding); ``+inf`` above ``88.7228``, 0 below
  ``-104``; NaN passes through.  <= 2 ulp.
* ``log``: Cephes ``logf`` (mantissa in ``[sqrt(1/2), sqrt(2))``, a degree-8
  polynomial); denormal inputs scaled by ``2^23`` first; ``-inf`` at 0, NaN
  below 0 and for NaN, ``+inf`` at ``+inf``.  <= 2 ulp.
* ``tanh``: below ``0.625``, Eigen's rational 13/6 approximation (the input
  itself below ``4e-4``); above, ``1 - 2 / (exp(2|x|) + 1)`` with the sign of
  ``x``, which saturates to exactly 1.  <= 4 ulp.
* ``erf``: Eigen's rational 13/8 approximation on ``[-4, 4]``, ``2x/sqrt(pi)``
  below ``2e-4``.  <= 8 ulp.

Other types (f64, f16, bf16) and ops are left for ``convert-math-to-llvm``
and libm.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import arith, math

from fxc._mlir_compat import walk
from fxc.compiler.passes import ModulePass, register


class _Emit:
    """Builds arith ops on values of one f32 type (a scalar or a vector)."""

    def __init__(self, ftype):
        self.ftype = ftype
        shape = ir.VectorType(ftype).shape if isinstance(ftype, ir.VectorType) else None
        i32, i1 = ir.IntegerType.get_signless(32), ir.IntegerType.get_signless(1)
        self.itype = ir.VectorType.get(shape, i32) if shape is not None else i32  # 0-d vectors too
        self.btype = ir.VectorType.get(shape, i1) if shape is not None else i1

    def _const(self, t, elem, value):
        if isinstance(t, ir.VectorType):
            attr = ir.DenseElementsAttr.get_splat(t, ir.FloatAttr.get(elem, value) if isinstance(elem, ir.F32Type)
                                                  else ir.IntegerAttr.get(elem, value))
            return arith.ConstantOp(t, attr).result
        return arith.ConstantOp(t, value).result

    def f(self, value: float):
        return self._const(self.ftype, ir.F32Type.get(), float(value))

    def i(self, value: int):
        return self._const(self.itype, ir.IntegerType.get_signless(32), int(value))

    def fma(self, a, b, c):
        return math.FmaOp(a, b, c).result

    def horner(self, x, coefficients):
        """``c0 * x^n + c1 * x^(n-1) + ... + cn``."""
        acc = self.f(coefficients[0])
        for c in coefficients[1:]:
            acc = self.fma(acc, x, self.f(c))
        return acc

    def cmp(self, predicate: str, a, b):
        return arith.CmpFOp(getattr(arith.CmpFPredicate, predicate), a, b).result

    def select(self, cond, a, b):
        return arith.SelectOp(cond, a, b).result

    def clamp(self, x, lo, hi):
        # maxnumf/minnumf: a NaN input is restored by the caller.
        return arith.MinNumFOp(arith.MaxNumFOp(x, self.f(lo)).result, self.f(hi)).result

    def keep_nan(self, x, result):
        return self.select(self.cmp("UNO", x, x), x, result)

    def pow2(self, n):
        """``2^n`` for an i32 ``n`` in ``[-126, 127]``."""
        biased = arith.AddIOp(n, self.i(127)).result
        return arith.BitcastOp(self.ftype, arith.ShLIOp(biased, self.i(23)).result).result


def _exp(e: _Emit, x):
    xc = e.clamp(x, -104.0, 88.72283935546875)
    n = math.FloorOp(e.fma(xc, e.f(1.44269504088896341), e.f(0.5))).result
    r = e.fma(n, e.f(-0.693359375), xc)
    r = e.fma(n, e.f(2.12194440e-4), r)
    y = e.horner(r, [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
                     1.6666665459e-1, 5.0000001201e-1])
    y = e.fma(y, arith.MulFOp(r, r).result, arith.AddFOp(r, e.f(1.0)).result)
    ni = arith.FPToSIOp(e.itype, n).result
    n1 = arith.ShRSIOp(ni, e.i(1)).result
    n2 = arith.SubIOp(ni, n1).result
    y = arith.MulFOp(arith.MulFOp(y, e.pow2(n1)).result, e.pow2(n2)).result
    y = e.select(e.cmp("OGT", x, e.f(88.72283935546875)), e.f(float("inf")), y)
    y = e.select(e.cmp("OLT", x, e.f(-104.0)), e.f(0.0), y)
    return e.keep_nan(x, y)


def _log(e: _Emit, x):
    denormal = e.cmp("OLT", x, e.f(1.17549435e-38))
    xs = e.select(denormal, arith.MulFOp(x, e.f(8388608.0)).result, x)
    bits = arith.BitcastOp(e.itype, xs).result
    exponent = arith.SubIOp(arith.AndIOp(arith.ShRSIOp(bits, e.i(23)).result, e.i(0xFF)).result, e.i(126)).result
    mantissa = arith.BitcastOp(e.ftype, arith.OrIOp(arith.AndIOp(bits, e.i(0x007FFFFF)).result,
                                                    e.i(0x3F000000)).result).result  # in [0.5, 1)
    k = arith.SIToFPOp(e.ftype, exponent).result
    k = e.select(denormal, arith.SubFOp(k, e.f(23.0)).result, k)
    small = e.cmp("OLT", mantissa, e.f(0.707106781186547524))
    k = e.select(small, arith.SubFOp(k, e.f(1.0)).result, k)
    m = arith.SubFOp(e.select(small, arith.AddFOp(mantissa, mantissa).result, mantissa), e.f(1.0)).result
    z = arith.MulFOp(m, m).result
    y = e.horner(m, [7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
                     -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1])
    y = arith.MulFOp(arith.MulFOp(y, m).result, z).result
    y = e.fma(k, e.f(-2.12194440e-4), y)
    y = e.fma(z, e.f(-0.5), y)
    r = arith.AddFOp(m, y).result
    r = e.fma(k, e.f(0.693359375), r)
    r = e.select(e.cmp("OLT", x, e.f(0.0)), e.f(float("nan")), r)
    r = e.select(e.cmp("OEQ", x, e.f(0.0)), e.f(float("-inf")), r)
    r = e.select(e.cmp("OEQ", x, e.f(float("inf"))), x, r)
    return e.keep_nan(x, r)


def _odd_rational(e: _Emit, x, bound, alphas, betas):
    """``x * p(x^2) / q(x^2)`` on ``x`` clamped to ``[-bound, bound]``."""
    xc = e.clamp(x, -bound, bound)
    x2 = arith.MulFOp(xc, xc).result
    p = arith.MulFOp(e.horner(x2, alphas), xc).result
    return arith.DivFOp(p, e.horner(x2, betas)).result


def _tanh(e: _Emit, x):
    r = _odd_rational(e, x, 7.99881172180175781,
                      [-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11, 5.12229709037114e-08,
                       1.48572235717979e-05, 6.37261928875436e-04, 4.89352455891786e-03],
                      [1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03, 4.89352518554385e-03])
    a = math.AbsFOp(x).result
    r = e.select(e.cmp("OLT", a, e.f(0.0004)), x, r)
    # Away from 0, 1 - 2 / (exp(2|x|) + 1) is exact to an ulp and saturates
    # to exactly +-1 as eager's tanh does (the rational function stops short
    # of 1, which 1 + tanh(x) in GELU's tanh form turns into a large error).
    wide = arith.SubFOp(e.f(1.0), arith.DivFOp(e.f(2.0), arith.AddFOp(_exp(e, arith.AddFOp(a, a).result),
                                                                     e.f(1.0)).result).result).result
    r = e.select(e.cmp("OLT", a, e.f(0.625)), r, math.CopySignOp(wide, x).result)
    return e.keep_nan(x, r)


def _erf(e: _Emit, x):
    r = _odd_rational(e, x, 4.0,
                      [-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
                       -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02],
                      [-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03,
                       -1.42647390514189e-02])
    # Near 0, erf(x) = 2x/sqrt(pi) to within float32 rounding; the rational
    # function loses the last bits of denormal inputs.
    tiny = e.cmp("OLT", math.AbsFOp(x).result, e.f(2e-4))
    r = e.select(tiny, arith.MulFOp(x, e.f(1.1283791670955126)).result, r)
    return e.keep_nan(x, r)


APPROXIMATIONS = {"math.exp": _exp, "math.log": _log, "math.tanh": _tanh, "math.erf": _erf}


def _is_f32(t) -> bool:
    if isinstance(t, ir.VectorType):
        t = ir.VectorType(t).element_type
    return isinstance(t, ir.F32Type)


@register
class MathPolynomialApproximation(ModulePass):
    name = "fxc-math-polynomial-approximation"
    summary = "Approximate f32 exp, log, tanh and erf with polynomials in arith (vectorizable, no libm calls)"

    def run(self, module_op):
        todo = []
        walk(module_op, lambda op: todo.append(op) if op.name in APPROXIMATIONS else None)
        todo = [op for op in todo if _is_f32(op.results[0].type)]
        for op in todo:
            result = op.results[0]
            with op.location, ir.InsertionPoint(op):
                value = APPROXIMATIONS[op.name](_Emit(result.type), op.operands[0])
            result.replace_all_uses_with(value)
            op.erase()
        return bool(todo)
