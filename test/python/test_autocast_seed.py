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
