"""The CPU backend's int8 GEMM micro-kernel (fxc-lower-int8-matmul): exact
against eager PyTorch on awkward shapes, for inputs and for constant weights.

Several matmuls share one compiled module, so the sweep costs one compile.
"""

import pytest
import torch
from torch._higher_order_ops.out_dtype import out_dtype

import fxc
from fxc.backends.cpu.backend import CpuBackend

pytestmark = pytest.mark.skipif(
    not CpuBackend.Options().int8_microkernel, reason="the int8 micro-kernel needs an AVX2 host"
)

# (M, K, N): size-1 dims, tiny and odd K, non-multiples of the kernel's 6x16
# register tile and of its 16-wide B panels, exact multiples, and a few panels.
SHAPES = [
    (1, 1, 1),
    (1, 7, 33),
    (5, 3, 17),
    (6, 16, 16),
    (8, 16, 24),
    (7, 33, 15),
    (13, 2, 31),
    (12, 32, 48),
    (67, 129, 45),
    (2, 301, 3),
    (40, 64, 130),
]


def _mm(a, b):
    return out_dtype(torch.ops.aten.mm.default, torch.int32, a, b)


class ManyMatmuls(torch.nn.Module):
    def forward(self, *ab):
        return tuple(_mm(a, b) for a, b in zip(ab[::2], ab[1::2]))


def _operands(dtype, extreme=None):
    lo, hi = (-128, 128) if dtype == torch.int8 else (0, 256)
    out = []
    for m, k, n in SHAPES:
        if extreme is None:
            out += [torch.randint(lo, hi, (m, k), dtype=dtype), torch.randint(lo, hi, (k, n), dtype=dtype)]
        else:
            out += [torch.full((m, k), extreme, dtype=dtype), torch.full((k, n), extreme, dtype=dtype)]
    return out


def _assert_exact(got, want):
    assert len(got) == len(want)
    for (m, k, n), g, w in zip(SHAPES, got, want):
        assert g.dtype == torch.int32 and torch.equal(g, w), f"shape M={m} K={k} N={n}"


@pytest.mark.parametrize("dtype", [torch.int8, torch.uint8])
def test_shapes_exact(dtype):
    model = ManyMatmuls()
    compiled = fxc.compile(model, tuple(_operands(dtype)))
    # Fresh values (not the example inputs), then the extremes of the range:
    # -128 * -128 pairs sum to 2**15, the edge of 16-bit arithmetic.
    for args in (_operands(dtype), _operands(dtype, extreme=-128 if dtype == torch.int8 else 255)):
        _assert_exact(compiled(*args), model(*args))


class Weights(torch.nn.Module):
    """Constant int8 weights (packed once, at the first call) of awkward shapes."""

    def __init__(self):
        super().__init__()
        self.w1 = torch.nn.Buffer(torch.randint(-128, 128, (37, 19), dtype=torch.int8))
        self.w2 = torch.nn.Buffer(torch.randint(-128, 128, (19, 50), dtype=torch.int8))

    def forward(self, x):
        h = _mm(x, self.w1)
        return h, _mm(torch.clamp(h, -128, 127).to(torch.int8), self.w2), _mm(x[:, 5:24], self.w2)


@pytest.mark.parametrize("openmp", [False, True])
def test_constant_weights_exact_across_calls(openmp):
    if openmp and not CpuBackend.Options().openmp:
        pytest.skip("intel-openmp is not installed")
    model = Weights()
    compiled = fxc.compile(model, (torch.randint(-128, 128, (9, 37), dtype=torch.int8),),
                           options=CpuBackend.Options(openmp=openmp))
    for m in (9, 9, 9):
        x = torch.randint(-128, 128, (m, 37), dtype=torch.int8)
        for got, want in zip(compiled(x), model(x)):
            assert torch.equal(got, want)


def test_generic_path_when_disabled_matches():
    a = torch.randint(-128, 128, (7, 33), dtype=torch.int8)
    b = torch.randint(-128, 128, (33, 15), dtype=torch.int8)
    model = ManyMatmuls()
    compiled = fxc.compile(model, (a, b), options=CpuBackend.Options(int8_microkernel=False, openmp=False))
    assert torch.equal(compiled(a, b)[0], model(a, b)[0])
