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
    """``nn.TransformerEncoderLayer``'s inference fast path (ATen's
    ``transformer_encoder_layer_forward``), batch-first and unmasked."""
    if mask is not None or src.dim() != 3:
        return NotImplemented
    F = torch.nn.functional
    norm = lambda t, w, b: F.layer_norm(t, (embed_dim,), w, b, eps)
    b, n, _ = src.shape
    x = norm(src, norm_weight_1, norm_bias_1) if norm_first else src
    q, k, v = F.linear(x, qkv_weight, qkv_bias).split(embed_dim, dim=-1)
    heads = lambda t: t.reshape(b, n, num_heads, embed_dim // num_heads).transpose(1, 2)
    attn = F.scaled_dot_product_attention(heads(q), heads(k), heads(v))
    src = src + F.linear(attn.transpose(1, 2).reshape(b, n, embed_dim), proj_weight, proj_bias)
    if not norm_first:
        src = norm(src, norm_weight_1, norm_bias_1)
    x = norm(src, norm_weight_2, norm_bias_2) if norm_first else src
    hidden = F.linear(x, ffn_weight_1, ffn_bias_1)
    out = src + F.linear(F.gelu(hidden) if use_gelu else F.relu(hidden), ffn_weight_2, ffn_bias_2)
    return out if norm_first else norm(out, norm_weight_2, norm_bias_2)


def _sdpa_flash_for_cpu(query, key, value, dropout_p=0.0, is_causal=False, *, attn_mask=None, scale=None):
    """``aten._scaled_dot_product_flash_attention_for_cpu`` returning what the
    op returns: ``(output, logsumexp)``.  PyTorch's own decomposition returns
    the attention weights ``[N, H, L, S]`` where the logsumexp ``[N, H, L]``
    belongs, which is harmless in inference and corrupts training graphs
    (the backward reads the logsumexp)."""
    if dropout_p != 0.0:
        return NotImplemented
    if query.size(1) != key.size(1):  # grouped-query attention
        rep = query.size(1) // key.size(1)
        key, value = key.repeat_interleave(rep, 1), value.repeat_interleave(rep, 1)
    scores = _scores(query, key, is_causal, attn_mask, scale)
    lse = scores.float().logsumexp(-1)
    out = (scores - lse.unsqueeze(-1).to(scores.dtype)).exp() @ value
    # The flash kernel's layout (see PyTorch's decomposition of this op).
    out = out.permute(2, 0, 1, 3).contiguous(memory_format=torch.contiguous_format).permute(1, 2, 0, 3)
    return out, lse


def _scores(query, key, is_causal, attn_mask, scale):
    scale = scale if scale is not None else 1.0 / (query.size(-1) ** 0.5)
    scores = (query @ key.transpose(-2, -1)) * scale
    if is_causal:
        keep = torch.ones(query.size(-2), key.size(-2), dtype=torch.bool, device=query.device).tril()
        scores = scores.masked_fill(~keep, float("-inf"))
    if attn_mask is not None:
        scores = scores.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == torch.bool else scores + attn_mask
    return scores


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


def _addbmm(self, batch1, batch2, *, beta=1, alpha=1):
    out = torch.bmm(batch1, batch2).sum(0)
    return out * alpha + (self * beta if beta != 1 else self) if beta != 0 else out * alpha


def _conv_tbc(self, weight, bias, pad=0):
    """``[time, batch, channels]`` convolution with a ``[k, in, out]`` weight."""
    out = torch.conv1d(self.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad)
    return out.permute(2, 0, 1)



#: What fxc decomposes with: torch-mlir's table, plus (for graphs torch.compile
#: hands over under ``no_grad``) the fused inference fast paths of torch.nn
#: modules, which export never records and torch-mlir has no lowering for.
TABLE: Dict = {
    **get_decomposition_table(),
    torch.ops.aten._transformer_encoder_layer_fwd.default: _transformer_encoder_layer_fwd,
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu.default: _sdpa_flash_for_cpu,
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward.default: _sdpa_flash_for_cpu_backward,
    # Ops autocast keeps whole (fxc.frontend.autocast.DECOMPOSED) that
    # torch-mlir's table leaves to torch-mlir, which lowers none of them.
    torch.ops.aten._addmm_activation.default: _decomp_table[torch.ops.aten._addmm_activation.default],
    torch.ops.aten.addbmm.default: _addbmm,
    torch.ops.aten.conv_tbc.default: _conv_tbc,
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
            _decompose_node(new, node)
    new.graph.eliminate_dead_code()
    new.recompile()
    return new


def _decomposable(node: torch.fx.Node) -> bool:
    return node.op == "call_function" and node.target in TABLE and "val" in node.meta


def _decompose_node(gm: torch.fx.GraphModule, node: torch.fx.Node) -> None:
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
