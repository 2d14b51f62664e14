"""The CPU backend's int8 GEMM micro-kernels (fxc-lower-int8-matmul): each
variant the host can run, exact against eager PyTorch on awkward shapes, for
inputs and for constant weights.

Several matmuls share one compiled module, so the sweep costs one compile.
"""

import pytest
import torch
from torch._higher_order_ops.out_dtype import out_dtype

import fxc
from fxc.backends.cpu.backend import CpuBackend
from fxc.backends.cpu.passes.lower_int8_matmul import KERNELS
from fxc.runtime import host_cpu


def _kernel_param(name):
    need = KERNELS[name].features
    return pytest.param(name, id=name, marks=pytest.mark.skipif(
        not host_cpu.has(*need), reason=f"the {name} int8 kernel needs {', '.join(need)}"))


KERNEL_PARAMS = [_kernel_param(name) for name in KERNELS]

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
    (264, 511, 257),  # packed A and B past the VNNI kernel's PARALLEL_PACK_BYTES: packed by threads
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


@pytest.mark.parametrize("kernel", KERNEL_PARAMS)
@pytest.mark.parametrize("dtype", [torch.int8, torch.uint8])
def test_shapes_exact(dtype, kernel):
    model = ManyMatmuls()
    compiled = fxc.compile(model, tuple(_operands(dtype)), options=CpuBackend.Options(int8_microkernel=kernel))
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
        self.w3 = torch.nn.Buffer(torch.randint(-128, 128, (32, 40), dtype=torch.int8))

    def forward(self, x):
        h = _mm(x, self.w1)
        # x[1:, 3:35]: a view with an offset and a row stride of 37, K a
        # multiple of 4 (the VNNI kernel reads such an A without packing it).
        return (h, _mm(torch.clamp(h, -128, 127).to(torch.int8), self.w2), _mm(x[:, 5:24], self.w2),
                _mm(x[1:, 3:35], self.w3))


@pytest.mark.parametrize("kernel", KERNEL_PARAMS)
@pytest.mark.parametrize("openmp", [False, True])
def test_constant_weights_exact_across_calls(openmp, kernel):
    if openmp and not CpuBackend.Options().openmp:
        pytest.skip("this PyTorch has no OpenMP")
    model = Weights()
    compiled = fxc.compile(model, (torch.randint(-128, 128, (9, 37), dtype=torch.int8),),
                           options=CpuBackend.Options(openmp=openmp, int8_microkernel=kernel))
    for m in (9, 9, 9):
        x = torch.randint(-128, 128, (m, 37), dtype=torch.int8)
        for got, want in zip(compiled(x), model(x)):
            assert torch.equal(got, want)


def test_generic_path_when_disabled_matches():
    a = torch.randint(-128, 128, (7, 33), dtype=torch.int8)
    b = torch.randint(-128, 128, (33, 15), dtype=torch.int8)
    model = ManyMatmuls()
    compiled = fxc.compile(model, (a, b), options=CpuBackend.Options(int8_microkernel="off", openmp=False))
    assert torch.equal(compiled(a, b)[0], model(a, b)[0])


def test_default_kernel_follows_host_and_joins_required_features():
    options = CpuBackend.Options()
    best = next(name for name, k in KERNELS.items() if host_cpu.has(*k.features))
    assert options.int8_microkernel == best
    assert set(KERNELS[best].features) <= set(CpuBackend().host_features(options))
    vnni = CpuBackend.Options(int8_microkernel="vnni")
    assert {"avx512_vnni", "avx512bw"} <= set(CpuBackend().host_features(vnni))


def test_unknown_kernel_is_refused():
    with pytest.raises(ValueError, match="int8_microkernel='amx'"):
        CpuBackend.Options(int8_microkernel="amx")


@pytest.mark.parametrize("kernel", ["vnni", "avx2", "portable", "off"])
def test_pipeline_runs_the_chosen_kernel(kernel):
    backend = CpuBackend()
    passes = [p for s in backend.stages(CpuBackend.Options(int8_microkernel=kernel)) for p in s.passes]
    lowering = [p for p in passes if p.startswith("fxc-lower-int8-matmul")]
    assert lowering == ([] if kernel == "off" else [f"fxc-lower-int8-matmul{{kernel={kernel}}}"])


def test_kernel_choice_is_in_the_cache_key(tmp_path, monkeypatch):
    monkeypatch.setenv("FXC_CACHE_DIR", str(tmp_path))
    a, b = torch.ones(3, 4, dtype=torch.int8), torch.ones(4, 5, dtype=torch.int8)
    first = fxc.compile(ManyMatmuls(), (a, b), options=CpuBackend.Options(int8_microkernel="portable"))
    other = fxc.compile(ManyMatmuls(), (a, b), options=CpuBackend.Options(int8_microkernel="off"))
    again = fxc.compile(ManyMatmuls(), (a, b), options=CpuBackend.Options(int8_microkernel="portable"))
    assert (first.from_cache, other.from_cache, again.from_cache) == (False, False, True)


@pytest.mark.parametrize("kernel", KERNEL_PARAMS)
@pytest.mark.parametrize("init", [0, 7])
def test_accumulates_into_c_unless_only_zero_filled(kernel, init, run_llvm_stage):
    """A zero fill right before the matmul becomes an overwrite of C; any
    other initial value is added to."""
    import numpy as np

    m, k, n = 13, 37, 45
    src = f"""
    func.func @main(%a: memref<{m}x{k}xi8>, %b: memref<{k}x{n}xi8>, %c: memref<{m}x{n}xi32>) {{
      %init = arith.constant {init} : i32
      linalg.fill ins(%init : i32) outs(%c : memref<{m}x{n}xi32>)
      linalg.matmul ins(%a, %b : memref<{m}x{k}xi8>, memref<{k}x{n}xi8>) outs(%c : memref<{m}x{n}xi32>)
      return
    }}"""
    rng = np.random.default_rng(0)
    a = rng.integers(-128, 128, (m, k)).astype(np.int8)
    b = rng.integers(-128, 128, (k, n)).astype(np.int8)
    c = np.full((m, n), -5, np.int32)  # neither 0 nor 7: the kernel must not read what the fill overwrote
    run_llvm_stage(src, CpuBackend.Options(int8_microkernel=kernel, openmp=False), a, b, c)
    assert np.array_equal(c, init + a.astype(np.int64) @ b.astype(np.int64))
