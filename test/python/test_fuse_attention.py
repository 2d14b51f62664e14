"""Attention on the CPU backend, which fxc-fuse-attention runs as one loop
over (batch x head, block of query rows), against eager: sdpa with and
without ``is_causal``, with additive and boolean masks, an explicit scale,
under bf16 / fp16 autocast, rows that see no key (0, as eager's flash kernel gives),
query lengths that are not a multiple of the block (a tail block), causal
blocks that leave out the keys they all mask, one
query row, key lengths that are not a multiple of the vector width,
``nn.MultiheadAttention``; with and without OpenMP threads.  Dynamic sizes
are left to the unfused ops (and still agree with eager).  The fused IR is
checked by test/backends/cpu/fuse-attention.mlir."""

import pytest
import torch
import torch.nn.functional as F
from torch.export import Dim

import fxc
from fxc.backends.cpu.backend import CpuBackend


def _qkv(b, h, lq, s, d=32):
    return torch.randn(b, h, lq, d), torch.randn(b, h, s, d), torch.randn(b, h, s, d)


def _check(fn, inputs, openmp, **kwargs):
    with torch.no_grad():
        expected = fn(*inputs)
        compiled = fxc.compile(fn, inputs, options=CpuBackend.Options(openmp=openmp), **kwargs)
        torch.testing.assert_close(compiled(*inputs), expected, atol=2e-5, rtol=2e-5)


def _sdpa(**kwargs):
    def attention(q, k, v, *mask):
        return F.scaled_dot_product_attention(q, k, v, *mask, **kwargs)
    return attention


CASES = {
    # name: (the function, batch, heads, query length, key length)
    "plain": (_sdpa(), 2, 4, 64, 64),
    "causal": (_sdpa(is_causal=True), 2, 4, 64, 64),
    "tail_block": (_sdpa(), 2, 3, 100, 90),  # 3 blocks of 32 and one of 4
    "tail_causal": (_sdpa(is_causal=True), 1, 2, 37, 37),
    # Causal blocks see a prefix of the keys (top-left aligned when L != S).
    "causal_more_keys": (_sdpa(is_causal=True), 2, 2, 40, 72),
    "causal_fewer_keys": (_sdpa(is_causal=True), 2, 2, 72, 40),
    "causal_long": (_sdpa(is_causal=True), 1, 2, 256, 256),
    "one_query": (_sdpa(), 2, 4, 1, 50),
    "few_queries": (_sdpa(), 3, 2, 5, 17),  # one block of 5
    "scale": (_sdpa(scale=0.3), 2, 2, 48, 40),
}


@pytest.mark.parametrize("openmp", [True, False], ids=["openmp", "serial"])
@pytest.mark.parametrize("case", CASES)
def test_sdpa(case, openmp):
    fn, b, h, lq, s = CASES[case]
    _check(fn, _qkv(b, h, lq, s), openmp)


@pytest.mark.parametrize("openmp", [True, False], ids=["openmp", "serial"])
def test_additive_mask(openmp):
    q, k, v = _qkv(2, 4, 40, 72)
    _check(_sdpa(), (q, k, v, torch.randn(40, 72)), openmp)


@pytest.mark.parametrize("openmp", [True, False], ids=["openmp", "serial"])
def test_boolean_mask(openmp):
    q, k, v = _qkv(2, 4, 40, 72)
    keep = torch.rand(2, 1, 40, 72) > 0.3
    keep[..., 0] = True  # no row without a key
    _check(_sdpa(), (q, k, v, keep), openmp)


@pytest.mark.parametrize("openmp", [True, False], ids=["openmp", "serial"])
def test_fully_masked_rows_give_zero_as_in_eager(openmp):
    # Eager's flash kernel gives a row that sees no key a 0 output and a 0
    # logsumexp (not NaN); so does fxc's decomposition.
    q, k, v = _qkv(2, 4, 40, 72)
    keep = torch.rand(2, 1, 40, 72) > 0.3
    keep[..., 0] = True
    keep[0, :, 3] = False
    keep[1, :, 39] = False
    _check(_sdpa(), (q, k, v, keep), openmp)
    additive = torch.zeros(40, 72).masked_fill(~keep[0, 0], float("-inf"))
    flash = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu

    def with_logsumexp(q, k, v, mask):
        return flash(q, k, v, attn_mask=mask)

    _check(with_logsumexp, (q, k, v, additive), openmp)


@pytest.mark.parametrize("openmp", [True, False], ids=["openmp", "serial"])
def test_multihead_attention(openmp):
    mha = torch.nn.MultiheadAttention(64, 4, batch_first=True).eval()

    def attention(x, pad):
        return mha(x, x, x, key_padding_mask=pad, need_weights=False)[0]

    pad = torch.zeros(2, 48, dtype=torch.bool)
    pad[0, 40:] = True
    _check(attention, (torch.randn(2, 48, 64), pad), openmp)


def test_dynamic_sequence_is_left_unfused():
    q, k, v = _qkv(2, 4, 48, 48)
    seq = Dim("seq", min=2, max=256)
    with torch.no_grad():
        compiled = fxc.compile(_sdpa(), (q, k, v), dynamic_shapes={"q": {2: seq}, "k": {2: seq}, "v": {2: seq}})
        for n in (48, 33, 100):
            q, k, v = _qkv(2, 4, n, n)
            torch.testing.assert_close(compiled(q, k, v), _sdpa()(q, k, v), atol=2e-5, rtol=2e-5)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
def test_autocast(dtype):
    q, k, v = _qkv(2, 4, 40, 72)
    with torch.no_grad():
        compiled = fxc.compile(_sdpa(is_causal=True), (q, k, v), autocast=dtype)
        with torch.autocast("cpu", dtype):
            expected = _sdpa(is_causal=True)(q, k, v)
        actual = compiled(q, k, v)
    assert actual.dtype == expected.dtype
    # The probabilities are rounded to half precision before P V (fxc's
    # decomposition, fused or not; eager's flash kernel keeps them in f32).
    torch.testing.assert_close(actual.float(), expected.float(), atol=5e-2, rtol=5e-2)
