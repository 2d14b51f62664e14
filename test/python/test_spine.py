"""The spine (issue 2): seed tests through fxc's CPU backend, the API, bad input."""

import re

import pytest
import torch
from torch._higher_order_ops.out_dtype import out_dtype

import fxc
from fxc.testing import assert_same


class MatmulInt8(torch.nn.Module):
    def __init__(self, weight):
        super().__init__()
        self.weight = weight

    def forward(self, x):
        return out_dtype(torch.ops.aten.mm.default, torch.int32, x, self.weight)


class PrintTwice(torch.nn.Module):
    def forward(self, x):
        torch.ops.aten._print("moo")
        res = x + x
        torch.ops.aten._print("moo")
        return (res,)


# -- seeds --------------------------------------------------------------------


def test_out_dtype_mm_numerical():
    weight = torch.randint(-128, 127, (5, 5), dtype=torch.int8)
    x = torch.randint(-128, 127, (5, 5), dtype=torch.int8)
    m = MatmulInt8(weight)
    compiled = fxc.compile(m, (x,))
    numerical_res = torch.ops.aten.mm.default(x.to(torch.int32), weight.to(torch.int32))
    out = compiled(x)
    assert out.dtype == torch.int32
    assert torch.equal(out, numerical_res)
    assert torch.equal(out, m(x))
    # New inputs of the same shape, the same weight.
    x2 = torch.randint(-128, 127, (5, 5), dtype=torch.int8)
    assert torch.equal(compiled(x2), m(x2))


def test_out_dtype_mul_scalar_numerical():
    def f(x, y):
        return out_dtype(torch.ops.aten.mul.Scalar, torch.int32, x, y)

    inp = (torch.randint(-128, 127, (5, 5), dtype=torch.int8), 3.0)
    compiled = fxc.compile(f, inp)
    numerical_res = torch.ops.aten.mul.Scalar(inp[0].to(dtype=torch.int32), 3)
    out = compiled(*inp)
    assert out.dtype == torch.int32
    assert torch.equal(out, numerical_res)
    assert torch.equal(out, f(*inp))


def test_print(capfd):
    inputs = (torch.randn(3),)
    compiled = fxc.compile(PrintTwice(), inputs)
    capfd.readouterr()
    expected = PrintTwice()(*inputs)
    eager_out = capfd.readouterr().out
    actual = compiled(*inputs)
    fxc_out = capfd.readouterr().out
    assert eager_out == "moo\nmoo\n"
    assert fxc_out == eager_out
    assert_same(actual, expected)


def test_compile_aot_eager(capfd):
    def f(x):
        torch.ops.aten._print("moo")
        res = x + x
        torch.ops.aten._print("moo")
        return res

    inputs = (torch.randn(2, 3),)
    res = torch.compile(f, backend="fxc")(*inputs)
    assert capfd.readouterr().out == "moo\nmoo\n"
    assert torch.allclose(res, f(*inputs))


def test_fxc_backend_runs_compiled_code(monkeypatch):
    # The graph torch.compile hands over is compiled by fxc, not run eagerly.
    import torch._dynamo
    from fxc import dynamo

    compiled = []

    def spy(program, **kw):
        result = fxc.api.compile_program(program, **kw)
        compiled.append(result)
        return result

    monkeypatch.setattr(dynamo, "compile_program", spy)
    torch._dynamo.reset()

    def f(x):
        return torch.sin(x) + 1

    x = torch.randn(4)
    torch.testing.assert_close(torch.compile(f, backend="fxc")(x), f(x))
    assert len(compiled) == 1
    torch._dynamo.reset()


# -- API ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def example():
    weight = torch.randint(-128, 127, (8, 4), dtype=torch.int8)
    x = torch.randint(-128, 127, (3, 8), dtype=torch.int8)
    m = MatmulInt8(weight)
    return m, x, fxc.compile(m, (x,))


def test_stages_table():
    assert fxc.stages("cpu") == ["torch", "fxc", "linalg", "bufferized", "llvm"]


def test_ir_of_every_stage(example):
    m, x, compiled = example
    for stage in fxc.stages():
        text = compiled.ir(stage)
        assert text.lstrip().startswith(("module", "#")), stage
    with pytest.raises(KeyError, match="no stage 'ttir'"):
        compiled.ir("ttir")


def test_stop_after_and_exported_program(example):
    m, x, _ = example
    ep = torch.export.export(m, (x,))
    partial = fxc.compile(ep, (x,), stop_after="linalg")
    assert partial.ir("linalg") == partial.mlir
    assert "linalg.matmul" in partial.ir("linalg") or "linalg.generic" in partial.ir("linalg")
    assert partial.ir("torch").lstrip().startswith(("module", "#"))
    with pytest.raises(KeyError, match="stopped after stage 'linalg'; no IR for 'bufferized'"):
        partial.ir("bufferized")
    with pytest.raises(RuntimeError, match="stopped after stage 'linalg'"):
        partial(x)
    full = fxc.compile(ep, (x,))
    assert torch.equal(full(x), m(x))


def test_unknown_stage_and_target(example):
    m, x, _ = example
    with pytest.raises(fxc.CompileError, match="unknown stage 'nope'"):
        fxc.compile(m, (x,), stop_after="nope")
    with pytest.raises(fxc.CompileError, match="unknown target 'tpu'"):
        fxc.compile(m, (x,), target="tpu")


def test_pytree_outputs_and_kwargs():
    class M(torch.nn.Module):
        def forward(self, x, *, scale):
            return {"a": x * scale, "b": [x + 1, x.sum()]}

    x, s = torch.randn(2, 3), torch.randn(3)
    compiled = fxc.compile(M(), (x,), {"scale": s})
    assert_same(compiled(x, scale=s), M()(x, scale=s))


def test_non_contiguous_input(example):
    m, x, compiled = example
    xt = x.t().contiguous().t()
    assert not xt.is_contiguous()
    assert torch.equal(compiled(xt), m(x))


# -- bad input ------------------------------------------------------------------


def test_wrong_input_count(example):
    _, x, compiled = example
    with pytest.raises(TypeError, match="expected 1 inputs, got 2"):
        compiled(x, x)


def test_wrong_shape_names_the_input(example):
    _, x, compiled = example
    with pytest.raises(ValueError, match=re.escape("input 'x': expected shape [3, 8], got [4, 8]")):
        compiled(torch.zeros(4, 8, dtype=torch.int8))


def test_wrong_dtype_names_the_input(example):
    _, x, compiled = example
    with pytest.raises(TypeError, match="input 'x': expected dtype torch.int8, got torch.float32"):
        compiled(x.float())


def test_wrong_device_names_the_input(example):
    _, x, compiled = example
    # A meta tensor has no memory: it never reaches compiled code.
    with pytest.raises(TypeError, match="input 'x': a meta tensor has no data compiled code can read"):
        compiled(torch.empty(3, 8, dtype=torch.int8, device="meta"))


def test_not_a_tensor(example):
    _, _, compiled = example
    with pytest.raises(TypeError, match="input 'x': expected a torch.Tensor, got list"):
        compiled([1, 2])


class Unsupported(torch.nn.Module):
    def forward(self, x):
        y = x * 2
        return torch.fft.rfft(y).abs()  # the line the error names


def test_unsupported_op_names_op_and_line():
    with pytest.raises(fxc.CompileError) as info:
        fxc.compile(Unsupported(), (torch.randn(8),))
    err = info.value
    line = Unsupported.forward.__code__.co_firstlineno + 2
    assert err.location == f"{__file__}:{line}"
    # torch-mlir lowers rfft (its decomposition table keeps it whole) but not
    # abs of a complex tensor: the error names that PyTorch op.
    assert "'aten.abs.default'" in err.message
    # The note says how to reproduce the failing stage with fxc-opt.
    assert any(n.strip().startswith("fxc-opt --pass-pipeline=") for n in err.notes)


def test_unsupported_higher_order_op_names_line():
    def f(x):
        return torch.cond(x.sum() > 0, lambda x: x + 1, lambda x: x - 1, (x,))

    with pytest.raises(fxc.CompileError) as info:
        fxc.compile(f, (torch.randn(4),))
    assert info.value.location == f"{__file__}:{f.__code__.co_firstlineno + 1}"
    assert "'cond'" in info.value.message


# -- CPU backend corner cases -----------------------------------------------------


def test_same_value_returned_twice():
    # CSE merges the two products into one value returned twice; each output
    # still gets its own buffer (fxc-distinct-results).
    def f(x):
        return x * 2, x * 2

    x = torch.randn(5)
    a, b = fxc.compile(f, (x,))(x)
    assert torch.equal(a, x * 2) and torch.equal(b, x * 2)
    assert a.data_ptr() != b.data_ptr()


def test_strided_copy_needs_no_runtime_library():
    # linalg.det bufferizes to strided memref copies (fxc-convert-memref-copy-to-linalg).
    x = torch.randn(4, 4)
    compiled = fxc.compile(torch.linalg.det, (x,))
    torch.testing.assert_close(compiled(x), torch.linalg.det(x))


@pytest.mark.parametrize("dtype", [torch.int8, torch.uint8])
def test_8bit_integer_scalar_arithmetic(dtype):
    # torch-mlir crashes on these unless fxc-torch-narrow-int-operands runs.
    def f(x):
        return x * 2, x * 300, x - 3, torch.sub(x, 3, alpha=2), torch.bitwise_and(x, 6), x + 1

    x = torch.tensor([100, 3, 7, -1 if dtype == torch.int8 else 255, 0], dtype=dtype)
    assert_same(fxc.compile(f, (x,))(x), f(x))


@pytest.mark.parametrize("conv,shape", [
    (dict(in_channels=64, out_channels=64, kernel_size=3, padding=1), (1, 64, 56, 56)),  # whole input rows
    (dict(in_channels=8, out_channels=16, kernel_size=3), (2, 8, 12, 10)),
    (dict(in_channels=8, out_channels=16, kernel_size=1), (2, 8, 7, 9)),  # straight into the output
    (dict(in_channels=8, out_channels=16, kernel_size=3, dilation=2, padding=2), (2, 8, 20, 20)),
    (dict(in_channels=8, out_channels=16, kernel_size=(3, 5), padding=(1, 2), bias=False), (1, 8, 9, 30)),
    (dict(in_channels=4, out_channels=8, kernel_size=7), (1, 4, 16, 16)),  # row by row
    (dict(in_channels=8, out_channels=16, kernel_size=3, stride=2), (2, 8, 15, 15)),
])
@pytest.mark.parametrize("freeze", [False, True])
def test_conv2d_decompositions_match_eager(conv, shape, freeze):
    # fxc-decompose-conv-to-matmuls: each way it rewrites a convolution.
    torch.manual_seed(0)
    model = torch.nn.Conv2d(**conv).eval()
    x = torch.randn(shape)
    with torch.no_grad():
        torch.testing.assert_close(fxc.compile(model, (x,), freeze=freeze)(x), model(x), rtol=1e-4, atol=1e-4)


def _rms_norm(x):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)


@pytest.mark.parametrize("name,fn,shape", [
    ("softmax", lambda x: torch.softmax(x, -1), (512, 256)),
    ("softmax_3d", lambda x: torch.softmax(x, -1), (4, 64, 96)),
    ("log_softmax", lambda x: torch.log_softmax(x, -1), (300, 200)),
    ("layer_norm", lambda x: torch.nn.functional.layer_norm(x, (384,)), (2, 100, 384)),
    ("rms_norm", _rms_norm, (256, 512)),
    ("var_mean", lambda x: torch.var_mean(x, -1), (256, 1000)),
    ("softmax_over_rows", lambda x: torch.softmax(x, 0), (256, 300)),
])
@pytest.mark.parametrize("openmp", [False, True])
def test_row_wise_chains_match_eager(name, fn, shape, openmp):
    # fxc-fuse-rows runs these as one loop over the rows (softmax over
    # dimension 0 is not row-wise and keeps its loops).
    from fxc.backends.cpu.backend import CpuBackend

    x = torch.randn(shape)
    compiled = fxc.compile(fn, (x,), options=CpuBackend.Options(openmp=openmp))
    torch.testing.assert_close(compiled(x), fn(x), rtol=1e-5, atol=1e-5)
