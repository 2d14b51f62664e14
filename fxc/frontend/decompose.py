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


#: What fxc decomposes with: torch-mlir's table, plus (for graphs torch.compile
#: hands over under ``no_grad``) the fused inference fast paths of torch.nn
#: modules, which export never records and torch-mlir has no lowering for.
TABLE: Dict = {
    **get_decomposition_table(),
    torch.ops.aten._transformer_encoder_layer_fwd.default: _transformer_encoder_layer_fwd,
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
