"""fxc-math-polynomial-approximation, measured: f32 exp, log, tanh, erf (and
what is built of them: sigmoid, GELU, softmax) compiled by fxc against
PyTorch's CPU kernels, in units in the last place, over each function's
whole range, special values included."""

import numpy as np
import pytest
import torch

import fxc


def _ulps(actual: torch.Tensor, expected: torch.Tensor) -> torch.Tensor:
    """|actual - expected| in ulp, on the ordered integer line of float32 (0
    where both are the same NaN/inf/zero)."""

    def ordered(t):
        i = t.contiguous().view(torch.int32).to(torch.int64)
        return torch.where(i < 0, -(i & 0x7FFFFFFF), i)

    d = (ordered(actual) - ordered(expected)).abs()
    same = (actual == expected) | (actual.isnan() & expected.isnan())
    return torch.where(same, torch.zeros_like(d), d)


#: The first five of _specials() are exact in every function.
_EXACT = 5


def _specials():
    return torch.tensor([0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1e-45, -1e-45, 1e-40, 1.17549435e-38,
                         3.4028235e38, -3.4028235e38, 1.0, -1.0, 0.5, 88.72283, 88.7229, -87.33, -103.97, -104.5])


def _dense(lo, hi, n=400_001):
    return torch.from_numpy(np.linspace(lo, hi, n, dtype=np.float32))


# (function, inputs, bound in ulp).  The bounds are what the approximations
# reach (their module's docstring); eager's own kernels are 1-2 ulp off the
# correctly rounded result, on either side.
CASES = {
    "exp": (torch.exp, lambda: torch.cat([_dense(-105.0, 89.0), _dense(-1.0, 1.0), _specials()]), 2),
    "log": (torch.log, lambda: torch.cat([torch.from_numpy(np.geomspace(1e-45, 3e38, 400_001, dtype=np.float32)),
                                          _dense(0.5, 2.0), -_dense(0.0, 10.0, 11), _specials()]), 2),
    "tanh": (torch.tanh, lambda: torch.cat([_dense(-12.0, 12.0), _dense(-1e-3, 1e-3), _specials()]), 4),
    "erf": (torch.erf, lambda: torch.cat([_dense(-6.0, 6.0), _dense(-1e-3, 1e-3), _specials()]), 8),
}


@pytest.mark.parametrize("name", CASES)
def test_ulp_against_pytorch(name):
    fn, inputs, bound = CASES[name]
    x = inputs()
    compiled = fxc.compile(fn, (x,))
    actual, expected = compiled(x), fn(x)
    err = _ulps(actual, expected)
    worst = int(err.argmax())
    assert err.max().item() <= bound, f"{name}({x[worst].item()!r}) = {actual[worst].item()!r}, eager {expected[worst].item()!r}"
    # NaN, infinities and signed zeros exactly as eager.
    n = len(_specials())
    torch.testing.assert_close(actual[-n:][:_EXACT], expected[-n:][:_EXACT], atol=0, rtol=0, equal_nan=True)
    assert torch.equal(actual[-n:][:2].signbit(), expected[-n:][:2].signbit())


def test_the_code_has_no_libm_calls():
    x = torch.randn(64)
    text = fxc.compile(lambda x: torch.exp(x) + torch.tanh(x) + torch.erf(x) + torch.log(x.abs()), (x,)).ir("llvm")
    for libm in ("@expf", "@tanhf", "@erff", "@logf", "llvm.intr.exp", "llvm.intr.log"):
        assert libm not in text
    assert "vector<" in text and "llvm.intr.fma" in text


def test_off_keeps_libm():
    x = torch.randn(64)
    compiled = fxc.compile(torch.erf, (x,), options={"vector_math": False})
    assert "erff" in compiled.ir("llvm")
    assert _ulps(compiled(x), torch.erf(x)).max() <= 2


@pytest.mark.parametrize("module", [torch.nn.Sigmoid(), torch.nn.GELU(), torch.nn.GELU(approximate="tanh"),
                                    torch.nn.Softmax(-1), torch.nn.LogSoftmax(-1), torch.nn.SiLU()],
                         ids=lambda m: repr(m))
def test_built_on_them(module):
    x = torch.randn(37, 301) * 6
    actual = fxc.compile(module, (x,))(x)
    # Against the same program calling libm: the approximations' own error.
    libm = fxc.compile(module, (x,), options={"vector_math": False})(x)
    torch.testing.assert_close(actual, libm, atol=2e-6, rtol=2e-6)
    # Against eager (whose GELU kernels evaluate their formulas in another order).
    torch.testing.assert_close(actual, module(x), atol=1e-4, rtol=1e-5)
