"""The Triton backend (issue 12) under Triton's interpreter: CPU tensors run
the generated kernels through ``TRITON_INTERPRET``-style interpretation, so
numerics are checked against eager with no GPU.  Shapes are small (the
interpreter is slow); ``FXC_TRITON_LARGE=1`` runs larger ones."""

import os

import pytest
import torch
import torch.nn.functional as F
from torch._higher_order_ops.out_dtype import out_dtype

import fxc
from fxc.testing import assert_same

pytest.importorskip("triton")
LARGE = os.environ.get("FXC_TRITON_LARGE") == "1"
S = 64 if LARGE else 8


def check(fn, *args, rtol=None, atol=None):
    compiled = fxc.compile(fn, args, target="triton")
    got, expected = compiled(*args), fn(*args)
    if rtol is None:
        assert_same(got, expected)
    else:
        torch.testing.assert_close(got, expected, rtol=rtol, atol=atol)
    return compiled


def test_elementwise_chain_broadcast():
    check(lambda x, y, z: torch.relu(x * y + z).sigmoid() - torch.tanh(x) / 3,
          torch.randn(3, S, 5), torch.randn(S, 1), torch.randn(5))


@pytest.mark.parametrize("dim", [0, 1, -1, (0, 2)])
def test_sum_mean_max(dim):
    x = torch.randn(4, S, 6)
    check(lambda x: (x.sum(dim), x.mean(dim, keepdim=True), x.amax(dim)), x)


@pytest.mark.parametrize("dim", [0, -1])
def test_softmax_log_softmax(dim):
    x = torch.randn(S, 12)
    check(lambda x: (torch.softmax(x, dim), F.log_softmax(x, dim)), x)


def test_layer_norm():
    check(torch.nn.LayerNorm(16), torch.randn(3, S, 16))


def test_bf16_refused_by_interpreter():
    """Triton 3.9's interpreter computes bf16 wrongly: refused, not run wrong."""
    x = torch.randn(4, 8, dtype=torch.bfloat16)
    compiled = fxc.compile(lambda a, b: a @ b, (x, x.T.contiguous()), target="triton")
    with pytest.raises(RuntimeError, match="bfloat16"):
        compiled(x, x.T.contiguous())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_matmul_bmm_linear(dtype):
    lin = torch.nn.Linear(24, 20).to(dtype)
    tol = {} if dtype == torch.float32 else {"rtol": 2e-2, "atol": 2e-2}
    check(lambda a, b: a @ b, torch.randn(S, 24, dtype=dtype), torch.randn(24, 20, dtype=dtype), **tol)
    check(torch.bmm, torch.randn(2, S, 24, dtype=dtype), torch.randn(2, 24, 20, dtype=dtype), **tol)
    check(lin, torch.randn(S, 24, dtype=dtype), **tol)


def test_int8_out_dtype_mm():
    a = torch.randint(-128, 127, (S, 40), dtype=torch.int8)
    b = torch.randint(-128, 127, (40, 24), dtype=torch.int8)
    check(lambda a, b: out_dtype(torch.ops.aten.mm.default, torch.int32, a, b), a, b)


def test_mlp():
    mlp = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.GELU(), torch.nn.Linear(32, 8), torch.nn.ReLU())
    check(mlp, torch.randn(S, 16), rtol=1e-4, atol=1e-5)


def test_kernel_count_softmax():
    """softmax is one kernel (max, exp, sum and divide fused)."""
    c = fxc.compile(lambda x: torch.softmax(x, -1), (torch.randn(4, 8),), target="triton")
    assert len(c.artifact.manifest["plan"]["steps"]) == 1


LOG = []
LIB = torch.library.Library("fxctriton", "FRAGMENT")
LIB.define("record(Tensor x, str tag) -> Tensor")
LIB.impl("record", lambda x, tag: (LOG.append((tag, x.clone())), x * 2 + 1)[1], "CompositeExplicitAutograd")
torch.library.register_fake("fxctriton::record", lambda x, tag: torch.empty_like(x), lib=LIB)
from torch._higher_order_ops.effects import _EffectType, _register_effectful_op  # noqa: E402

_register_effectful_op(torch.ops.fxctriton.record.default, _EffectType.ORDERED)


def test_effects_between_kernels(capfd):
    def f(x):
        torch.ops.aten._print("first")
        y = torch.ops.fxctriton.record(x.exp(), "a")
        torch.ops.aten._print("second")
        z = torch.ops.fxctriton.record(y.sum(0), "b")
        return z * 3

    x = torch.randn(4, 5)
    compiled = fxc.compile(f, (x,), target="triton")
    capfd.readouterr()
    LOG.clear()
    got = compiled(x)
    assert capfd.readouterr().out.split() == ["first", "second"]
    assert [t for t, _ in LOG] == ["a", "b"]
    torch.testing.assert_close(LOG[0][1], x.exp())
    LOG.clear()
    torch.testing.assert_close(got, f(x))


def test_save_load(tmp_path):
    x = torch.randn(4, 8)
    compiled = check(lambda x: torch.softmax(x * 2, -1), x)
    compiled.save(tmp_path / "p.fxc")
    loaded = fxc.load(tmp_path / "p.fxc")
    torch.testing.assert_close(loaded(x), torch.softmax(x * 2, -1))


def test_runtime_imports_without_torch_mlir():
    import subprocess
    import sys

    # fxc/__init__ imports the API (and torch-mlir) today; what is checked
    # here is that the runtime module itself adds nothing of the compiler.
    code = ("import sys, fxc.runtime.program\nbefore = set(sys.modules)\n"
            "import fxc.backends.triton.runtime\n"
            "new = [m for m in set(sys.modules) - before if 'mlir' in m or m.startswith('fxc.')]\n"
            "print('ok' if all(m.startswith(('fxc.runtime', 'fxc.backends.triton.runtime')) or m in ('fxc.backends', 'fxc.backends.triton') for m in new) else new)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


def test_unsupported_op_is_located_error():
    with pytest.raises(fxc.CompileError, match="Triton backend"):
        fxc.compile(lambda x: torch.cumsum(x, 0), (torch.randn(4, 4),), target="triton")


def test_int8_gemm_ttir_and_ptx_sm90():
    """The int8 GEMM accumulates in i32 through tt.dot, and its sm_90 PTX uses
    tensor cores (wgmma/mma) -- compiled here without a GPU."""
    from torch.testing import FileCheck

    from fxc.backends.triton.backend import TritonBackend

    a = torch.randint(-128, 127, (128, 64), dtype=torch.int8)
    b = torch.randint(-128, 127, (64, 128), dtype=torch.int8)
    try:
        c = fxc.compile(lambda a, b: out_dtype(torch.ops.aten.mm.default, torch.int32, a, b), (a, b),
                        target="triton", options=TritonBackend.Options(cuda_arch=90))
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"compilation to PTX is unavailable here: {e}")
    files = c.artifact.files
    ttir = files["cuda/fxc_kernel_0.ttir"].decode()
    FileCheck().check("tt.dot").check("tensor<128x64xi8>").check("-> tensor<128x128xi32>").run(ttir)
    ptx = files["cuda/fxc_kernel_0.ptx"].decode()
    FileCheck().check(".target sm_90").run(ptx)
    FileCheck().check_regex(r"(wgmma|mma)\S*s32\.s8\.s8").run(ptx)
    assert files["cuda/fxc_kernel_0.cubin"]
