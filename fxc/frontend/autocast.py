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
  except the policy ops torch-mlir cannot lower whole (:func:`decomposed`):
  in an enabled region :func:`_decompose_in_region` applies the policy to
  them itself, as eager's autocast kernel does (casts their floating inputs,
  then runs the op with autocast off), so they become a region with
  ``enabled=False`` around the op, which decomposition then expands;
  the fused ops of :data:`FUSED` likewise, their decomposition traced under
  autocast (ATen's kernels call policy ops through the dispatcher);
* records after each such op the dtype eager gives its result (a
  ``prims.convert_element_type`` to the dtype export traced under autocast):
  the body is re-traced without autocast, and the rest of the program must
  still see eager's dtypes.  After decomposition :func:`finish_regions`
  removes the records that turned out to be no-ops.

The importer makes each region an ``fxc.autocast`` op calling a private
function, and ``fxc-apply-autocast`` applies the policy.
"""

from __future__ import annotations

import contextlib
import functools
import operator
from typing import Dict, Optional, Tuple

import torch
import torch.fx.traceback as fx_traceback
import torch.utils._pytree as pytree
from torch._guards import detect_fake_mode
from torch.fx.experimental.proxy_tensor import make_fx
from torch._higher_order_ops.invoke_subgraph import invoke_subgraph

from fxc.errors import CompileError
from fxc.dialects.autocast_policy import Policy, op_overloads, policy_of
from fxc.frontend.decompose import TABLE, decompose_node

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


#: Policy ops the torch dialect defines but torch-mlir does not convert to
#: linalg (whole), with a decomposition in fxc's table.  Not derivable: a
#: definition in the dialect says nothing of a conversion, which only a
#: compile shows (``test_autocast_lists.py`` compiles each).
NOT_CONVERTED = ("addbmm", "binary_cross_entropy", "conv_tbc", "cosine_embedding_loss")


@functools.lru_cache(maxsize=None)
def decomposed() -> frozenset:
    """The policy ops that cannot reach torch-mlir whole and that fxc's table
    decomposes: those the torch dialect does not define (the importer would
    make them ``torch.operator``s; read from torch-mlir's registry, with the
    importer's naming) and :data:`NOT_CONVERTED`.  In an enabled region they
    are cast at capture and decomposed there (``run_decompositions`` does not
    expand ops in a region nested in a region), never seen whole by the
    policy pass."""
    from torch_mlir.extras.fx_importer import _get_mlir_op_name_for_schema

    from fxc._mlir_compat import new_context

    ctx = new_context()
    return frozenset(op for op in op_overloads() if op in TABLE and (
        not ctx.is_registered_operation(_get_mlir_op_name_for_schema(op._schema))
        or op.name().removeprefix("aten::") in NOT_CONVERTED))


#: Fused ops with no autocast policy of their own whose ATen kernels call
#: policy ops through the dispatcher, so that eager's autocast applies to
#: each of those (``nn.TransformerEncoderLayer``'s fast path, which
#: ``fxc.frontend.fast_paths`` lets capture take as eager does).  In an
#: enabled region their decomposition is traced under autocast.
FUSED = frozenset({torch.ops.aten._transformer_encoder_layer_fwd.default})


def decomposition_table(table: Dict) -> Dict:
    """``table`` without the ops autocast has a policy for, except those of
    :func:`decomposed`."""
    keep = set(op_overloads()) - decomposed()
    return {k: v for k, v in table.items() if k not in keep}


def keep_regions(gm: torch.fx.GraphModule, counter=None, nested: bool = False) -> None:
    """Rewrites ``gm``'s autocast regions (recursively) as described above;
    ``nested``: ``gm`` is itself a region's body."""
    counter = counter if counter is not None else [0]
    policy_ops = set(op_overloads())
    for node in list(gm.graph.nodes):
        if node.op != "call_function" or node.target is not WRAP:
            continue
        device, dtype, enabled, cache_enabled, sub, *args = node.args
        _check_state(node, device, dtype, enabled)
        body = getattr(gm, sub.target)
        keep_regions(body, counter, nested=True)
        if nested:
            body = _functional(gm, sub.target, node)
        for op_node in [n for n in body.graph.nodes if n.op == "call_function" and n.target in decomposed() | FUSED]:
            if enabled:
                _decompose_in_region(body, op_node, (device, dtype, cache_enabled), counter)
            else:  # as written (decomposition does not reach a region nested in one)
                decompose_node(body, op_node)
        _record_result_dtypes(body, policy_ops)
        node.target = invoke_subgraph
        node.args = (sub, identifier(device, dtype, enabled, cache_enabled, counter[0]), *args)
        counter[0] += 1
    gm.recompile()


def _mutates(body: torch.fx.GraphModule) -> bool:
    return any(isinstance(n.target, torch._ops.OpOverload) and n.target._schema.is_mutable for n in body.graph.nodes)


def _functional(gm: torch.fx.GraphModule, name: str, node: torch.fx.Node) -> torch.fx.GraphModule:
    """The body ``gm.<name>`` of a region nested in a region, functionalized
    (export leaves such bodies as traced and decomposition does not reach
    them), each node keeping its stack trace.  Retraced under the region's
    own autocast state, so that each value has the dtype eager gives it
    (an enabled region's casts become explicit ops)."""
    body = getattr(gm, name)
    if not _mutates(body):
        return body
    if any(n.target is invoke_subgraph for n in body.graph.nodes):
        raise CompileError("in-place ops in an autocast region that holds regions, nested in a region: "
                           "fxc does not functionalize them", _where(node))
    vals = [n.meta["val"] for n in body.graph.nodes if n.op == "placeholder"]
    device, dtype, enabled, cache_enabled = node.args[:4]
    state = torch.autocast(device, dtype, enabled=enabled, cache_enabled=False)
    with fx_traceback.preserve_node_meta(), torch._subclasses.fake_tensor.unset_fake_temporarily(), \
            detect_fake_mode(vals), state:
        new = make_fx(torch.func.functionalize(torch.fx.Interpreter(body).run, remove="mutations"))(*vals)
    if _mutates(new):  # a mutated input of the region: written back with copy_
        raise CompileError("an in-place op on a value from outside an autocast region nested in a region: "
                           "fxc does not functionalize it", _where(node))
    gm.add_submodule(name, new)
    return new


def _decompose_in_region(gm: torch.fx.GraphModule, node: torch.fx.Node, state, counter) -> None:
    """Moves ``node``'s decomposition into a region with ``enabled=False``:
    a :func:`decomposed` op's floating tensor inputs cast as the policy says
    (float64 excepted) first, a :data:`FUSED` op's decomposition traced
    under autocast (its casts explicit in the body)."""
    device, dtype, cache_enabled = state
    fused = node.target in FUSED
    val = node.meta.get("val")
    multi = isinstance(val, (tuple, list))  # ``(output, weights)``: getitem users
    flat, spec = pytree.tree_flatten((node.args, node.kwargs))
    target = _target_dtype(node, flat, dtype)
    inputs, positions, vals = [], [], []
    for i, a in enumerate(flat):
        if not isinstance(a, torch.fx.Node):
            continue
        a_val = a.meta.get("val")
        if (not fused and isinstance(a_val, torch.Tensor) and a_val.dtype.is_floating_point
                and a_val.dtype not in (target, torch.float64)):
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
        # A fused op's decomposition is called, not the op: tracing reaches
        # a decomposition below the autocast dispatch key, the ops it calls
        # from here go through autocast's kernels as ATen's kernel's do.
        out = TABLE[node.target](*args, **kwargs) if fused else NotImplemented
        out = node.target(*args, **kwargs) if out is NotImplemented else out
        return tuple(out) if multi else (out,)

    # The op's decomposition; functionalized if it mutates (some do).
    policy = torch.autocast(device, dtype, cache_enabled=False) if fused else contextlib.nullcontext()
    with torch._subclasses.fake_tensor.unset_fake_temporarily(), detect_fake_mode(vals):
        with policy:
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
        item = call if multi else gm.graph.call_function(operator.getitem, (call, 0))
    counter[0] += 1
    call.meta.update(val=tuple(val) if multi else (val,), stack_trace=node.meta.get("stack_trace"))
    if not multi:
        item.meta.update(node.meta)
    node.replace_all_uses_with(item)
    gm.graph.erase_node(node)


def _target_dtype(node: torch.fx.Node, flat, dtype: torch.dtype) -> torch.dtype:
    """The dtype the policy casts ``node``'s floating inputs to: the region's,
    float32, or (promote) float32 if an input is float32, else the region's
    (float64 inputs ignored, as ATen's ``autocast::prioritize`` does)."""
    policy = policy_of(str(node.target).removesuffix(".default"))
    if policy is not Policy.PROMOTE:
        return dtype if policy is Policy.LOWER else torch.float32
    floating = {a.meta["val"].dtype for a in flat if isinstance(a, torch.fx.Node)
                and isinstance(a.meta.get("val"), torch.Tensor) and a.meta["val"].dtype.is_floating_point}
    floating.discard(torch.float64)
    if floating - {torch.float32, dtype}:
        raise CompileError(f"autocast to {dtype} cannot promote the inputs of {node.target} "
                           f"({sorted(str(d) for d in floating)}); eager raises too", _where(node))
    return torch.float32 if torch.float32 in floating else dtype


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
    """``file:line`` of ``node``'s innermost user frame; for a region export
    recorded without a stack trace, its body's first op's."""
    from fxc.frontend.importer import _FRAME

    frames = _FRAME.findall(node.meta.get("stack_trace") or "")
    if frames:
        return f"{frames[-1][0]}:{frames[-1][1]}"
    if node.target is WRAP and node.graph.owning_module is not None:
        body = getattr(node.graph.owning_module, node.args[4].target, None)
        for inner in body.graph.nodes if body is not None else ():
            if inner.op == "call_function" and _where(inner):
                return _where(inner)
    return None


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
