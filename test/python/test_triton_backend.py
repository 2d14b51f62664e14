"""The Triton backend (issue 12) under Triton's interpreter: CPU tensors run
the generated kernels through ``TRITON_INTERPRET``-style interpretation, so
numerics are checked against eager with no GPU.  Shapes are small (the
interpreter is slow); ``FXC_TRITON_LARGE=1`` runs larger ones."""

import os
import subprocess
import tempfile

import pytest
import torch
import torch.nn.functional as F
from torch._higher_order_ops.out_dtype import out_dtype

import fxc
from torch.export import Dim
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


def test_full_and_integer_reductions():
    """0-d results (a full reduction) and integer max/min at the type's limits."""
    x = torch.randint(-128, 127, (3, S), dtype=torch.int8)
    x[0, 1], x[1, 2] = -128, 127
    check(lambda x: (x.amax(-1), x.amin(0), x.float().sum(), x.float().amax()), x)


@pytest.mark.parametrize("dim", [0, -1])
def test_argmax_argmin_and_nan(dim):
    """argmax/argmin pick the first extreme; max and amax propagate NaN."""
    x = torch.randn(5, S)
    x[1, 2] = x[1, 4] = x[3, 2] = 9.0
    x[2] = float("-inf")
    check(lambda x: (x.argmax(dim), x.argmin(dim), *x.max(dim)), x)
    x[4, 1] = float("nan")
    fn = lambda x: (x.amax(dim), x.amin(dim))  # noqa: E731
    torch.testing.assert_close(fxc.compile(fn, (x,), target="triton")(x), fn(x), equal_nan=True)


def test_cumsum_and_integer_powers():
    """cumsum (tm_tensor.scan) is a kernel with its producers fused; x ** n
    for a constant n multiplies by squaring."""
    check(lambda x: ((x * 3).cumsum(-1) * 2, x.cumsum(0), x ** 2, x ** -3, x ** 0), torch.randn(5, S),
          rtol=1e-5, atol=1e-5)
    check(lambda x: x.cumsum(1), torch.randint(-3, 3, (3, S)))


def test_bf16_inside_kernel_refused_by_interpreter():
    """A bf16 value inside a kernel (no bf16 buffer) is refused on CPU too."""
    compiled = fxc.compile(lambda x: x.to(torch.bfloat16).float() * 2, (torch.randn(4),), target="triton")
    with pytest.raises(RuntimeError, match="bfloat16"):
        compiled(torch.randn(4))


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


B, R = Dim("b", min=1, max=512), Dim("r", min=1, max=512)
DYNAMIC = {
    # name: (fn, example args, dynamic_shapes, args at size n)
    "elementwise": (lambda x, y: torch.relu(x * y + 1).sigmoid() - torch.tanh(x) / 3,
                    (torch.randn(S, 5), torch.randn(5)), {"x": {0: B}, "y": None},
                    lambda n: (torch.randn(n, 5), torch.randn(5))),
    "reduction": (lambda x: (torch.softmax(x, -1), x.sum(0), x.amax(-1)),
                  (torch.randn(3, S),), {"x": {1: R}}, lambda n: (torch.randn(3, n),)),
    "matmul": (lambda a, b: a @ b, (torch.randn(S, 6), torch.randn(6, 5)), {"a": {0: B, 1: R}, "b": {0: R}},
               lambda n: (torch.randn(n, n + 1), torch.randn(n + 1, 5))),
    "mlp": (torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.GELU(), torch.nn.Linear(32, 8)),
            (torch.randn(S, 16),), {"input": {0: B}}, lambda n: (torch.randn(n, 16),)),
}


@pytest.mark.parametrize("case", DYNAMIC)
def test_dynamic_shapes_one_compile_many_sizes(case):
    """Symbolic sizes are kernel arguments and grids are computed at launch:
    one compile runs at sizes 1 to well past the example, exactly as eager."""
    fn, example, dynamic, at = DYNAMIC[case]
    compiled = fxc.compile(fn, example, target="triton", dynamic_shapes=dynamic)
    plan = compiled.artifact.manifest["plan"]
    assert any(isinstance(d, str) for b in plan["buffers"] for d in b["shape"])
    for n in (1, 2, 7, S + 9, 5 * S):
        args = at(n)
        torch.testing.assert_close(compiled(*args), fn(*args), rtol=1e-5, atol=1e-5)


def test_dynamic_shapes_guard():
    compiled = fxc.compile(lambda x: x * 2, (torch.randn(S, 3),), target="triton", dynamic_shapes={"x": {0: B}})
    with pytest.raises(ValueError, match="dimension 0 is 600, outside the range"):
        compiled(torch.randn(600, 3))
    with pytest.raises(ValueError, match="input 'x'"):
        compiled(torch.randn(4, 4))


MOVES = {
    "slice_step": (lambda x: x[1:3, ::2] * 2, (torch.randn(4, 8),)),
    "slice_out": (lambda x: x[:, 2:5], (torch.randn(4, 8),)),
    "split": (lambda x: [t * 2 for t in x.split(2, 1)], (torch.randn(4, 6),)),
    "cat": (lambda x, y: torch.cat([x, y * 2, x[:, :1]], 1).softmax(-1), (torch.randn(4, 3), torch.randn(4, 5))),
    "permute_expand": (lambda x, y: x.permute(2, 0, 1) * y.expand(4, 2, 3),
                       (torch.randn(2, 3, 4), torch.randn(4, 1, 3))),
    "pad_roll": (lambda x: (F.pad(x, (1, 2, 0, 1), value=-1.5).exp(), x.roll(1, 0)), (torch.randn(4, 6),)),
    "slice_scatter": (lambda x, y: torch.slice_scatter(x, y * 2, 1, 1, 6, 2), (torch.randn(4, 6), torch.randn(4, 3))),
    "index_select": (lambda x, i: x.index_select(0, i) * 2, (torch.randn(5, 3), torch.tensor([0, 4, 2]))),
    "gather": (lambda x, i: torch.gather(x, 1, i), (torch.randn(3, 4), torch.tensor([[0, 1], [3, 2], [1, 1]]))),
    "embedding": (lambda w, i: F.embedding(i, w), (torch.randn(10, 4), torch.tensor([[1, 2], [9, 0]]))),
}


@pytest.mark.parametrize("case", MOVES)
def test_data_movement(case):
    """Slices, concatenation, permutes, broadcasts and gathers are read
    through index arithmetic by the kernels that use them (no copy kernels)."""
    fn, args = MOVES[case]
    check(fn, *args)


def test_gather_out_of_bounds_raises():
    compiled = fxc.compile(lambda w, i: F.embedding(i, w), (torch.randn(10, 4), torch.tensor([1, 2])), target="triton")
    with pytest.raises(RuntimeError, match="index out of bounds"):
        compiled(torch.randn(10, 4), torch.tensor([1, 10]))
    with pytest.raises(RuntimeError, match="index out of bounds"):
        compiled(torch.randn(10, 4), torch.tensor([-1, 0]))


def test_dynamic_cat_slice_pad_matmul():
    fn = lambda x, y: F.pad(torch.cat([x[:, 1:], y], 0), (0, 0, 1, 1)) @ y.t()  # noqa: E731
    compiled = fxc.compile(fn, (torch.randn(4, 6), torch.randn(3, 5)), target="triton",
                           dynamic_shapes={"x": {0: B}, "y": None})
    for n in (1, 2, 9, 40):
        x, y = torch.randn(n, 6), torch.randn(3, 5)
        torch.testing.assert_close(compiled(x, y), fn(x, y))


def test_transformer_encoder_layer():
    """nn.TransformerEncoderLayer (d=32, 2 heads, eval): attention through
    batched matmuls and softmax, layer norms, the feed-forward MLP; also
    with the sequence length dynamic."""
    layer = torch.nn.TransformerEncoderLayer(32, 2, dim_feedforward=64, dropout=0.0, batch_first=True).eval()
    x = torch.randn(2, 5, 32)
    compiled = fxc.compile(layer, (x,), target="triton", dynamic_shapes={"src": {1: Dim("seq", min=2, max=64)}})
    with torch.no_grad():
        for n in (2, 5, 11):
            x = torch.randn(2, n, 32)
            torch.testing.assert_close(compiled(x), layer(x), rtol=1e-4, atol=1e-5)


def test_buffer_reuse():
    """Five softmaxes over alternating dims: every intermediate is dead once
    the next kernel has read it, so the plan stores them in fewer slots than
    buffers (the output keeps its own), at every size of a dynamic compile."""
    fn = lambda x: x.softmax(0).softmax(1).softmax(0).softmax(1).softmax(0)  # noqa: E731
    compiled = fxc.compile(fn, (torch.randn(6, 7),), target="triton", dynamic_shapes={"x": {0: B}})
    plan = compiled.artifact.manifest["plan"]
    written = [o for st in plan["steps"] if st["kind"] == "launch" for o in st["outs"]]
    slotted = [o for o in written if "slot" in plan["buffers"][o]]
    assert plan["outputs"][0] not in slotted
    assert len(slotted) == len(written) - 1 and plan["slots"] < len(slotted)
    for n in (1, 6, 30):
        x = torch.randn(n, 7)
        torch.testing.assert_close(compiled(x), fn(x))


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


def test_save_load_dynamic(tmp_path):
    """A saved dynamic artifact stays dynamic: loaded, it runs at other sizes."""
    fn = lambda x: torch.softmax(x * 2, -1)  # noqa: E731
    fxc.compile(fn, (torch.randn(4, 8),), target="triton",
                dynamic_shapes={"x": {0: B, 1: R}}).save(tmp_path / "p.fxc")
    loaded = fxc.load(tmp_path / "p.fxc")
    for shape in ((1, 3), (9, 40)):
        x = torch.randn(shape)
        torch.testing.assert_close(loaded(x), fn(x))


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
    with pytest.raises(fxc.CompileError, match=r"test_triton_backend.py:\d+: error: .*Triton backend.*tm_tensor.sort"):
        fxc.compile(lambda x: torch.sort(x, 0)[0], (torch.randn(4, 4),), target="triton")


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


@pytest.mark.parametrize("dtype,mma", [(torch.float16, r"f32\.f16\.f16"), (torch.bfloat16, r"f32\.bf16\.bf16"),
                                       (torch.int8, r"s32\.s8\.s8")])
def test_gemm_ptx_sm90_tensor_cores_and_no_spills(dtype, mma):
    """fp16/bf16 GEMMs accumulate in f32 and int8 in s32 on tensor cores
    (wgmma/mma in the sm_90 PTX), and ptxas assembles each kernel at its
    tile sizes with no local-memory spills -- all without a GPU."""
    import re

    from torch.testing import FileCheck

    from fxc.backends.nvvm.ptx import ptxas_path
    from fxc.backends.triton.backend import TritonBackend

    pytest.importorskip("triton.backends.nvidia.compiler")
    if dtype is torch.int8:
        a = torch.randint(-128, 127, (256, 128), dtype=dtype)
        b = torch.randint(-128, 127, (128, 256), dtype=dtype)
        fn = lambda a, b: out_dtype(torch.ops.aten.mm.default, torch.int32, a, b)  # noqa: E731
    else:
        a, b = torch.randn(256, 128, dtype=dtype), torch.randn(128, 256, dtype=dtype)
        fn = torch.mm
    c = fxc.compile(fn, (a, b), target="triton", options=TritonBackend.Options(cuda_arch=90))
    ptx = c.artifact.files["cuda/fxc_kernel_0.ptx"].decode()
    FileCheck().check(".target sm_90").run(ptx)
    FileCheck().check_regex(rf"(wgmma|mma)\S*{mma}").run(ptx)
    arch = re.search(r"\.target (sm_\w+)", ptx).group(1)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "k.ptx")
        with open(path, "w") as f:
            f.write(ptx)
        out = subprocess.run([ptxas_path(), "-v", f"--gpu-name={arch}", path, "-o", os.path.join(d, "k.cubin")],
                             capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    spills = [int(n) for n in re.findall(r"(\d+) bytes spill (?:stores|loads)", out.stderr)]
    assert spills and not any(spills), out.stderr


def test_dynamic_and_checked_kernels_compile_for_sm90():
    """Size symbols (i32 arguments), launch-time block sizes and the
    gather check's error word survive triton.compile for sm_90."""
    from fxc.backends.triton.backend import TritonBackend

    pytest.importorskip("triton.backends.nvidia.compiler")
    fn = lambda x, w, i: (torch.softmax(x, -1), F.embedding(i, w))  # noqa: E731
    args = (torch.randn(4, 8), torch.randn(6, 4), torch.tensor([1, 5]))
    c = fxc.compile(fn, args, target="triton", dynamic_shapes={"x": {1: R}, "w": None, "i": {0: B}},
                    options=TritonBackend.Options(cuda_arch=90))
    launches = [s["kernel"] for s in c.artifact.manifest["plan"]["steps"] if s["kind"] == "launch"]
    assert len(launches) == 2 and all(c.artifact.files[f"cuda/{k}.cubin"] for k in launches)
