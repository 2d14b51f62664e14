"""fxc-verify: the rules of fxc ops that IRDL cannot state.

IRDL checks operand/result structure and the token type as the IR is parsed
or built.  This pass checks the rest (see each op's comment in
``fxc.irdl.mlir``) and reports the first violation at the op's location:

* arg slots are filled in order, without gaps;
* ``op`` names a PyTorch operator whose schema takes that many arguments
  (operators of namespaces not loaded in this process are not checked);
* ``fxc.out_dtype``: the op is functional (no mutable or aliasing
  arguments) and returns exactly one tensor; the result is a
  ``!torch.vtensor`` whose element type is ``out_dtype``, a PyTorch dtype;
  tensor arguments of the schema get tensors (or ``!torch.none`` where
  optional), the others get no tensors;
* ``fxc.with_effects``: the op neither mutates nor aliases (PyTorch's
  rule: "Ops with aliasing is not supported"), and its non-None results
  match the op's result slots;
* effect tokens are linear: every ``!fxc.token`` value (an op result or a
  block argument) has at most one use, so the effects form one chain and
  their order is total.
"""

from __future__ import annotations

import functools
import re

import torch
from torch_mlir import ir

from fxc._mlir_compat import walk
from fxc.dialects import fxc as fxc_d
from fxc.dialects.torch_types import MLIR_ASM_TO_TORCH_DTYPE, resolve_overload
from fxc.compiler.passes import ModulePass, register


def _segments(op, attr):
    return list(ir.DenseI32ArrayAttr(op.attributes[attr]))


def _check_slots(op, attr, first, fail):
    sizes = _segments(op, attr)[first:]
    used = sum(sizes)
    if sizes != [1] * used + [0] * (len(sizes) - used):
        raise fail(op, f"'{op.name}' op {attr} must fill slots in order without gaps, got {sizes}")
    return used


_VTENSOR_ELEMENT = re.compile(r"^!torch\.vtensor<\[[^\]]*\],(.+)>$")


def _tensor_kind(t):
    """"tensor" / "optional" for a schema type that takes a tensor, else None."""
    if isinstance(t, torch.TensorType):
        return "tensor"
    if isinstance(t, torch.OptionalType) and isinstance(t.getElementType(), torch.TensorType):
        return "optional"
    return None


def _is_tensor(t: ir.Type) -> bool:
    return str(t).startswith(("!torch.vtensor", "!torch.tensor"))


def _program_order(a, b) -> int:
    if a.block == b.block and a != b:
        return -1 if a.is_before_in_block(b) else 1
    return 0


def _returns_tensors(schema):
    return [r for r in schema.returns if str(r.type) == "Tensor"]


@register
class Verify(ModulePass):
    name = "fxc-verify"
    summary = "Check the fxc op rules IRDL cannot express"

    def run(self, module_op):
        # Checked after the walk: an exception raised inside a walk callback
        # reaches Python as a RuntimeError, not as the pass failure.
        ops = []
        walk(module_op, lambda op: ops.append(op) if op.name in ("fxc.out_dtype", "fxc.with_effects") else None)
        for op in ops:
            if op.name == "fxc.out_dtype":
                self._out_dtype(op)
            else:
                self._with_effects(op)
        self._linear_tokens(module_op)

    def _schema(self, op, n_args):
        name = fxc_d.wrapped_op_name(op)
        overload = resolve_overload(name)
        if overload is None:
            return name, None
        schema = overload._schema
        if len(schema.arguments) != n_args:
            raise self.fail(op, f"'{op.name}' op wraps {name}, which takes {len(schema.arguments)} arguments, but has {n_args}")
        return name, schema

    def _out_dtype(self, op):
        n = _check_slots(op, "operandSegmentSizes", 0, self.fail)
        name, schema = self._schema(op, n)
        if schema is None:
            raise self.fail(op, f"'fxc.out_dtype' op wraps unknown operator '{name}'")
        if schema.is_mutable or any(a.alias_info is not None for a in schema.arguments):
            raise self.fail(op, f"'fxc.out_dtype' op wraps {name}, which is not functional")
        if len(schema.returns) != 1 or len(_returns_tensors(schema)) != 1:
            raise self.fail(op, f"'fxc.out_dtype' op wraps {name}, which does not return a single tensor")
        element = _VTENSOR_ELEMENT.match(str(op.results[0].type))
        if element is None:
            raise self.fail(op, f"'fxc.out_dtype' op result must be a !torch.vtensor, got {op.results[0].type}")
        want = str(ir.TypeAttr(op.attributes["out_dtype"]).value)
        if want not in MLIR_ASM_TO_TORCH_DTYPE:
            raise self.fail(op, f"'fxc.out_dtype' op out_dtype {want} is not a PyTorch dtype")
        if element.group(1) != want:
            raise self.fail(op, f"'fxc.out_dtype' op result element type {element.group(1)} does not match out_dtype {want}")
        for i, (arg, value) in enumerate(zip(schema.arguments, op.operands)):
            wants_tensor, got_tensor = _tensor_kind(arg.type), _is_tensor(value.type)
            if got_tensor != bool(wants_tensor) and not (wants_tensor == "optional" and str(value.type) == "!torch.none"):
                kind = "a tensor" if wants_tensor else "a scalar or list, not a tensor"
                raise self.fail(op, f"'fxc.out_dtype' op argument {i} ('{arg.name}') of {name} must be {kind}, got {value.type}")

    def _with_effects(self, op):
        n = _check_slots(op, "operandSegmentSizes", 1, self.fail)
        n_results = _check_slots(op, "resultSegmentSizes", 1, self.fail)
        name, schema = self._schema(op, n)
        if schema is None:
            return
        if any(a.alias_info is not None for a in list(schema.arguments) + list(schema.returns)):
            raise self.fail(op, f"'fxc.with_effects' op wraps {name}, which mutates or aliases its arguments (Ops with aliasing is not supported)")
        if n_results > len(_returns_tensors(schema)):
            raise self.fail(op, f"'fxc.with_effects' op wraps {name}, which returns {len(_returns_tensors(schema))} tensors, but has {n_results} results")

    def _linear_tokens(self, module_op):
        values = []

        def collect(op):
            values.extend((r, f"result {i} of '{op.name}'") for i, r in enumerate(op.results) if fxc_d.is_token(r.type))
            for region in op.regions:
                for block in region.blocks:
                    values.extend((a, f"block argument {a.arg_number}") for a in block.arguments if fxc_d.is_token(a.type))

        walk(module_op, collect)
        for value, what in values:
            users = [u.owner.operation for u in value.uses]
            if len(users) > 1:
                # Reported at a use after the first (in program order when the
                # uses share a block).
                users.sort(key=functools.cmp_to_key(_program_order))
                raise self.fail(users[1], f"effect token ({what}) is used {len(users)} times; a token is used at most "
                                f"once, so that effects are totally ordered")
