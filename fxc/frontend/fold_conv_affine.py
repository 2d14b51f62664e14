"""Folding a frozen per-channel affine map (eval BatchNorm) into the convolution before it.

With ``freeze=True``, an eval-mode ``BatchNorm`` after a convolution is, once
decomposed, a chain of elementwise ops on the convolution's output whose
other operands are computed from frozen state only::

    y = conv(x, W, b)
    z = ((y - mean) * rsqrt(var + eps)) * gamma + beta

Every step is an affine map ``y -> y * s + t`` per output channel, so the
chain is one, ``z = conv(x, W, b) * s + t = conv(x, W * s, b * s + t)``:
the convolution with a scaled weight and a new bias, and no pass over its
output.  This is what eager's ``torch.fx.experimental.optimization.fuse``
and Inductor's freezing do; the result differs from the unfolded program by
float rounding only.

:func:`fold_conv_affine` rewrites the decomposed ``ExportedProgram`` that
fxc owns (never the user's): a chain step is ``add``/``sub``/``mul``/``div``
(``.Tensor``) of the running value and a tensor that is constant (computed
by the graph from frozen parameters and buffers and literals, evaluated here
with PyTorch) and broadcasts per output channel (shape ``[C, 1, ..., 1]`` or
fewer dims, or a scalar).  Every value of the chain but its last has one
user; the convolution is not transposed, its weight (and bias, if any) are
frozen and read by it alone, and everything is one floating dtype.  The
folded weight and bias become constant tensors of the program.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Optional

import torch
from torch._guards import detect_fake_mode
from torch.export import ExportedProgram
from torch.export.graph_signature import InputKind, InputSpec, TensorArgument

aten = torch.ops.aten

#: ``(s, t, c) -> (s', t')``: the affine map ``y * s + t`` followed by the
#: step (``y op c`` where the running value is the first operand, else ``c op y``).
_STEPS = {
    (aten.add.Tensor, True): lambda s, t, c: (s, t + c),
    (aten.add.Tensor, False): lambda s, t, c: (s, t + c),
    (aten.sub.Tensor, True): lambda s, t, c: (s, t - c),
    (aten.sub.Tensor, False): lambda s, t, c: (-s, c - t),
    (aten.mul.Tensor, True): lambda s, t, c: (s * c, t * c),
    (aten.mul.Tensor, False): lambda s, t, c: (s * c, t * c),
    (aten.div.Tensor, True): lambda s, t, c: (s / c, t / c),
}

#: Ops evaluated to compute a step's constant operand (cheap, deterministic,
#: no state): what the BatchNorm decomposition applies to its parameters.
_CONSTANT_OPS = frozenset({
    aten.add.Tensor, aten.sub.Tensor, aten.mul.Tensor, aten.div.Tensor, aten.rsub.Scalar,
    aten.sqrt.default, aten.rsqrt.default, aten.reciprocal.default, aten.neg.default,
    aten.unsqueeze.default, aten.view.default, aten.reshape.default, aten.squeeze.dim,
    aten.add.Scalar, aten.mul.Scalar, aten.sub.Scalar, aten.div.Scalar,
    torch.ops.prims.convert_element_type.default, aten._to_copy.default,
    aten.full_like.default,  # (fxc's decomposition of reciprocal: ones_like(x) / x)
})


class _Constants:
    """Values of graph nodes computable from frozen state and literals."""

    def __init__(self, frozen: Dict[str, torch.Tensor]):
        self.values = dict(frozen)  # node name -> tensor

    def value(self, arg):
        """``arg``'s value, or None when it is not a constant."""
        if isinstance(arg, torch.fx.Node):
            if arg.name in self.values:
                return self.values[arg.name]
            if arg.op != "call_function" or arg.target not in _CONSTANT_OPS:
                return None
            args = [self.value(a) if isinstance(a, torch.fx.Node) else a for a in arg.args]
            if any(v is None for v, a in zip(args, arg.args) if isinstance(a, torch.fx.Node)):
                return None
            kwargs = {k: v for k, v in arg.kwargs.items() if k != "device"}
            if any(isinstance(v, torch.fx.Node) for v in kwargs.values()):
                return None
            self.values[arg.name] = arg.target(*args, **kwargs)
            return self.values[arg.name]
        return arg if isinstance(arg, (int, float)) and not isinstance(arg, bool) else None


def _per_channel(c, channels: int, rank: int, dtype) -> Optional[torch.Tensor]:
    """``c`` as a ``[channels]`` vector when it broadcasts per channel
    against a ``rank``-d ``[N, channels, ...]`` value, else None."""
    if isinstance(c, (int, float)):
        return torch.full((channels,), float(c), dtype=dtype)
    if not isinstance(c, torch.Tensor) or c.dtype != dtype or c.dim() > rank:
        return None
    shape = [1] * (rank - c.dim()) + list(c.shape)
    if any(d != 1 for i, d in enumerate(shape) if i != 1) or shape[1] not in (1, channels):
        return None
    return c.reshape(-1).expand(channels).clone()


def _constant_inputs(ep: ExportedProgram, frozen: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The program's constant inputs by placeholder name: ``frozen`` state and constant tensors."""
    values = dict(frozen)
    values.update({s.arg.name: ep.constants[s.target] for s in ep.graph_signature.input_specs
                   if s.kind == InputKind.CONSTANT_TENSOR})
    return values


def fold_conv_affine(ep: ExportedProgram, frozen: Dict[str, torch.Tensor]) -> int:
    """Folds per-channel affine chains into the convolutions before them,
    in place (``ep`` must be fxc's own decomposed program); ``frozen``: the
    tensors of the parameters and buffers that are constants, by placeholder
    name.  Returns how many convolutions it folded into."""
    graph = ep.graph_module.graph
    ep._constants = dict(ep.constants)  # not shared with the program it was decomposed from
    consts = _Constants(_constant_inputs(ep, frozen))
    folded = 0
    for conv in [n for n in graph.nodes if n.op == "call_function" and n.target == aten.convolution.default]:
        fold = _fold_one(conv, consts)
        if fold is not None:
            _rewrite(ep, conv, *fold, index=folded)
            folded += 1
    if folded:
        graph.eliminate_dead_code()
        ep.graph_module.recompile()
    return folded


def _fold_one(conv: torch.fx.Node, consts: _Constants):
    """``(last node of the chain, weight, bias or None, scale, shift)`` for
    ``conv``, or None."""
    if len(conv.args) != 9:
        return None
    _, w, b, _, _, _, transposed, _, _ = conv.args
    out = conv.meta.get("val")
    weight = consts.values.get(w.name) if isinstance(w, torch.fx.Node) else None
    if transposed or out is None or weight is None or not out.dtype.is_floating_point or weight.dtype != out.dtype:
        return None
    if len(w.users) != 1 or (b is not None and (b.name not in consts.values or len(b.users) != 1)):
        return None
    channels, rank = weight.shape[0], out.dim()
    s = torch.ones(channels, dtype=out.dtype)
    t = torch.zeros(channels, dtype=out.dtype)
    node, last = conv, None
    while len(node.users) == 1:
        (user,) = node.users
        if user.op != "call_function" or len(user.args) != 2 or user.kwargs or user.args.count(node) != 1:
            break
        first = user.args[0] is node
        step = _STEPS.get((user.target, first))
        val = user.meta.get("val")
        c = _per_channel(consts.value(user.args[1 if first else 0]), channels, rank, out.dtype)
        if step is None or c is None or val is None or val.dtype != out.dtype or val.shape != out.shape:
            break
        s, t = step(s, t, c)
        node = last = user
    if last is None:
        return None
    return last, weight, (consts.values[b.name] if b is not None else None), s, t


def _rewrite(ep: ExportedProgram, conv: torch.fx.Node, last: torch.fx.Node, weight, bias, s, t, *,
             index: int) -> None:
    x, w, _, *rest = conv.args
    new_w = (weight * s.reshape((-1,) + (1,) * (weight.dim() - 1))).contiguous()
    new_b = (bias * s + t if bias is not None else t).contiguous()
    conv.args = (x, _constant(ep, f"fxc_folded_weight_{index}", new_w, w),
                 _constant(ep, f"fxc_folded_bias_{index}", new_b, w), *rest)
    last.replace_all_uses_with(conv)
    specs = ep.graph_signature.output_specs
    for i, spec in enumerate(specs):
        if isinstance(spec.arg, TensorArgument) and spec.arg.name == last.name:
            specs[i] = dataclasses.replace(spec, arg=TensorArgument(conv.name))


def _constant(ep: ExportedProgram, name: str, value: torch.Tensor, like: torch.fx.Node) -> torch.fx.Node:
    """A new constant tensor input of ``ep`` holding ``value``, before the user inputs."""
    graph = ep.graph_module.graph
    specs = ep.graph_signature.input_specs
    at = next((i for i, s in enumerate(specs) if s.kind == InputKind.USER_INPUT), len(specs))
    nodes = [n for n in graph.nodes if n.op == "placeholder"]
    with graph.inserting_before(nodes[at]) if at < len(nodes) else graph.inserting_after(nodes[-1]):
        node = graph.placeholder(name)
    fake_mode = detect_fake_mode([like.meta.get("val")])
    node.meta["val"] = fake_mode.from_tensor(value) if fake_mode is not None else value
    specs.insert(at, InputSpec(InputKind.CONSTANT_TENSOR, TensorArgument(node.name), target=node.name))
    ep.constants[node.name] = value
    return node

