"""fxc-lower-effects: effect tokens become ordered calls into the host runtime.

Each ``fxc.with_effects`` becomes a ``func.call`` to a private declaration
``@fxc_host_<n>`` that carries what the host runtime needs to run the op:

    func.func private @fxc_host_0(!torch.vtensor<[3],f32>) -> ...
        attributes {fxc.op = "mylib.record.default",
                    fxc.args = [{tensor = 0 : i64}, {value = "moo"}],
                    llvm.emit_c_interface}

Tensor arguments stay operands of the call; compile-time constant arguments
(strings, numbers, lists, None) move into ``fxc.args``.  Calls to external
functions have unknown side effects, so no later pass reorders or drops them:
program order is effect order, and the tokens are erased (function arguments
and results of type ``!fxc.token`` disappear from the signature,
``fxc.make_token`` / ``fxc.sink_tokens`` are removed).
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import func

from fxc._mlir_compat import ops_named
from fxc.dialects import fxc as fxc_d
from fxc.lowering.pass_base import ModulePass, funcs_with_body

HOST_PREFIX = "fxc_host_"


def constant_value(value: ir.Value):
    """The Python value of a torch constant (or list of them); raises KeyError."""
    owner = value.owner
    name = owner.name if isinstance(owner, (ir.Operation, ir.OpView)) else None
    if name == "torch.constant.none":
        return None
    if name in ("torch.constant.str",):
        return ir.StringAttr(owner.attributes["value"]).value
    if name in ("torch.constant.int",):
        return ir.IntegerAttr(owner.attributes["value"]).value
    if name in ("torch.constant.float",):
        return ir.FloatAttr(owner.attributes["value"]).value
    if name in ("torch.constant.bool",):
        return ir.BoolAttr(owner.attributes["value"]).value
    if name == "torch.prim.ListConstruct":
        return [constant_value(v) for v in owner.operands]
    raise KeyError(name)


def to_attr(value) -> ir.Attribute:
    if value is None:
        return ir.UnitAttr.get()
    if isinstance(value, bool):
        return ir.BoolAttr.get(value)
    if isinstance(value, int):
        return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), value)
    if isinstance(value, float):
        return ir.FloatAttr.get_f64(value)
    if isinstance(value, str):
        return ir.StringAttr.get(value)
    if isinstance(value, list):
        return ir.ArrayAttr.get([to_attr(v) for v in value])
    raise TypeError(value)


def is_tensor_type(t: ir.Type) -> bool:
    s = str(t)
    return s.startswith("!torch.vtensor") or s.startswith("tensor<")


class LowerEffects(ModulePass):
    name = "fxc-lower-effects"
    summary = "Lower fxc.with_effects to ordered host-runtime calls and erase effect tokens"

    def run(self, module_op):
        counter = [0]
        module_body = module_op.regions[0].blocks[0]
        existing = {ir.StringAttr(o.attributes["sym_name"]).value
                    for o in module_body.operations if "sym_name" in o.attributes}
        for fn in list(funcs_with_body(module_op)):
            for op in ops_named(fn, "fxc.with_effects"):
                while f"{HOST_PREFIX}{counter[0]}" in existing:
                    counter[0] += 1
                name = f"{HOST_PREFIX}{counter[0]}"
                existing.add(name)
                self._lower_with_effects(op, name, module_body)
            self._erase_tokens(fn)

    def _lower_with_effects(self, op, callee_name, module_body):
        op_name = fxc_d.wrapped_op_name(op)
        tensor_args, arg_attrs = [], []
        for i, arg in enumerate(fxc_d.effect_args(op)):
            if is_tensor_type(arg.type):
                arg_attrs.append(ir.DictAttr.get({"tensor": to_attr(len(tensor_args))}))
                tensor_args.append(arg)
                continue
            try:
                value = constant_value(arg)
            except KeyError:
                raise self.fail(op, f"argument {i} of effectful op {op_name} is neither a tensor nor a compile-time constant")
            arg_attrs.append(ir.DictAttr.get({"value": to_attr(value)}))
        results = fxc_d.effect_results(op)
        result_types = [r.type for r in results]
        with op.location:
            decl = func.FuncOp(
                callee_name,
                ir.FunctionType.get([a.type for a in tensor_args], result_types),
                visibility="private",
                ip=ir.InsertionPoint.at_block_begin(module_body),
            )
            decl.attributes["fxc.op"] = ir.StringAttr.get(op_name)
            decl.attributes["fxc.args"] = ir.ArrayAttr.get(arg_attrs)
            decl.attributes["llvm.emit_c_interface"] = ir.UnitAttr.get()
            call = func.CallOp(result_types, ir.FlatSymbolRefAttr.get(callee_name), tensor_args,
                               ip=ir.InsertionPoint(op))
        op.results[0].replace_all_uses_with(op.operands[0])
        for old, new in zip(results, call.results):
            old.replace_all_uses_with(new)
        op.erase()

    def _erase_tokens(self, fn):
        for op in ops_named(fn, "fxc.sink_tokens"):
            op.erase()
        block = fn.regions[0].blocks[0]
        for op in ops_named(fn, "func.return"):
            keep = [v for v in op.operands if not fxc_d.is_token(v.type)]
            if len(keep) != len(op.operands):
                with op.location, ir.InsertionPoint(op):
                    func.ReturnOp(keep)
                op.erase()
        for op in ops_named(fn, "fxc.make_token"):
            if list(op.results[0].uses):
                raise self.fail(op, "an effect token is used by an op fxc-lower-effects does not know")
            op.erase()
        for i in reversed(range(len(block.arguments))):
            arg = block.arguments[i]
            if fxc_d.is_token(arg.type):
                if list(arg.uses):
                    raise self.fail(fn, "an effect token argument is still used after lowering effects")
                block.erase_argument(i)
        ftype = ir.FunctionType(ir.TypeAttr(fn.attributes["function_type"]).value)
        inputs = [t for t in ftype.inputs if not fxc_d.is_token(t)]
        results = [t for t in ftype.results if not fxc_d.is_token(t)]
        fn.attributes["function_type"] = ir.TypeAttr.get(ir.FunctionType.get(inputs, results))
