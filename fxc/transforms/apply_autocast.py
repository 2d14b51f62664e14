"""fxc-apply-autocast: PyTorch's autocast policy on the ops of autocast regions.

A region is the ops of one block between ``fxc.autocast_enter`` and the
``fxc.autocast_exit`` of its scope (see ``fxc.irdl.mlir``); regions nest and
the innermost one decides (``enabled = false`` turns autocast off inside an
enabled region).  In an enabled CPU region every op PyTorch's CPU autocast
has a policy for (``fxc.dialects.autocast_policy``) gets its floating
tensor operands (tensors in a ``prim.ListConstruct`` operand included) cast:

* lower-precision ops to the region's dtype, fp32 ops to float32 -- float64
  operands excepted, as eager leaves them;
* promote ops (``cat``, ``stack``, ``index_copy``) to the widest floating
  operand type;

and computes in that type: a floating result typed otherwise (its type
without autocast) is retyped.  A user that casts it to the computed type
-- capture records eager's result type so after every such op -- uses the
result directly (it asks for exactly what autocast computes); any other
user gets a cast back to the old type.  Other ops are left as they are.

Casts are ``torch.prims.convert_element_type`` (distinct from the user's own
``aten._to_copy``/``aten.to``), one per (value, dtype) per region -- the
cast cache: a cast is placed right after the region's entry, or after the
value's definition inside it, so it dominates every use in the region.  (An
op in a nested block of a region op gets its own casts.)  ``cache_enabled``
is kept on the markers but changes nothing: caching a cast never changes a
value.  A cast of a ``torch.vtensor.literal`` (a weight frozen with
``freeze=True``) is folded into a new literal.  The markers are erased.
"""

from __future__ import annotations

from typing import Dict, List, Optional

import re

import numpy as np
import torch
from torch_mlir import ir

from fxc._mlir_compat import ResourceBlobs
from fxc.compiler.passes import ModulePass, funcs_with_body, register
from fxc.dialects.torch_types import SCALAR_TYPE_INDEX, TorchBuilder, dtype_asm, torch_dtype, vtensor_parts, vtensor_type
from fxc.dialects.autocast_policy import Policy, policy_of

_FLOAT = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_CAST = "torch.prims.convert_element_type"


def float_dtype(value: ir.Value) -> Optional[torch.dtype]:
    parts = vtensor_parts(value.type)
    if parts is None or parts[1] not in ("f16", "bf16", "f32", "f64"):
        return None
    return torch_dtype(parts[1])


def overload_of(op: ir.Operation) -> str:
    """``aten.conv2d.padding`` for ``torch.aten.conv2d.padding`` (and for a
    ``torch.operator "aten.conv2d.padding"``)."""
    if op.name == "torch.operator":
        return ir.StringAttr(op.attributes["name"]).value
    return op.name[len("torch."):]


class Region:
    """One open autocast region: its entry, state and cast cache."""

    def __init__(self, enter: ir.Operation):
        self.enter = enter
        self.device = ir.StringAttr(enter.attributes["device"]).value
        self.dtype = torch_dtype(str(ir.TypeAttr(enter.attributes["dtype"]).value))
        self.enabled = ir.BoolAttr(enter.attributes["enabled"]).value
        self.active = self.enabled and self.device == "cpu"
        self.cache: Dict[tuple, ir.Value] = {}


@register
class ApplyAutocast(ModulePass):
    name = "fxc-apply-autocast"
    summary = "Apply PyTorch's autocast policy inside fxc.autocast_enter/exit regions, then drop the markers"

    def run(self, module_op):
        self._resources = ResourceBlobs(module_op)
        for func in funcs_with_body(module_op):
            for block in func.regions[0].blocks:
                self._block(block)

    # -- regions ----------------------------------------------------------
    def _block(self, block: ir.Block) -> None:
        ops = [o.operation for o in block.operations]
        stack: List[Region] = []
        markers = []
        for op in ops:
            if op.name == "fxc.autocast_enter":
                stack.append(Region(op))
                markers.append(op)
            elif op.name == "fxc.autocast_exit":
                if not stack or op.operands[0] != stack[-1].enter.results[0]:
                    raise self.fail(op, "'fxc.autocast_exit' does not close the innermost open autocast region of its block")
                stack.pop()
                markers.append(op)
            elif stack and stack[-1].active:
                self._apply_nested(op, stack[-1])
        if stack:
            raise self.fail(stack[-1].enter, "'fxc.autocast_enter' has no 'fxc.autocast_exit' in its block")
        for op in reversed(markers):  # exits first: they use the scopes
            op.erase()

    def _apply_nested(self, op: ir.Operation, region: Region) -> None:
        self._apply(op, region)
        for r in op.regions:
            for b in r.blocks:
                for inner in b.operations:
                    self._apply_nested(inner.operation, region)

    # -- the policy ---------------------------------------------------------
    def _apply(self, op: ir.Operation, region: Region) -> None:
        policy = policy_of(overload_of(op))
        if policy is None:
            return
        slots = self._float_operands(op)
        eligible = [(i, j, v) for i, j, v in slots if policy is Policy.PROMOTE or float_dtype(v) != torch.float64]
        if not eligible:
            return
        if policy is Policy.LOWER:
            target = region.dtype
        elif policy is Policy.FP32:
            target = torch.float32
        else:
            target = eligible[0][2] and float_dtype(eligible[0][2])
            for _, _, v in eligible[1:]:
                target = torch.promote_types(target, float_dtype(v))
        lists = {}
        for i, j, v in eligible:
            if float_dtype(v) == target:
                continue
            cast = self._cast(v, target, op, region)
            if j is None:
                op.operands[i] = cast
            else:
                lists.setdefault(i, list(op.operands[i].owner.operands))[j] = cast
        with op.location, ir.InsertionPoint(op):
            for i, elements in lists.items():
                op.operands[i] = TorchBuilder.op("torch.prim.ListConstruct", elements, op.operands[i].type)
        self._retype_results(op, target)

    @staticmethod
    def _float_operands(op: ir.Operation) -> list:
        """``(operand index, list index or None, value)`` of floating tensors."""
        found = []
        for i, v in enumerate(op.operands):
            if float_dtype(v) is not None:
                found.append((i, None, v))
            elif str(v.type).startswith("!torch.list<vtensor") and _list_elements(v) is not None:
                found.extend((i, j, e) for j, e in enumerate(_list_elements(v)) if float_dtype(e) is not None)
        return found

    def _retype_results(self, op: ir.Operation, target: torch.dtype) -> None:
        for result in op.results:
            old = float_dtype(result)
            if old is None or old == target:
                continue
            dims = vtensor_parts(result.type)[0]
            uses = [(u.owner, u.operand_number) for u in result.uses]
            result.set_type(vtensor_type(dims, dtype_asm(target)))
            back = None
            for user, index in uses:
                user = user.operation if hasattr(user, "operation") else user
                if user.name == _CAST and float_dtype(user.results[0]) == target:
                    user.results[0].replace_all_uses_with(result)
                    user.erase()
                    continue
                if back is None:
                    with op.location, ir.InsertionPoint.after(op):
                        back = _convert(result, old)
                user.operands[index] = back

    # -- casts ----------------------------------------------------------------
    def _cast(self, value: ir.Value, dtype: torch.dtype, user: ir.Operation, region: Region) -> ir.Value:
        owner = value.owner
        in_block = user.block == region.enter.block
        key = (value, dtype)
        if in_block and key in region.cache:
            return region.cache[key]
        if not in_block:
            where = ir.InsertionPoint(user)
        elif (isinstance(owner, ir.Block) or owner.operation.block != region.enter.block
              or owner.operation.is_before_in_block(region.enter)):
            where = ir.InsertionPoint.after(region.enter)
        else:
            where = ir.InsertionPoint.after(owner.operation)
        with user.location, where:
            cast = _fold_literal(value, dtype, self._resources) or _convert(value, dtype)
        if in_block:
            region.cache[key] = cast
        return cast


def _list_elements(value: ir.Value) -> Optional[list]:
    owner = value.owner
    if isinstance(owner, ir.Block) or owner.operation.name != "torch.prim.ListConstruct":
        return None
    return list(owner.operation.operands)


def _convert(value: ir.Value, dtype: torch.dtype) -> ir.Value:
    dims = vtensor_parts(value.type)[0]
    return TorchBuilder.op(_CAST, [value, TorchBuilder.int(SCALAR_TYPE_INDEX[dtype])], vtensor_type(dims, dtype_asm(dtype)))


def _fold_literal(value: ir.Value, dtype: torch.dtype, resources) -> Optional[ir.Value]:
    """A ``torch.vtensor.literal`` of ``value``'s data cast to ``dtype``, when
    ``value`` is a literal with elements Python can read; else None."""
    owner = value.owner
    if isinstance(owner, ir.Block) or owner.operation.name != "torch.vtensor.literal":
        return None
    attr = owner.operation.attributes["value"]
    data = _literal_tensor(attr, float_dtype(value), resources)
    if data is None:
        return None
    dims = vtensor_parts(value.type)[0]
    cast = data.to(dtype).contiguous()
    raw = np.frombuffer(cast.view(torch.uint8).numpy().tobytes() if cast.numel() else b"", dtype=np.uint8)
    shaped = ir.RankedTensorType.get(dims, ir.Type.parse(dtype_asm(dtype)))
    new_attr = ir.DenseElementsAttr.get(raw, type=shaped) if cast.numel() else ir.DenseElementsAttr.get_splat(shaped, ir.FloatAttr.get(ir.Type.parse(dtype_asm(dtype)), 0.0))
    return ir.Operation.create("torch.vtensor.literal", results=[vtensor_type(dims, dtype_asm(dtype))],
                               attributes={"value": new_attr}).result


def _literal_tensor(attr: ir.Attribute, dtype: torch.dtype, resources) -> Optional[torch.Tensor]:
    # The bindings hand out literal values as plain ``ir.Attribute``s.
    text = str(attr)
    if text.startswith("dense_resource<"):
        name = re.match(r"dense_resource<([^>]+)>", text)
        blob = resources.get(name.group(1) if name else None)
        if blob is None:
            return None
        dims = ir.ShapedType(attr.type).shape
        return (torch.frombuffer(bytearray(blob), dtype=dtype) if blob else torch.empty(0, dtype=dtype)).reshape(dims)
    if text.startswith("dense<") and dtype in (torch.float32, torch.float64):
        attr = ir.DenseElementsAttr(attr)
        shaped = ir.ShapedType(attr.type)
        return torch.from_numpy(np.array(attr)).to(dtype).reshape(shaped.shape)
    return None
