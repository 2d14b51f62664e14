"""The CPU backend's bf16 GEMM micro-kernel (fxc-lower-bf16-matmul): bf16
inputs, f32 accumulation, against eager PyTorch on awkward shapes, for
inputs, frozen weights, batches and an autocast ``nn.Linear`` model; and
the vectorized path it replaces, with the kernel off.

Several matmuls share one compiled module, so a sweep costs one compile.
"""

import math

import pytest
import torch

import fxc
from fxc.backends.cpu.backend import CpuBackend
from fxc.backends.cpu.passes.lower_bf16_matmul import KERNELS
from fxc.runtime import host_cpu

BF16 = torch.bfloat16
_NEED = KERNELS["avx512bf16"].features
needs_bf16 = pytest.mark.skipif(not host_cpu.has(*_NEED),
                                reason=f"the bf16 micro-kernel needs {', '.join(_NEED)}, which this host lacks")

# (M, K, N): size-1 dims, K = 1 and odd K (a zero-padded K pair), N below
# the 32-column panel, non-multiples of the 8x32 register tile, exact
# multiples, and operands big enough for threaded packing.
SHAPES = [
    (1, 1, 1),
    (1, 7, 33),
    (5, 3, 17),
    (8, 32, 32),
    (13, 1, 31),
    (9, 33, 64),
    (67, 129, 45),
    (2, 301, 3),
    (40, 64, 130),
    (200, 515, 257),
]


class ManyMatmuls(torch.nn.Module):
    def forward(self, *ab):
        return tuple(a @ b for a, b in zip(ab[::2], ab[1::2]))


def _operands(shapes, batch=()):
    out = []
    for m, k, n in shapes:
        out += [torch.randn(*batch, m, k, dtype=BF16), torch.randn(*batch, k, n, dtype=BF16)]
    return out


def _assert_close(got, a, b):
    """``got`` (bf16) is f32 accumulation of ``a @ b`` rounded to bf16, and
    eager's bf16 result, within bf16 rounding (sums in another order)."""
    k = a.shape[-1]
    exact = a.float() @ b.float()
    assert got.dtype == BF16 and got.shape == exact.shape
    tol = dict(rtol=2 ** -7, atol=2 ** -8 * math.sqrt(k))
    torch.testing.assert_close(got.float(), exact, **tol)
    torch.testing.assert_close(got.float(), (a @ b).float(), **tol)


def _options(kernel="avx512bf16", **kw):
    return CpuBackend.Options(bf16_microkernel=kernel, **kw)


@needs_bf16
def test_shapes_match_eager():
    model = ManyMatmuls()
    compiled = fxc.compile(model, tuple(_operands(SHAPES)), options=_options())
    args = _operands(SHAPES)  # fresh values, not the example inputs
    for got, a, b in zip(compiled(*args), args[::2], args[1::2]):
        _assert_close(got, a, b)


class ManyLinears(torch.nn.Module):
    """``linear``: a transpose of the weight, which the kernel packs from directly."""

    def forward(self, *aw):
        return tuple(torch.nn.functional.linear(a, w) for a, w in zip(aw[::2], aw[1::2]))


@needs_bf16
def test_transposed_weight_shapes_match_eager():
    def operands():
        return [t for a, b in zip(*[iter(_operands(SHAPES))] * 2) for t in (a, b.t().contiguous())]

    compiled = fxc.compile(ManyLinears(), tuple(operands()), options=_options())
    args = operands()
    for got, a, w in zip(compiled(*args), args[::2], args[1::2]):
        _assert_close(got, a, w.t())


@needs_bf16
def test_batch_matmul_matches_eager():
    shapes = [(7, 5, 19), (64, 64, 64), (1, 3, 40)]
    model = ManyMatmuls()
    compiled = fxc.compile(model, tuple(_operands(shapes, batch=(3,))), options=_options())
    args = _operands(shapes, batch=(3,))
    for got, a, b in zip(compiled(*args), args[::2], args[1::2]):
        _assert_close(got, a, b)


class Mlp(torch.nn.Module):
    """Linear layers of awkward widths, one weight used twice."""

    def __init__(self):
        super().__init__()
        self.l1 = torch.nn.Linear(37, 19)
        self.l2 = torch.nn.Linear(19, 50, bias=False)
        self.l3 = torch.nn.Linear(50, 37)

    def forward(self, x):
        h = torch.relu(self.l1(x))
        return self.l1(torch.relu(self.l3(self.l2(h))) + x), self.l2(h)


@needs_bf16
@pytest.mark.parametrize("freeze", [False, True], ids=["params", "frozen"])
@pytest.mark.parametrize("openmp", [False, True], ids=["serial", "openmp"])
def test_autocast_linear_model_matches_eager_across_calls(freeze, openmp):
    """Frozen weights are packed once, at the first call; later calls (and
    other batch sizes of rows) reuse the packed copy."""
    if openmp and not CpuBackend.Options().openmp:
        pytest.skip("this PyTorch has no OpenMP")
    model = Mlp().eval()
    with torch.no_grad():
        compiled = fxc.compile(model, (torch.randn(9, 37),), freeze=freeze, autocast=BF16,
                               options=_options(openmp=openmp))
    for _ in range(3):
        x = torch.randn(9, 37)
        with torch.no_grad(), torch.autocast("cpu", BF16):
            want = model(x)
        for got, w in zip(compiled(x), want):
            assert got.dtype == w.dtype == BF16
            torch.testing.assert_close(got.float(), w.float(), rtol=2 ** -6, atol=2 ** -6)


@needs_bf16
@pytest.mark.parametrize("freeze", [False, True], ids=["params", "frozen"])
def test_dynamic_rows_match_eager(freeze):
    from torch.export import Dim

    model = torch.nn.Linear(37, 45).eval()
    with torch.no_grad():
        # (Under autocast= the program's inputs are one tuple: shapes by position.)
        compiled = fxc.compile(model, (torch.randn(9, 37),), freeze=freeze, autocast=BF16, options=_options(),
                               dynamic_shapes=(({0: Dim("rows", min=1, max=1024)},),))
    for rows in (1, 9, 100):
        x = torch.randn(rows, 37)
        with torch.no_grad(), torch.autocast("cpu", BF16):
            want = model(x)
        torch.testing.assert_close(compiled(x).float(), want.float(), rtol=2 ** -6, atol=2 ** -6)


def test_vectorized_path_when_off_matches():
    shapes = [(7, 33, 15), (1, 1, 40)]
    model = ManyMatmuls()
    args = tuple(_operands(shapes))
    compiled = fxc.compile(model, args, options=_options("off", openmp=False))
    for got, a, b in zip(compiled(*args), args[::2], args[1::2]):
        _assert_close(got, a, b)


def test_default_kernel_follows_host_and_joins_required_features():
    options = CpuBackend.Options()
    assert options.bf16_microkernel == ("avx512bf16" if host_cpu.has(*_NEED) else "off")
    assert set(_NEED) <= set(CpuBackend().host_features(_options()))


def test_unknown_kernel_is_refused():
    with pytest.raises(ValueError, match="bf16_microkernel='amx'"):
        CpuBackend.Options(bf16_microkernel="amx")


@pytest.mark.parametrize("kernel", ["avx512bf16", "off"])
def test_pipeline_runs_the_chosen_kernel(kernel):
    passes = [p for s in CpuBackend().stages(_options(kernel)) for p in s.passes]
    lowering = [p for p in passes if p.startswith("fxc-lower-bf16-matmul")]
    assert lowering == ([] if kernel == "off" else [f"fxc-lower-bf16-matmul{{kernel={kernel}}}"])
    if kernel != "off":  # before the vectorizer, which would take the matmul
        assert passes.index(lowering[0]) < passes.index(next(p for p in passes if p.startswith("fxc-convert-linalg-to-vector")))


@needs_bf16
def test_kernel_choice_is_in_the_cache_key(tmp_path, monkeypatch):
    monkeypatch.setenv("FXC_CACHE_DIR", str(tmp_path))
    args = (torch.ones(3, 4, dtype=BF16), torch.ones(4, 5, dtype=BF16))
    first = fxc.compile(ManyMatmuls(), args, options=_options("avx512bf16"))
    other = fxc.compile(ManyMatmuls(), args, options=_options("off"))
    again = fxc.compile(ManyMatmuls(), args, options=_options("avx512bf16"))
    assert (first.from_cache, other.from_cache, again.from_cache) == (False, False, True)


@needs_bf16
@pytest.mark.parametrize("init", [0.0, 7.0])
def test_accumulates_into_c_unless_only_zero_filled(init, run_llvm_stage):
    """A zero fill right before the matmul becomes an overwrite of C; any
    other initial value is added to."""
    m, k, n = 13, 37, 45
    src = f"""
    func.func @main(%a: memref<{m}x{k}xbf16>, %b: memref<{k}x{n}xbf16>, %c: memref<{m}x{n}xf32>) {{
      %init = arith.constant {init} : f32
      linalg.fill ins(%init : f32) outs(%c : memref<{m}x{n}xf32>)
      linalg.matmul ins(%a, %b : memref<{m}x{k}xbf16>, memref<{k}x{n}xbf16>) outs(%c : memref<{m}x{n}xf32>)
      return
    }}"""
    a, b = torch.randn(m, k, dtype=BF16), torch.randn(k, n, dtype=BF16)
    c = torch.full((m, n), -5.0)  # neither 0 nor 7: the kernel must not read what the fill overwrote
    # numpy has no bf16: its 16-bit patterns travel as int16 (same descriptor layout).
    run_llvm_stage(src, _options(openmp=False), a.view(torch.int16).numpy(), b.view(torch.int16).numpy(), c.numpy())
    torch.testing.assert_close(c, init + a.float() @ b.float(), rtol=1e-5, atol=1e-4)


class EncoderLayer(torch.nn.Module):
    """Eager's fast path under autocast: its linears bufferize to f32 matmuls
    of buffers holding bf16 values (the activation rounded, the weight
    widened), which the kernel takes from their bf16 sources."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.layer = torch.nn.TransformerEncoderLayer(64, 4, dim_feedforward=128, dropout=0.0, batch_first=True)

    def forward(self, x):
        return self.layer(x)


@needs_bf16
@pytest.mark.parametrize("freeze", [False, True], ids=["params", "frozen"])
def test_autocast_encoder_layer_matches_eager(freeze):
    model = EncoderLayer().eval()
    x = torch.randn(3, 17, 64)
    with torch.no_grad():
        compiled = fxc.compile(model, (x,), freeze=freeze, autocast=BF16, options=_options())
        off = fxc.compile(model, (x,), freeze=freeze, autocast=BF16, options=_options("off"))
        x = torch.randn(3, 17, 64)
        with torch.autocast("cpu", BF16):
            want = model(x)
        got = compiled(x)
    assert got.dtype == want.dtype == BF16
    # As test_autocast_attention compares autocast with eager; the f32 path
    # sums the same exact products in another order.
    torch.testing.assert_close(got.double(), want.double(), atol=3e-2, rtol=3e-2)
    torch.testing.assert_close(got.double(), off(x).double(), atol=3e-2, rtol=3e-2)
