"""fxc-verify: the rules of fxc ops that IRDL cannot state.

IRDL checks operand/result structure and the token type as the IR is parsed
or built.  This pass checks the rest (see each op's comment in
``fxc.irdl.mlir``) and reports the first violation at the op's location:

* arg slots are filled in order, without gaps;
* ``op`` names a PyTorch operator whose schema takes that many arguments
  (operators of namespaces not loaded in this process are not checked);
* ``fxc.out_dtype``: the op is functional (no mutable or aliasing
  arguments) and returns exactly one tensor; the result is a
  ``!torch.vtensor`` whose element type is ``out_dtype``;
* ``fxc.with_effects``: the op's results do not alias its arguments, and
  its non-None results match the op's result slots.
"""

from __future__ import annotations

from torch_mlir import ir

from fxc._mlir_compat import walk
from fxc.dialects import fxc as fxc_d
from fxc.dialects.torch_types import resolve_overload, vtensor_parts
from fxc.lowering.pass_base import ModulePass


def _segments(op, attr):
    return list(ir.DenseI32ArrayAttr(op.attributes[attr]))


def _check_slots(op, attr, first, fail):
    sizes = _segments(op, attr)[first:]
    used = sum(sizes)
    if sizes != [1] * used + [0] * (len(sizes) - used):
        raise fail(op, f"'{op.name}' op {attr} must fill slots in order without gaps, got {sizes}")
    return used


def _returns_tensors(schema):
    return [r for r in schema.returns if str(r.type) == "Tensor"]


class Verify(ModulePass):
    name = "fxc-verify"
    summary = "Check the fxc op rules IRDL cannot express"

    def run(self, module_op):
        def check(op):
            if op.name == "fxc.out_dtype":
                self._out_dtype(op)
            elif op.name == "fxc.with_effects":
                self._with_effects(op)

        walk(module_op, check)

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
        parts = vtensor_parts(op.results[0].type)
        if parts is None:
            raise self.fail(op, f"'fxc.out_dtype' op result must be a !torch.vtensor, got {op.results[0].type}")
        want = str(ir.TypeAttr(op.attributes["out_dtype"]).value)
        if parts[1] != want:
            raise self.fail(op, f"'fxc.out_dtype' op result element type {parts[1]} does not match out_dtype {want}")

    def _with_effects(self, op):
        n = _check_slots(op, "operandSegmentSizes", 1, self.fail)
        n_results = _check_slots(op, "resultSegmentSizes", 1, self.fail)
        name, schema = self._schema(op, n)
        if schema is None:
            return
        if any(r.alias_info is not None for r in schema.returns):
            raise self.fail(op, f"'fxc.with_effects' op wraps {name}, whose results alias its arguments (Ops with aliasing is not supported)")
        if n_results > len(_returns_tensors(schema)):
            raise self.fail(op, f"'fxc.with_effects' op wraps {name}, which returns {len(_returns_tensors(schema))} tensors, but has {n_results} results")
