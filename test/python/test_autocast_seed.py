"""Autocast behaviour from the seeds (test_autocast.py, test_jit_autocast.py),
ported to fxc on CPU bfloat16: compiled output dtypes and values match eager."""

import pytest
import torch

import fxc

bf16 = torch.bfloat16


def _same(compiled, fn, *args):
    expected = fn(*args)
    actual = compiled(*args)
    for e, a in zip(pytest.importorskip("torch.utils._pytree").tree_leaves(expected),
                    torch.utils._pytree.tree_leaves(actual)):
        assert a.dtype == e.dtype
        torch.testing.assert_close(a.double(), e.double(), atol=2e-2, rtol=2e-2)


def nested(a, b):
    with torch.autocast("cpu", bf16):
        x = torch.mm(a, b)
        with torch.autocast("cpu", enabled=False):
            y = torch.mm(a, b)  # fp32: the inner region turns autocast off
        with torch.autocast("cpu", bf16):
            z = torch.mm(x, y)  # implicitly nested
    return x, y, z


def fp64_inputs(a, b):
    with torch.autocast("cpu", bf16):
        return torch.mm(a.double(), b.double()), torch.cat([a.to(bf16), b])


def explicit_casts(a, b):
    with torch.autocast("cpu", bf16):
        x = torch.mm(a, b).float()
        return x + 1, torch.softmax(x.to(bf16), -1)


def duplicate_inputs(a):
    with torch.autocast("cpu", bf16):
        return torch.mm(a, a), torch.mm(a, a)


def inplace(a, b):
    with torch.autocast("cpu", bf16):
        x = torch.mm(a, b)
        x.add_(1)
        return x


@pytest.mark.parametrize("fn", [nested, fp64_inputs, explicit_casts, duplicate_inputs, inplace])
def test_regions(fn):
    args = [torch.randn(4, 4) for _ in range(fn.__code__.co_argcount)]
    _same(fxc.compile(fn, args), fn, *args)


class ConvBN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3)
        self.bn = torch.nn.BatchNorm2d(8)

    def forward(self, x):
        return self.bn(self.conv(x))


@pytest.mark.parametrize("channels_last", [False, True])
def test_conv_bn_compile_time(channels_last):
    model = ConvBN().eval()
    x = torch.randn(2, 3, 8, 8)
    if channels_last:
        model, x = model.to(memory_format=torch.channels_last), x.to(memory_format=torch.channels_last)
    compiled = fxc.compile(model, (x,), autocast=bf16)
    with torch.autocast("cpu", bf16):
        expected = model(x)
    actual = compiled(x)
    assert actual.dtype == expected.dtype
    torch.testing.assert_close(actual.float(), expected.float(), atol=5e-2, rtol=5e-2)


def test_runtime_autocast_state():
    """A module compiled without autocast, called inside torch.autocast, runs
    a variant compiled for that state (seed test_runtime_autocast_state)."""
    model = torch.nn.Linear(4, 4)
    x = torch.randn(2, 4)
    compiled = fxc.compile(model, (x,))
    assert compiled(x).dtype == torch.float32
    with torch.autocast("cpu", bf16):
        expected = model(x)
        actual = compiled(x)
        again = compiled(x)
    assert actual.dtype == expected.dtype == bf16
    torch.testing.assert_close(actual.float(), expected.float(), atol=2e-2, rtol=2e-2)
    assert len(compiled._variants) == 1 and again.dtype == bf16
    assert compiled(x).dtype == torch.float32


def test_bfloat16_model_imports():
    model = torch.nn.Linear(4, 4).to(bf16)
    x = torch.randn(2, 4, dtype=bf16)
    torch.testing.assert_close(fxc.compile(model, (x,))(x).float(), model(x).float(), atol=2e-2, rtol=2e-2)


def test_api_errors():
    with pytest.raises(fxc.CompileError):
        fxc.compile(torch.nn.Linear(2, 2), (torch.randn(1, 2),), autocast=torch.float64)
    with pytest.raises(RuntimeError):
        torch.autocast(device_type="nonexistent")
    with pytest.raises(ValueError):
        torch.autocast(device_type=1)


def _after_policy(fn, args) -> str:
    """``fn``'s imported IR after ``fxc-apply-autocast``."""
    from torch_mlir import ir

    from fxc import _mlir_compat
    from fxc.compiler.driver import run_passes
    import fxc.transforms  # noqa: F401  (registers the pass)

    module = ir.Module.parse(fxc.export(fn, args).mlir, _mlir_compat.new_context())
    run_passes(module, ["fxc-apply-autocast"])
    return str(module)


class TwoRegions(torch.nn.Module):
    """The weight is used twice in each of two regions."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(4, 3))

    def forward(self, x):
        with torch.autocast("cpu", bf16):
            a = torch.nn.functional.linear(x, self.weight) + torch.nn.functional.linear(x + 1, self.weight)
        with torch.autocast("cpu", bf16):
            b = torch.nn.functional.linear(x, self.weight)
            c = torch.nn.functional.linear(x * 2, self.weight)
        return a, b, c


def test_cast_cache_counts():
    """Seed WeightDTypeCastCounterMode: a weight is cast once per region."""
    import re

    model, x = TwoRegions(), torch.randn(2, 3)
    text = _after_policy(model, (x,))
    weight = re.search(r"func.func @main\(%(arg\d+): !torch.vtensor<\[4,3\],f32>", text).group(1)
    casts = re.findall(r"torch.prims.convert_element_type %(arg\d+),", text)
    assert casts.count(weight) == 2  # one per region, four uses
    _same(fxc.compile(model, (x,)), model, x)


class Frozen(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.x = torch.rand(3, 4)

    def forward(self, y):
        with torch.autocast("cpu", bf16):
            return torch.mm(self.x, y)


def test_freeze_folds_constant_casts():
    """Seed test_jit_freeze_autocast_constants: with freeze=True the cast of
    the constant folds at compile time; one cast is left (the input's)."""
    model, y = Frozen().eval(), torch.rand(4, 5)
    text = fxc.compile(model, (y,), freeze=True, stop_after="fxc").ir("fxc")
    assert text.count("torch.aten.to.dtype") == 1 and "torch.aten.to.dtype %arg0" in text
    assert "tensor<3x4xbf16>" in text
    _same(fxc.compile(model, (y,), freeze=True), model, y)
    whole = torch.nn.Linear(4, 5).eval()
    text = fxc.compile(whole, (y.t(),), freeze=True, autocast=bf16, stop_after="fxc").ir("fxc")
    assert text.count("torch.aten.to.dtype") == 1  # compile-time autocast folds its weights too


@torch.autocast("cpu", dtype=bf16)
def _decorated(a, b):
    return torch.mm(a, b)


def decorator_form(a, b):
    return _decorated(a, b), torch.mm(a, b)


_REUSED = torch.autocast("cpu", dtype=bf16)


def reused_object(a, b):
    with _REUSED:
        x = torch.mm(a, b)
    y = torch.mm(a, b)
    with _REUSED:
        z = torch.mm(a, y)
    return x, y, z


def _callee_off(a, b):
    with torch.autocast("cpu", enabled=False):
        return torch.mm(a, b)


def _callee_on(a, b):
    with torch.autocast("cpu", bf16):
        return torch.mm(a, b)


def callees(a, b):
    with torch.autocast("cpu", bf16):
        x = _callee_off(a, b)  # autocast off inside the callee
        y = torch.mm(a, b)
    return x, y, _callee_on(a, b)  # a callee turns it on


def disabled_fp32(a, b):
    # Seed test_autocast_disabled_with_fp32_dtype: a float32 dtype is fine when disabled.
    with torch.autocast("cpu", dtype=torch.float32, enabled=False):
        return torch.mm(a, b)


@pytest.mark.parametrize("fn", [decorator_form, reused_object, callees, disabled_fp32])
def test_seed_forms(fn):
    args = [torch.randn(4, 4) for _ in range(2)]
    _same(fxc.compile(fn, args), fn, *args)


def _invalid_device(a):
    with torch.autocast(device_type="not a real device"):
        return a + 1


def _non_string_device(a):
    with torch.autocast(device_type=torch.device("cpu")):
        return a + 1


def test_api_errors_through_fxc():
    """The seed's API errors, raised when fxc captures the program."""
    with pytest.raises(RuntimeError, match="Invalid device string: 'not a real device'"):
        fxc.compile(_invalid_device, (torch.randn(2),))
    with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
        fxc.compile(_non_string_device, (torch.randn(2),))



# Bodies of regions; test_policies runs each in a region and under
# compile-time autocast.

# Seed test_fp32_policy / _with_fp64: CPU's fp32 list (``prod``, ``mse_loss``;
# ``log`` is on CUDA's list only) casts bfloat16 to float32, leaves float64.
def fp32_policy(a, b):
    return torch.prod(a.to(bf16), 0), torch.nn.functional.mse_loss(a, b.to(bf16)), torch.log(a.to(bf16))


def fp32_policy_fp64(a, b):
    return torch.prod(a.double(), 0), torch.nn.functional.mse_loss(a.double(), b.double())


# Seed test_promote_policy / _fp64 (addcmul is CUDA's; CPU promotes cat,
# stack and index_copy): float32 if an input is, else bfloat16; float64
# inputs are not cast (eager's index_copy of float64 and bfloat16 raises).
def promote_policy(a, b):
    e = torch.mm(a, b)
    index = torch.tensor([0, 2])
    return (e, torch.stack([e, a]), torch.cat([e, b.to(bf16)]), torch.stack([e, a.double()]),
            torch.index_copy(e, 0, index, b[:2]), torch.index_copy(e, 0, index, e[:2]))


# Seed test_fp32_set_opt_dtype_policy / _fp64: CPU autocast has no
# set_opt_dtype list, softmax keeps its input type or its dtype= argument.
def softmax_dtypes(a, b):
    x = a.to(bf16)
    return (torch.softmax(x, 0), torch.softmax(x, 0, None), torch.softmax(x, 0, torch.float64),
            torch.softmax(a, 0), torch.softmax(b.double(), 0), torch.softmax(b.double(), 0, torch.float32))


# Seed test_autocast_mixed_dtypes (its CUDA half rewritten for CPU): inputs of
# several dtypes into policy ops and into ops autocast leaves alone.
def mixed_dtypes(a, b):
    x = torch.mm(a.to(bf16), b)  # bf16 and f32 -> bf16
    y = torch.mm(a.half(), b)  # f16 and f32 -> bf16
    z = torch.matmul(a.double(), b.double())  # f64 left alone (f32 with f64 fails, as in eager)
    return x, y, z, x + b, y * a.double(), torch.mm(x, b) + z


# Seed test_cat_promote: cat of float32 and bfloat16 inputs is float32.
def cat_promote(a, b):
    return torch.cat([a, b.to(bf16)], 0), torch.cat([b.to(bf16), a.to(bf16)], 0)


def _region(body):
    def program(a, b):
        with torch.autocast("cpu", bf16, cache_enabled=False):
            return body(a, b)
    return program


@pytest.mark.parametrize("how", ["region", "compile_time"])
@pytest.mark.parametrize("body", [fp32_policy, fp32_policy_fp64, promote_policy, softmax_dtypes, mixed_dtypes,
                                  cat_promote])
def test_policies(body, how):
    args = [torch.rand(4, 4) + 0.5 for _ in range(2)]
    program = _region(body)
    compiled = fxc.compile(program, args) if how == "region" else fxc.compile(body, args, autocast=bf16)
    _same(compiled, program, *args)


# Seed test_jit_autocast_softmax_cpu: softmax of a bfloat16 input in a region.
def softmax_bf16_input(a):
    with torch.autocast("cpu", bf16):
        return torch.nn.functional.softmax(a, dim=0)


def test_softmax_bf16_input():
    a = torch.rand(2, 2, dtype=bf16)
    compiled = fxc.compile(softmax_bf16_input, (a,))
    assert compiled(a).dtype == bf16
    _same(compiled, softmax_bf16_input, a)


def nested_inplace(a, b):
    with torch.autocast("cpu", bf16):
        with torch.autocast("cpu", enabled=False):
            y = torch.zeros_like(a).masked_fill_(b > 0.5, 1.0)  # in place, in a region nested in a region
            y.mul_(a)
        with torch.autocast("cpu", bf16):
            z = torch.mm(a, b)
            z.add_(1)
        return torch.mm(a, y), z


def test_nested_inplace():
    args = [torch.rand(4, 4) for _ in range(2)]
    _same(fxc.compile(nested_inplace, args), nested_inplace, *args)


def _nested_input_mutation(a, b):
    with torch.autocast("cpu", bf16):
        y = a * 2
        with torch.autocast("cpu", enabled=False):
            y.add_(1)  # a value from outside the nested region, written in place
        return torch.mm(b, y)


def test_nested_input_mutation_is_located():
    with pytest.raises(fxc.CompileError, match=r"test_autocast_seed.py:\d+: error: an in-place op on a value from outside"):
        fxc.compile(_nested_input_mutation, [torch.rand(4, 4) for _ in range(2)])
