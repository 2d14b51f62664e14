"""The decompositions fxc applies before import: torch-mlir's own table.

``torch_mlir.fx.export_and_import`` decomposes with
``torch_mlir.extras.fx_decomp_util.get_decomposition_table()``: PyTorch's
core-ATen table less the decompositions into ops torch-mlir cannot lower
(``aten.eye`` into a ``uint8`` arange its convert-torch-to-linalg crashes
on, the FFTs into ``_fft_r2c``...), plus the ops it has no lowering for
(``squeeze.dims``, the batch norms, ``_scaled_dot_product_flash_attention_for_cpu``...).
fxc uses the same table on both routes into the importer:

* ``torch.export`` programs: ``ExportedProgram.run_decompositions(TABLE)``;
* ATen graphs handed over as they are (``torch.compile``'s aot_autograd
  graphs, which it does not decompose): :func:`decompose_graph` replaces
  each node the table has an entry for by its decomposition, traced on the
  node's fake values, and gives the new nodes the node's stack trace (so
  errors still point at the user's line).
"""

from __future__ import annotations

import operator
from typing import Dict

import torch
from torch._decomp import decomposition_table as _decomp_table
from torch._guards import detect_fake_mode
from torch.fx.experimental.proxy_tensor import make_fx
from torch_mlir.extras.fx_decomp_util import get_decomposition_table

def _transformer_encoder_layer_fwd(
    src, embed_dim, num_heads, qkv_weight, qkv_bias, proj_weight, proj_bias, use_gelu, norm_first, eps,
    norm_weight_1, norm_bias_1, norm_weight_2, norm_bias_2, ffn_weight_1, ffn_bias_1, ffn_weight_2, ffn_bias_2,
    mask=None, mask_type=None,
):
    """``nn.TransformerEncoderLayer``'s inference fast path, op for op as
    ATen's ``transformer_encoder_layer_forward`` calls them (so that, traced
    under autocast, each gets eager's policy): the attention is
    ``_native_multi_head_attention``, the feed-forward two ``addmm``s, and
    the residual adds keep the dtype of their left side (ATen adds in place)."""
    if src.dim() != 3:
        return NotImplemented
    aten = torch.ops.aten
    norm = lambda t, w, b: aten.layer_norm(t, (embed_dim,), w, b, eps)
    x = norm(src, norm_weight_1, norm_bias_1) if norm_first else src
    x = aten._native_multi_head_attention(x, x, x, embed_dim, num_heads, qkv_weight, qkv_bias, proj_weight,
                                          proj_bias, mask, False, True, mask_type)[0]
    x = (x + src).to(x.dtype)
    if not norm_first:
        x = norm(x, norm_weight_1, norm_bias_1)
    residual = x
    if norm_first:
        x = norm(x, norm_weight_2, norm_bias_2)
    gemm = aten.linear  # ATen's kernel calls addmm on 2-D views: the same numbers
    hidden = gemm(x, ffn_weight_1, ffn_bias_1)
    x = gemm(aten.gelu(hidden) if use_gelu else aten.relu(hidden), ffn_weight_2, ffn_bias_2)
    x = (x + residual).to(x.dtype)
    return x if norm_first else norm(x, norm_weight_2, norm_bias_2)


def _native_multi_head_attention(
    query, key, value, embed_dim, num_head, qkv_weight, qkv_bias, proj_weight, proj_bias,
    mask=None, need_weights=True, average_attn_weights=True, mask_type=None,
):
    """``nn.MultiheadAttention``'s inference fast path (ATen's
    ``native_multi_head_attention_cpu``): ``(output, weights)``.

    Queries, keys and values are projected by the thirds of ``qkv_weight``
    (the ATen kernel projects ``query`` once when all three are one tensor:
    the same numbers), biased, the queries scaled by ``1/sqrt(head_dim)``.
    ``mask`` is boolean, True where a score is dropped (a float mask is read
    as ``mask != 0``, as the kernel reads it); ``mask_type`` 0 is an
    ``[L, S]`` attention mask, 1 a ``[B, S]`` key padding mask, 2 or None a
    mask broadcast to ``[B, heads, L, S]``.  A row masked whole gives NaN,
    as the kernel's softmax does.  The weights are ``[B, heads, L, S]``,
    averaged over the heads with ``average_attn_weights``; without
    ``need_weights`` the second result is empty (``None`` in eager)."""
    F = torch.nn.functional
    head_dim = embed_dim // num_head
    heads = lambda t: t.reshape(t.size(0), t.size(1), num_head, head_dim).transpose(1, 2)
    if query is key and key is value:  # self-attention: one projection, as ATen does
        q, k, v = F.linear(query, qkv_weight, qkv_bias).chunk(3, -1)
    else:
        (wq, wk, wv), (bq, bk, bv) = qkv_weight.chunk(3), qkv_bias.chunk(3)
        q, k, v = F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)
    q, k, v = heads(q * (1.0 / head_dim ** 0.5)), heads(k), heads(v)
    scores = torch.matmul(q, k.transpose(-2, -1))
    if mask is not None:
        mask = mask if mask.dtype == torch.bool else mask != 0
        if mask_type == 0:
            mask = mask.reshape(1, 1, mask.size(-2), mask.size(-1))
        elif mask_type == 1:
            mask = mask.reshape(mask.size(0), 1, 1, mask.size(-1))
        scores = scores.masked_fill(mask, float("-inf"))
    weights = scores.softmax(-1)
    context = torch.matmul(weights, v).transpose(1, 2).reshape(query.size(0), query.size(1), embed_dim)
    out = F.linear(context, proj_weight, proj_bias)
    if not need_weights:
        return out, query.new_empty((0,))
    return out, (weights.sum(1) / num_head if average_attn_weights else weights)


def _sdpa_flash_for_cpu(query, key, value, dropout_p=0.0, is_causal=False, *, attn_mask=None, scale=None):
    """``aten._scaled_dot_product_flash_attention_for_cpu`` returning what the
    op returns: ``(output, logsumexp)``.  PyTorch's own decomposition returns
    the attention weights ``[N, H, L, S]`` where the logsumexp ``[N, H, L]``
    belongs, which is harmless in inference and corrupts training graphs
    (the backward reads the logsumexp).

    The math is the flash kernel's: the row maximum ``m``, ``e = exp(s - m)``
    and its row sum ``l`` once each, the output ``(e @ V) / l`` (normalized on
    ``[L, E]``, not on the ``[L, S]`` probabilities) and the logsumexp
    ``m + log(l)``.  A row whose scores are all masked (``m = -inf``) gives
    the kernel's 0 output and 0 logsumexp, not NaN."""
    if dropout_p != 0.0:
        return NotImplemented
    if query.size(1) != key.size(1):  # grouped-query attention
        rep = query.size(1) // key.size(1)
        key, value = key.repeat_interleave(rep, 1), value.repeat_interleave(rep, 1)
    scores = _scores(query, key, is_causal, attn_mask, scale)
    row_max = scores.amax(-1, keepdim=True)
    # Where a row sees no key (its maximum is -inf) the kernel subtracts 0:
    # every e is exp(-inf) = 0.  A clamp is that, in one op (fused into each
    # element's exp, a compare and select would cost more).
    e = (scores - row_max.clamp_min(torch.finfo(scores.dtype).min)).exp()
    # At least 1 where a row sees a key (its maximum contributes exp(0)); a
    # row that sees none divides its 0 by 1.
    row_sum = e.sum(-1, keepdim=True, dtype=torch.float32).clamp_min(1.0)
    out = ((e @ value) / row_sum).to(query.dtype)
    lse = (torch.where(row_max == float("-inf"), 0.0, row_max).float() + row_sum.log()).squeeze(-1)
    # The flash kernel's layout (see PyTorch's decomposition of this op).
    out = out.permute(2, 0, 1, 3).contiguous(memory_format=torch.contiguous_format).permute(1, 2, 0, 3)
    return out, lse


def _scores(query, key, is_causal, attn_mask, scale):
    scale = scale if scale is not None else 1.0 / (query.size(-1) ** 0.5)
    if query.dtype in (torch.float32, torch.float64):
        # Scaled on the [L, E] queries rather than the [L, S] scores (a
        # pass over the scores less; the same numbers up to rounding).
        # Half-precision queries are not: the scaled copy would be rounded.
        scores = (query * scale) @ key.transpose(-2, -1)
    else:
        scores = (query @ key.transpose(-2, -1)) * scale
    if is_causal:
        keep = torch.ones(query.size(-2), key.size(-2), dtype=torch.bool, device=query.device).tril()
        scores = scores + _bias(~keep, scores)
    if attn_mask is not None:
        scores = scores + (_bias(~attn_mask, scores) if attn_mask.dtype == torch.bool else attn_mask)
    return scores


def _bias(masked, scores):
    """An additive mask: -inf where ``masked``, 0 elsewhere (PyTorch's
    reference math for sdpa).  The scores' ops then read floats, which
    vectorize, rather than booleans (built once, outside the rows' loop)."""
    zeros = torch.zeros(masked.shape, dtype=scores.dtype, device=scores.device)
    return zeros.masked_fill(masked, float("-inf"))


def _sdpa_flash_for_cpu_backward(grad_out, query, key, value, out, logsumexp, dropout_p, is_causal, *,
                                 attn_mask=None, scale=None):
    """The gradients of :func:`_sdpa_flash_for_cpu` from its saved logsumexp
    (the math the flash kernel's backward computes)."""
    if dropout_p != 0.0:
        return NotImplemented
    heads, kv_heads = query.size(1), key.size(1)
    rep = heads // kv_heads
    k, v = (key.repeat_interleave(rep, 1), value.repeat_interleave(rep, 1)) if rep > 1 else (key, value)
    scale_ = scale if scale is not None else 1.0 / (query.size(-1) ** 0.5)
    p = (_scores(query, k, is_causal, attn_mask, scale) - logsumexp.unsqueeze(-1).to(query.dtype)).exp()
    grad_v = p.transpose(-2, -1) @ grad_out
    dp = grad_out @ v.transpose(-2, -1)
    ds = p * (dp - (grad_out * out).sum(-1, keepdim=True))
    grad_q = (ds @ k) * scale_
    grad_k = (ds.transpose(-2, -1) @ query) * scale_
    if rep > 1:  # each shared key/value head gets the sum over its query heads
        n, _, s_len, e = grad_k.shape
        grad_k = grad_k.view(n, kv_heads, rep, s_len, e).sum(2)
        grad_v = grad_v.view(n, kv_heads, rep, s_len, grad_v.size(-1)).sum(2)
    return grad_q, grad_k, grad_v


def _native_layer_norm(input, normalized_shape, weight, bias, eps):
    """``aten.native_layer_norm`` as eager's CPU kernel computes it: the mean
    and the variance of each row in the computation dtype (float for float,
    half and bfloat16 inputs), two passes over a row.  PyTorch's own
    decomposition goes through ``var_mean``, whose variance torch-mlir
    computes in float64 (an f64 copy of the input, read twice, beside an
    f32 mean of its own): four passes, half of them at half the vector
    width, where eager makes two."""
    dims = list(range(input.dim() - len(normalized_shape), input.dim()))
    x = input.float() if input.dtype in (torch.float16, torch.bfloat16) else input
    mean = x.mean(dims, keepdim=True)
    centered = x - mean
    rstd = torch.rsqrt((centered * centered).mean(dims, keepdim=True) + eps)
    out = centered * rstd
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out.to(input.dtype), mean.to(input.dtype), rstd.to(input.dtype)


def _reciprocal(self):
    """``1 / x`` as a division: torch-mlir lowers ``aten.reciprocal`` with a
    check that fails on a zero element, where eager gives inf (and a
    check in a linalg body keeps it from vectorizing: BatchNorm's
    ``1 / sqrt(var + eps)``, fused into the normalization, took scalar loops
    over the whole tensor)."""
    dtype = self.dtype if self.dtype.is_floating_point or self.dtype.is_complex else torch.get_default_dtype()
    return torch.ops.aten.div.Tensor(torch.ones_like(self, dtype=dtype), self)


def _addbmm(self, batch1, batch2, *, beta=1, alpha=1):
    out = torch.bmm(batch1, batch2).sum(0)
    return out * alpha + (self * beta if beta != 1 else self) if beta != 0 else out * alpha


def _conv_tbc(self, weight, bias, pad=0):
    """``[time, batch, channels]`` convolution with a ``[k, in, out]`` weight."""
    out = torch.conv1d(self.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad)
    return out.permute(2, 0, 1)


def _sort_stable(self, *, stable=None, dim=-1, descending=False):
    """``aten.sort.stable`` as ``aten.sort``: torch-mlir lowers only the
    latter, to ``tm_tensor.sort``, whose loop swaps strictly out-of-order
    elements only, so equal elements keep their order (stable either way)."""
    return torch.ops.aten.sort.default(self, dim, descending)


def _index_bool_mask(self, indices):
    """``x[mask]`` (``aten.index.Tensor`` with a bool index) as ``x[idx]`` with
    ``idx = mask.flatten().nonzero()`` on ``x`` with the mask's dimensions
    flattened: torch-mlir lowers a bool index to invalid IR (and no index by
    several tensors of data-dependent size), and nonzero's data-dependent
    size is compiled."""
    if not any(i is not None and i.dtype == torch.bool for i in indices):
        return NotImplemented
    expanded, dim = [], 0
    for i in indices:
        if i is not None and i.dtype == torch.bool:
            if i.dim() != 1:
                self = self.flatten(dim, dim + i.dim() - 1)
                i = i.flatten()
            i = torch.ops.aten.nonzero.default(i).squeeze(1)
        expanded.append(i)
        dim += 1
    return torch.ops.aten.index.Tensor(self, expanded)


def _split_with_sizes(self, split_sizes, dim=0):
    """``aten.split_with_sizes`` with data-dependent sizes as slices: torch-mlir
    decomposes it only for constant sizes (and leaves the rest unlowered)."""
    if all(isinstance(s, int) for s in split_sizes):
        return NotImplemented
    parts, start = [], 0
    for size in split_sizes:
        parts.append(torch.ops.aten.slice.Tensor(self, dim, start, start + size))
        start = start + size
    return parts


#: What fxc decomposes with: torch-mlir's table, plus (for graphs torch.compile
#: hands over under ``no_grad``) the fused inference fast paths of torch.nn
#: modules, which export never records and torch-mlir has no lowering for.
TABLE: Dict = {
    **get_decomposition_table(),
    torch.ops.aten._transformer_encoder_layer_fwd.default: _transformer_encoder_layer_fwd,
    torch.ops.aten._native_multi_head_attention.default: _native_multi_head_attention,
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu.default: _sdpa_flash_for_cpu,
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward.default: _sdpa_flash_for_cpu_backward,
    # Ops autocast keeps whole (fxc.frontend.autocast.decomposed()) that
    # torch-mlir's table leaves to torch-mlir, which lowers none of them.
    torch.ops.aten._addmm_activation.default: _decomp_table[torch.ops.aten._addmm_activation.default],
    torch.ops.aten.addbmm.default: _addbmm,
    torch.ops.aten.reciprocal.default: _reciprocal,
    torch.ops.aten.native_layer_norm.default: _native_layer_norm,
    torch.ops.aten.conv_tbc.default: _conv_tbc,
    torch.ops.aten.sort.stable: _sort_stable,
    torch.ops.aten.index.Tensor: _index_bool_mask,
    torch.ops.aten.split_with_sizes.default: _split_with_sizes,
}

_KEPT_META = ("stack_trace", "nn_module_stack", "source_fn_stack")


def decompose_graph(gm: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """A copy of ``gm`` whose ops in :data:`TABLE` are decomposed (``gm`` is
    returned as it is when none is)."""
    if not any(_decomposable(n) for n in gm.graph.nodes):
        return gm
    graph = torch.fx.Graph()
    graph.output(graph.graph_copy(gm.graph, {}))
    new = torch.fx.GraphModule(gm, graph)
    for node in list(new.graph.nodes):
        if _decomposable(node):
            decompose_node(new, node)
    new.graph.eliminate_dead_code()
    new.recompile()
    return new


def _decomposable(node: torch.fx.Node) -> bool:
    return node.op == "call_function" and node.target in TABLE and "val" in node.meta


def decompose_node(gm: torch.fx.GraphModule, node: torch.fx.Node) -> None:
    """Replaces ``node`` in ``gm`` by its decomposition (:data:`TABLE`)."""
    flat, spec = torch.utils._pytree.tree_flatten((node.args, node.kwargs))
    positions = [i for i, a in enumerate(flat) if isinstance(a, torch.fx.Node)]
    vals = [flat[i].meta["val"] for i in positions]

    def run(*values):
        leaves = list(flat)
        for i, v in zip(positions, values):
            leaves[i] = v
        args, kwargs = torch.utils._pytree.tree_unflatten(leaves, spec)
        return node.target(*args, **kwargs)

    fake_mode = detect_fake_mode(vals)
    with torch._subclasses.fake_tensor.unset_fake_temporarily():
        if fake_mode is not None:
            with fake_mode:
                sub = make_fx(run, decomposition_table=TABLE)(*vals)
        else:
            sub = make_fx(run, decomposition_table=TABLE, tracing_mode="fake")(*vals)
    placeholders = [n for n in sub.graph.nodes if n.op == "placeholder"]
    env = {p: flat[i] for p, i in zip(placeholders, positions)}
    before = set(gm.graph.nodes)
    with gm.graph.inserting_before(node):
        for n in sub.graph.nodes:
            if n.op == "get_attr":  # a constant the decomposition made
                name = f"_fxc_decomposed_{len(before)}_{n.target}"
                setattr(gm, name, getattr(sub, n.target))
                env[n] = gm.graph.get_attr(name)
                env[n].meta = dict(n.meta)
        result = gm.graph.graph_copy(sub.graph, env)
    for new in set(gm.graph.nodes) - before:
        for key in _KEPT_META:
            if key in node.meta:
                new.meta[key] = node.meta[key]
    _replace_uses(node, result)
    gm.graph.erase_node(node)


def _replace_uses(node: torch.fx.Node, result) -> None:
    if isinstance(result, torch.fx.Node) or not isinstance(result, (tuple, list)):
        node.replace_all_uses_with(result)
        return
    for user in list(node.users):
        if user.target is operator.getitem:
            user.replace_all_uses_with(result[user.args[1]])
            user.graph.erase_node(user)
        else:
            raise NotImplementedError(f"{node.target} has a multi-result use {user}")
