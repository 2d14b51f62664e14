"""Attention's fused inference ops through fxc, against eager: ATen's
``_native_multi_head_attention`` (fxc's decomposition) in float32 and under
bfloat16 autocast, and ``nn.MultiheadAttention`` /
``nn.TransformerEncoderLayer`` in eval mode under ``no_grad``, which eager
runs through those fused ops."""

import contextlib

import pytest
import torch

import fxc

bf16 = torch.bfloat16
B, L, D, H = 2, 5, 16, 4
MHA = torch.ops.aten._native_multi_head_attention.default


def _masks():
    torch.manual_seed(1)
    square = torch.zeros(L, L, dtype=torch.bool)
    square[1, 2:] = True
    padding = torch.zeros(B, L, dtype=torch.bool)
    padding[0, 3:] = True
    full = torch.rand(B, H, L, L) > 0.7
    full[..., 0] = False
    return {"none": (None, None), "attn": (square, 0), "padding": (padding, 1), "full": (full, 2)}


MASKS = _masks()


def _weights():
    torch.manual_seed(0)
    return (torch.randn(3 * D, D) * 0.2, torch.randn(3 * D), torch.randn(D, D) * 0.2, torch.randn(D))


def _close(actual, expected, tol):
    assert actual.dtype == expected.dtype
    torch.testing.assert_close(actual.double(), expected.double(), atol=tol, rtol=tol)


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("mask", list(MASKS))
@pytest.mark.parametrize("autocast", ["fp32", "region", "compile_time"])
def test_native_multi_head_attention(autocast, mask, need_weights):
    mask, mask_type = MASKS[mask]
    x, kv = torch.randn(B, L, D), torch.randn(B, L, D)
    tensors = (x, kv, *_weights()) + ((mask,) if mask is not None else ())

    def call(x, kv, w, b, pw, pb, *m):
        return MHA(x, kv, kv, D, H, w, b, pw, pb, m[0] if m else None, need_weights, True, mask_type)

    def region(*ts):
        with torch.autocast("cpu", bf16):
            return call(*ts)

    if autocast == "fp32":
        compiled, expected, tol = fxc.compile(call, tensors), call(*tensors), 1e-5
    else:
        compiled = fxc.compile(region, tensors) if autocast == "region" else fxc.compile(call, tensors, autocast=bf16)
        expected, tol = region(*tensors), 3e-2
    actual = compiled(*tensors)
    _close(actual[0], expected[0], tol)
    if need_weights:
        _close(actual[1], expected[1], tol)
    else:
        assert expected[1] is None and actual[1].numel() == 0


class Attention(torch.nn.Module):
    """Self-attention through ``nn.MultiheadAttention`` or
    ``nn.TransformerEncoderLayer``; ``region``: inside ``torch.autocast``."""

    def __init__(self, kind, mask, need_weights=True, region=False):
        super().__init__()
        torch.manual_seed(0)
        self.kind, self.mask, self.need_weights, self.region = kind, mask, need_weights, region
        if kind == "mha":
            self.block = torch.nn.MultiheadAttention(D, H, batch_first=True)
        else:
            self.block = torch.nn.TransformerEncoderLayer(D, H, 2 * D, dropout=0.0, batch_first=True, norm_first=kind == "pre-norm")

    def forward(self, x, *mask):
        mha = self.kind == "mha"
        masks = {_MASK_KEYWORD[mha, self.mask]: mask[0]} if mask else {}
        with torch.autocast("cpu", bf16) if self.region else contextlib.nullcontext():
            return self.block(x, x, x, need_weights=self.need_weights, **masks) if mha else self.block(x, **masks)


#: (is MultiheadAttention, mask) -> the forward keyword that takes the mask.
_MASK_KEYWORD = {(True, "padding"): "key_padding_mask", (True, "attn"): "attn_mask",
                 (False, "padding"): "src_key_padding_mask", (False, "attn"): "src_mask"}


def _module_args(mask):
    x = torch.randn(B, L, D)
    if mask == "padding":
        return x, MASKS["padding"][0]
    return (x, MASKS["attn"][0]) if mask == "attn" else (x,)


@pytest.mark.parametrize("mode", ["fp32", "compile_time", "region"])
@pytest.mark.parametrize("mask", ["none", "padding", "attn"])
@pytest.mark.parametrize("kind", ["mha", "mha-no-weights", "post-norm", "pre-norm"])
def test_fast_path_modules(kind, mask, mode):
    """Eval mode under no_grad: eager runs the fused ops, and under autocast
    their kernels' ops get the policy (a TransformerEncoderLayer returns
    bfloat16); fxc captures what eager runs."""
    model = Attention(kind.removesuffix("-no-weights"), mask, kind != "mha-no-weights", mode == "region").eval()
    args = _module_args(mask)
    with torch.no_grad():
        with torch.autocast("cpu", bf16, enabled=mode == "compile_time"):
            expected = model(*args)
        compiled = fxc.compile(model, args, autocast=bf16 if mode == "compile_time" else None)
        actual = compiled(*args)
    expected, actual = (expected, actual) if isinstance(expected, tuple) else ((expected,), (actual,))
    tol = 1e-5 if mode == "fp32" else 3e-2
    for e, a in zip(expected, actual):
        if e is None:
            assert a.numel() == 0
        else:
            _close(a, e, tol)
    if kind == "post-norm" and mode != "fp32":
        assert actual[0].dtype == bf16  # eager's fused path, not its Python path (float32)
