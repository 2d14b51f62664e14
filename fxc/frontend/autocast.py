"""Autocast regions through capture: kept as regions, not inlined casts.

Non-strict ``torch.export`` records ``with torch.autocast(...)`` as
``wrap_with_autocast(device, dtype, enabled, cache_enabled, submod, *args)``,
nested regions nested.  ``run_decompositions`` calls that operator, which
runs its body *under* autocast and leaves only the casts autocast inserted.
To keep the regions, before decomposing :func:`keep_regions`

* turns each one into ``invoke_subgraph(submod, identifier, *args)``, which
  decomposition keeps as a call of a decomposed, functionalized subgraph;
  ``identifier`` spells the region's state (:func:`region_state` reads it);
* keeps the ops autocast has a policy for (``fxc.dialects.autocast_policy``)
  out of the decomposition table (:func:`decomposition_table`), so that the
  policy pass sees ``aten.linear``, not the ``aten.addmm`` it would become --
  except the policy ops torch-mlir cannot lower whole (:data:`DECOMPOSED`):
  in an enabled region :func:`_decompose_in_region` applies the policy to
  them itself, as eager's autocast kernel does (casts their floating inputs,
  then runs the op with autocast off), so they become a region with
  ``enabled=False`` around the op, which decomposition then expands;
* records after each such op the dtype eager gives its result (a
  ``prims.convert_element_type`` to the dtype export traced under autocast):
  the body is re-traced without autocast, and the rest of the program must
  still see eager's dtypes.  After decomposition :func:`finish_regions`
  removes the records that turned out to be no-ops.

The importer makes each region an ``fxc.autocast`` op calling a private
function, and ``fxc-apply-autocast`` applies the policy.
"""

from __future__ import annotations

import functools
import operator
from typing import Dict, Optional, Tuple

import torch
import torch.utils._pytree as pytree
from torch._guards import detect_fake_mode
from torch.fx.experimental.proxy_tensor import make_fx
from torch._higher_order_ops.invoke_subgraph import invoke_subgraph

from fxc.errors import CompileError
from fxc.dialects.autocast_policy import Policy, op_overloads, policy_of
from fxc.frontend.decompose import TABLE

WRAP = torch.ops.higher_order.wrap_with_autocast
_CAST = torch.ops.prims.convert_element_type.default
#: Prefix of the invoke_subgraph identifiers that stand for autocast regions.
PREFIX = "fxc_autocast"
#: node.meta key on the casts that record an op's eager result dtype.
RESULT_META = "fxc_autocast_result"


def identifier(device: str, dtype: Optional[torch.dtype], enabled: bool, cache_enabled, index: int) -> str:
    dt = "none" if dtype is None else str(dtype).replace("torch.", "")
    return f"{PREFIX}:{device}:{dt}:{int(bool(enabled))}:{int(bool(cache_enabled))}:{index}"


def region_state(ident: str) -> Optional[Tuple[str, Optional[torch.dtype], bool, bool]]:
    """``(device, dtype, enabled, cache_enabled)`` from an identifier, or None."""
    if not isinstance(ident, str) or not ident.startswith(PREFIX + ":"):
        return None
    _, device, dt, enabled, cache, _ = ident.split(":")
    dtype = None if dt == "none" else getattr(torch, dt)
    return device, dtype, enabled == "1", cache == "1"


def has_regions(gm: torch.fx.GraphModule) -> bool:
    return any(n.op == "call_function" and n.target is WRAP for n in gm.graph.nodes)


def _aten(name: str):
    return getattr(torch.ops.aten, name).default


#: The policy ops torch-mlir has no lowering for when kept whole (their
#: decompositions are in fxc's table).  In an enabled region they are cast
#: at capture and decomposed there (``run_decompositions`` does not expand
#: ops in a region nested in a region), never seen whole by the policy pass.
#: (``_native_multi_head_attention`` is not: it has no decomposition, and
#: stays a CompileError at the user's line.)
DECOMPOSED = frozenset(_aten(n) for n in (
    "_addmm_activation", "addbmm", "conv_tbc",
    "binary_cross_entropy", "nll_loss", "nll_loss2d", "smooth_l1_loss", "soft_margin_loss", "multi_margin_loss",
    "multilabel_margin_loss", "huber_loss", "cosine_embedding_loss", "hinge_embedding_loss", "margin_ranking_loss",
    "triplet_margin_loss",
))


def decomposition_table(table: Dict) -> Dict:
    """``table`` without the ops autocast has a policy for, except those of
    :data:`DECOMPOSED`."""
    keep = set(op_overloads()) - DECOMPOSED
    return {k: v for k, v in table.items() if k not in keep}


def keep_regions(gm: torch.fx.GraphModule, counter=None) -> None:
    """Rewrites ``gm``'s autocast regions (recursively) as described above."""
    counter = counter if counter is not None else [0]
    policy_ops = set(op_overloads())
    for node in list(gm.graph.nodes):
        if node.op != "call_function" or node.target is not WRAP:
            continue
        device, dtype, enabled, cache_enabled, sub, *args = node.args
        _check_state(node, device, dtype, enabled)
        body = getattr(gm, sub.target)
        keep_regions(body, counter)
        if enabled:
            for op_node in [n for n in body.graph.nodes if n.op == "call_function" and n.target in DECOMPOSED]:
                _decompose_in_region(body, op_node, (device, dtype, cache_enabled), counter)
        _record_result_dtypes(body, policy_ops)
        node.target = invoke_subgraph
        node.args = (sub, identifier(device, dtype, enabled, cache_enabled, counter[0]), *args)
        counter[0] += 1
    gm.recompile()


def _decompose_in_region(gm: torch.fx.GraphModule, node: torch.fx.Node, state, counter) -> None:
    """Casts ``node``'s floating tensor inputs as the policy says (float64
    excepted) and moves the op into a region with ``enabled=False``."""
    device, dtype, cache_enabled = state
    val = node.meta.get("val")
    if not isinstance(val, torch.Tensor):
        return  # a multi-result op: kept whole
    target = dtype if policy_of(str(node.target).removesuffix(".default")) is Policy.LOWER else torch.float32
    flat, spec = pytree.tree_flatten((node.args, node.kwargs))
    inputs, positions, vals = [], [], []
    for i, a in enumerate(flat):
        if not isinstance(a, torch.fx.Node):
            continue
        a_val = a.meta.get("val")
        if (isinstance(a_val, torch.Tensor) and a_val.dtype.is_floating_point and a_val.dtype not in (target, torch.float64)):
            with gm.graph.inserting_before(node):
                cast = gm.graph.call_function(_CAST, (a, target))
            cast.meta.update(val=a_val.to(target), stack_trace=node.meta.get("stack_trace"))
            a, a_val = cast, cast.meta["val"]
        inputs.append(a)
        positions.append(i)
        vals.append(a_val)

    def run(*values):
        leaves = list(flat)
        for i, v in zip(positions, values):
            leaves[i] = v
        args, kwargs = pytree.tree_unflatten(leaves, spec)
        return (node.target(*args, **kwargs),)

    # The op's decomposition; functionalized if it mutates (some do).
    with torch._subclasses.fake_tensor.unset_fake_temporarily(), detect_fake_mode(vals):
        body = make_fx(run, decomposition_table=_explicit_table())(*vals)
        _squeeze_prims_to_aten(body)
        if any(isinstance(n.target, torch._ops.OpOverload) and n.target._schema.is_mutable for n in body.graph.nodes):
            body = make_fx(torch.func.functionalize(body, remove="mutations"))(*vals)
    for n in body.graph.nodes:
        for key in ("stack_trace", "nn_module_stack"):
            if key in node.meta:
                n.meta[key] = node.meta[key]
    name = f"fxc_autocast_off_{counter[0]}"
    gm.add_submodule(name, body)
    with gm.graph.inserting_before(node):
        sub = gm.graph.get_attr(name)
        call = gm.graph.call_function(invoke_subgraph, (sub, identifier(device, dtype, False, cache_enabled, counter[0]), *inputs))
        item = gm.graph.call_function(operator.getitem, (call, 0))
    counter[0] += 1
    call.meta.update(val=(val,), stack_trace=node.meta.get("stack_trace"))
    item.meta.update(node.meta)
    node.replace_all_uses_with(item)
    gm.graph.erase_node(node)


def _squeeze_prims_to_aten(body: torch.fx.GraphModule) -> None:
    """``prims.squeeze`` (a view prim functionalization rejects) as
    ``aten.squeeze.dim``s, one per dimension, highest first."""
    for n in list(body.graph.nodes):
        if n.target is not torch.ops.prims.squeeze.default:
            continue
        x, dims = n.args
        with body.graph.inserting_before(n):
            for d in sorted(dims, reverse=True):
                x = body.graph.call_function(torch.ops.aten.squeeze.dim, (x, d))
                x.meta.update(n.meta)
        n.replace_all_uses_with(x)
        body.graph.erase_node(n)
    body.recompile()


@functools.lru_cache(maxsize=None)
def _explicit_table() -> Dict:
    """fxc's table less the ops with a CompositeImplicitAutograd kernel, which
    tracing expands into ATen ops by itself (some table entries for them are
    references built on ``prims`` views that functionalization rejects)."""
    return {k: v for k, v in TABLE.items() if not (
        isinstance(k, torch._ops.OpOverload)
        and torch._C._dispatch_has_kernel_for_dispatch_key(k.name(), "CompositeImplicitAutograd"))}


def _check_state(node, device, dtype, enabled) -> None:
    if device != "cpu":
        raise CompileError(
            f"autocast for device '{device}': fxc's CPU backend compiles CPU autocast regions", _where(node)
        )
    if enabled and dtype not in (torch.bfloat16, torch.float16):
        raise CompileError(f"CPU autocast dtype {dtype}: fxc supports bfloat16 and float16", _where(node))


def _where(node) -> Optional[str]:
    from fxc.frontend.importer import _FRAME

    frames = _FRAME.findall(node.meta.get("stack_trace") or "")
    return f"{frames[-1][0]}:{frames[-1][1]}" if frames else None


def _record_result_dtypes(body: torch.fx.GraphModule, policy_ops) -> None:
    for node in list(body.graph.nodes):
        val = node.meta.get("val")
        if node.op != "call_function" or node.target not in policy_ops or not isinstance(val, torch.Tensor):
            continue
        if not val.dtype.is_floating_point:
            continue
        with body.graph.inserting_after(node):
            cast = body.graph.call_function(_CAST, (node, val.dtype))
        node.replace_all_uses_with(cast, delete_user_cb=lambda u: u is not cast)
        cast.meta.update(val=val, stack_trace=node.meta.get("stack_trace"), nn_module_stack=node.meta.get("nn_module_stack", {}))
        cast.meta[RESULT_META] = True
    body.recompile()


def finish_regions(gm: torch.fx.GraphModule) -> None:
    """Drops identity ``convert_element_type`` nodes left in region bodies."""
    for node in list(gm.graph.nodes):
        if node.op == "call_function" and node.target is invoke_subgraph and region_state(node.args[1]):
            finish_regions(getattr(gm, node.args[0].target))
            _drop_identity_casts(getattr(gm, node.args[0].target))
    gm.recompile()


def _drop_identity_casts(body: torch.fx.GraphModule) -> None:
    for node in list(body.graph.nodes):
        if node.op == "call_function" and node.target is _CAST:
            src, dtype = node.args
            val = src.meta.get("val") if isinstance(src, torch.fx.Node) else None
            if isinstance(val, torch.Tensor) and val.dtype == dtype:
                node.replace_all_uses_with(src)
                body.graph.erase_node(node)
    body.recompile()


class WholeProgram(torch.nn.Module):
    """``model`` with its whole forward inside ``torch.autocast("cpu", dtype)``
    (``fxc.compile(..., autocast=dtype)``)."""

    def __init__(self, model, dtype: torch.dtype):
        super().__init__()
        self.model = model
        self.dtype = dtype

    def forward(self, *args, **kwargs):
        with torch.autocast("cpu", dtype=self.dtype):
            return self.model(*args, **kwargs)


def run_decompositions(ep, table: Dict):
    """``ep.run_decompositions(table)``, keeping autocast regions."""
    if not has_regions(ep.graph_module):
        return ep.run_decompositions(table)
    if isinstance(ep, torch.export.ExportedProgram):
        import copy

        ep = copy.copy(ep)
        ep._graph_module = copy.deepcopy(ep.graph_module)  # the caller's program stays as it is
    keep_regions(ep.graph_module)
    ep = ep.run_decompositions(decomposition_table(table))
    finish_regions(ep.graph_module)
    return ep


#: ``--autocast`` spellings.
DTYPES = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp16": torch.float16, "f16": torch.float16, "float16": torch.float16}


def ambient_dtype() -> Optional[torch.dtype]:
    """The dtype of the active CPU autocast (``torch.autocast("cpu")``), or None."""
    return torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else None


def no_ambient():
    """Captures the program as written, whatever autocast the caller is in:
    the compiled module picks a variant for the ambient state at call time."""
    return torch.autocast("cpu", enabled=False)


def check_dtype(dtype) -> Optional[torch.dtype]:
    """``autocast=`` as a dtype (a ``torch.dtype`` or a ``DTYPES`` name)."""
    if dtype is None:
        return None
    dtype = DTYPES.get(dtype, dtype) if isinstance(dtype, str) else dtype
    if dtype not in (torch.bfloat16, torch.float16):
        raise CompileError(f"autocast={dtype!r}: CPU autocast takes torch.bfloat16 or torch.float16")
    return dtype
