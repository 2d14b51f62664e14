"""Mutating custom ops, functionalized, as host calls.

``torch.export`` and aot_autograd functionalize a call of an op that mutates
its arguments (``mutates_args`` / ``Tensor(a!)``) into
``auto_functionalized_v2(op, **args, _all_bases=[...])``, which copies the
bases of the mutated arguments, regenerates each mutable argument as its
view of its copy (``ViewInfo``), runs the op and returns
``(*op results, *copies)``.  torch-mlir imports only v1, and only as a
``torch.operator`` that no backend lowers; the op is opaque code, so fxc
calls it in the host runtime.  :func:`host_call_v2` turns such a node into
the description of that host call (see ``fxc/dialects/host_calls.py``),
reading the view information with PyTorch's own reader so that the encoding
cannot drift from PyTorch's.
"""

from __future__ import annotations

import dataclasses
from typing import Any, List

import torch
from torch._higher_order_ops.auto_functionalize import (
    AliasViewInfo,
    AsStridedViewInfo,
    NotView,
    SliceViewInfo,
    get_mutable_args,
    read_view_information_from_args,
)

#: node.meta key naming the script object an FX node stands for (the
#: importer's OBJECT_META).
OBJECT_META = "fxc_object"
#: node.meta key marking a 0-d tensor that stands for a scalar argument
#: (``fxc.frontend.symbolic`` makes them for custom ops' SymInt arguments).
SCALAR_META = "fxc_scalar_arg"
#: node.meta key of a custom op node: the 0-d int64 tensor nodes holding its
#: results' dynamic dimensions, in order (``fxc.frontend.symbolic``).
RESULT_SIZES_META = "fxc_result_sizes"


class Unsupported(Exception):
    """A functionalized op fxc cannot call; the message says why."""


@dataclasses.dataclass
class HostCallSpec:
    """A host call, before import.

    Attributes:
        op_name: PyTorch's overload name (``mylib.inplace_add.default``).
        args: one ``fxc.args`` entry per schema argument, as a dict of
            fields (``{"tensor": 0}``) or a list of them.
        operands: the FX nodes passed as the call's tensor operands.
        bases: operand indices of the bases the op mutates.
        node_vals: the node's results (``meta["val"]``); each non-None one is
            a result of the call, in order.
    """

    op_name: str
    args: List[Any]
    operands: List[torch.fx.Node]
    bases: List[int]
    node_vals: List[Any]
    #: how many trailing operands size the results' dynamic dimensions
    result_sizes: int = 0


def _view_entry(info, op_name: str, arg: str):
    if isinstance(info, list):
        return [_view_entry(i, op_name, arg) for i in info]
    if info is None:
        return {"value": None}
    if isinstance(info, (NotView, AliasViewInfo)):
        return {"base": info.base_index}
    if isinstance(info, AsStridedViewInfo):
        return {"base": info.base_index, "size": [int(d) for d in info.size],
                "stride": [int(d) for d in info.stride], "offset": int(info.storage_offset)}
    if isinstance(info, SliceViewInfo):
        return {"base": info.base_index, "slice": [int(info.dim), int(info.start), int(info.end)]}
    raise Unsupported(f"{op_name}: argument '{arg}' is a view fxc cannot regenerate ({type(info).__name__})")


def _is_constant(value) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_is_constant(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


def _arg_entry(value, operands: list, op_name: str, arg: str):
    if isinstance(value, torch.fx.Node):
        if OBJECT_META in value.meta:
            return {"object": value.meta[OBJECT_META]}
        if value.meta.get(SCALAR_META):  # a scalar the program computes, as a 0-d tensor
            operands.append(value)
            return {"scalar": len(operands) - 1}
        if isinstance(value.meta.get("val"), torch.Tensor):
            operands.append(value)
            return {"tensor": len(operands) - 1}
    elif _is_constant(value):
        return {"value": list(value) if isinstance(value, tuple) else value}
    elif isinstance(value, (list, tuple)) and all(isinstance(v, torch.fx.Node) and v.meta.get(SCALAR_META)
                                                  for v in value):
        return [_arg_entry(v, operands, op_name, arg) for v in value]
    raise Unsupported(f"{op_name}: fxc's host runtime cannot pass argument '{arg}' ({value!r})")


def _op_name(node: torch.fx.Node, hop: str):
    op = node.args[0]
    if not isinstance(op, torch._ops.OpOverload):
        raise Unsupported(f"{hop} of {op!r} (a {type(op).__name__}) is not supported by fxc")
    ns, name = op._schema.name.split("::")
    op_name = f"{ns}.{name}.{op._overloadname}"
    if torch._library.utils.is_out(op):
        raise Unsupported(f"{op_name}: fxc does not call functionalized out= ops")
    return op, op_name


def host_call_v2(node: torch.fx.Node) -> HostCallSpec:
    """The host call that runs an ``auto_functionalized_v2`` node.

    Raises:
        Unsupported: the op or one of its arguments cannot be passed to the
            host runtime (an ``out=`` op, a higher-order op, a symbolic
            argument, a non-tensor result...).
    """
    op, op_name = _op_name(node, "auto_functionalized_v2")
    kwargs = dict(node.kwargs)
    all_bases = list(kwargs.pop("_all_bases", []))
    kwargs.pop("_only_clone_these_bases", None)
    names, types = get_mutable_args(op)
    views = read_view_information_from_args(names, types, kwargs, all_bases)
    return _host_call(node, op, op_name, kwargs, views, all_bases)


def host_call_v1(node: torch.fx.Node) -> HostCallSpec:
    """The host call that runs an ``auto_functionalized`` (v1) node: every
    mutable argument is its own base, copied, and returned after the op's
    results."""
    op, op_name = _op_name(node, "auto_functionalized")
    kwargs = dict(node.kwargs)
    kwargs.pop("_only_clone_these_tensors", None)
    names, _ = get_mutable_args(op)
    views, bases = {}, []
    for name in names:
        if not isinstance(kwargs.get(name), torch.fx.Node):
            raise Unsupported(f"{op_name}: fxc calls auto_functionalized ops whose mutable arguments are tensors, "
                              f"not {kwargs.get(name)!r} ('{name}')")
        views[name] = NotView(len(bases))
        bases.append(kwargs.pop(name))
    return _host_call(node, op, op_name, kwargs, views, bases)


def host_call_plain(node: torch.fx.Node) -> HostCallSpec:
    """The host call that runs a custom op that mutates nothing and that
    torch-mlir has no op for (``torch.library.custom_op``): opaque code, run
    by PyTorch as it is."""
    op = node.target
    ns, name = op._schema.name.split("::")
    op_name = f"{ns}.{name}.{op._overloadname}"
    params = op._schema.arguments
    kwargs = dict(node.kwargs)
    for param, value in zip(params, node.args):
        kwargs[param.name] = value
    call = _host_call(node, op, op_name, kwargs, {}, [])
    sizes = node.meta.get(RESULT_SIZES_META)
    if sizes is not None:
        call.operands.extend(sizes)
        call.result_sizes = len(sizes)
        return call
    for v in call.node_vals:
        if v is not None and not all(isinstance(d, int) for d in v.shape):
            raise Unsupported(f"{op_name}: fxc's host runtime cannot allocate a result of size {list(v.shape)} "
                              "(a size fxc cannot compute from the program's values)")
    return call


def _host_call(node, op, op_name: str, kwargs: dict, views: dict, all_bases: list) -> HostCallSpec:
    operands: List[torch.fx.Node] = []
    args = []
    for param in op._schema.arguments:
        if param.name in views:
            args.append(_view_entry(views[param.name], op_name, param.name))
        elif param.name in kwargs:
            args.append(_arg_entry(kwargs[param.name], operands, op_name, param.name))
        elif param.has_default_value():
            args.append(_arg_entry(param.default_value, operands, op_name, param.name))
        else:
            raise Unsupported(f"{op_name}: argument '{param.name}' is missing")
    bases = []
    for i, base in enumerate(all_bases):
        if not isinstance(base, torch.fx.Node) or not isinstance(base.meta.get("val"), torch.Tensor):
            raise Unsupported(f"{op_name}: mutated base {i} ({base!r}) is not a tensor")
        operands.append(base)
        bases.append(len(operands) - 1)
    val = node.meta["val"]
    node_vals = list(val) if isinstance(val, (list, tuple)) else [val]
    for v in node_vals:
        if v is not None and not isinstance(v, torch.Tensor):
            raise Unsupported(f"{op_name}: fxc's host runtime returns tensors only, not {v!r}")
    return HostCallSpec(op_name, args, operands, bases, node_vals)
