"""fxc-lower-effects: effect tokens become ordered calls into the host runtime.

Each ``fxc.with_effects`` becomes a ``func.call`` to a private declaration
``@fxc_host_<n>`` that carries what the host runtime needs to run the op
(the contract is documented in ``fxc/dialects/host_calls.py``):

    func.func private @fxc_host_0(!torch.vtensor<[3],f32>) -> ...
        attributes {fxc.op = "mylib.record.default",
                    fxc.args = [{tensor = 0 : i64}, {value = "moo"}],
                    llvm.emit_c_interface}

Tensor arguments stay operands of the call; compile-time constant arguments
(strings, numbers, lists, None) move into ``fxc.args``, and a script object
(a ``torch.constant.str`` marked ``fxc.object``) becomes ``{object = name}``.
Calls to external functions have unknown side effects, so no later pass
reorders, merges or drops them, even when their results are unused: program
order is effect order.  The tokens are then erased (function arguments and
results of type ``!fxc.token`` disappear from the signature,
``fxc.make_token`` / ``fxc.sink_tokens`` are removed).
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import func

from fxc._mlir_compat import ops_named
from fxc.dialects import fxc as fxc_d
from fxc.dialects import host_calls
from fxc.dialects.torch_types import vtensor_parts
from fxc.compiler.passes import ModulePass, register, funcs_with_body

HOST_PREFIX = host_calls.HOST_PREFIX
to_attr = host_calls.to_attr


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


def object_name(value: ir.Value):
    """The script-object name a value refers to (see host_calls), or None."""
    owner = value.owner
    if isinstance(owner, (ir.Operation, ir.OpView)) and host_calls.OBJECT_ATTR in owner.attributes:
        return ir.StringAttr(owner.attributes["value"]).value
    return None


def is_tensor_type(t: ir.Type) -> bool:
    s = str(t)
    return s.startswith("!torch.vtensor") or s.startswith("tensor<")


@register
class LowerEffects(ModulePass):
    name = "fxc-lower-effects"
    summary = "Lower fxc.with_effects to ordered host-runtime calls and erase effect tokens"

    def run(self, module_op):
        module_body = module_op.regions[0].blocks[0]
        taken = {ir.StringAttr(o.attributes["sym_name"]).value
                 for o in module_body.operations if "sym_name" in o.attributes}
        for fn in list(funcs_with_body(module_op)):
            for op in ops_named(fn, "fxc.with_effects"):
                name = host_calls.unique_name(taken)
                taken.add(name)
                self._lower_with_effects(op, name, module_body)
            self._erase_tokens(fn)
        for decl in module_body.operations:
            if "fxc.op" in decl.attributes:
                _record_dtypes(decl.operation)

    def _arg_entry(self, op, i, arg, tensor_args):
        if is_tensor_type(arg.type):
            tensor_args.append(arg)
            return host_calls.entry(tensor=len(tensor_args) - 1)
        obj = object_name(arg)
        if obj is not None:
            return host_calls.entry(object=obj)
        try:
            return host_calls.entry(value=constant_value(arg))
        except KeyError:
            raise self.fail(
                op, f"argument {i} of effectful op {fxc_d.wrapped_op_name(op)} is neither a tensor nor a compile-time constant"
            ) from None

    def _lower_with_effects(self, op, callee_name, module_body):
        tensor_args = []
        arg_attrs = [self._arg_entry(op, i, a, tensor_args) for i, a in enumerate(fxc_d.effect_args(op))]
        results = fxc_d.effect_results(op)
        result_types = [r.type for r in results]
        with op.location:
            host_calls.declare(module_body, callee_name, fxc_d.wrapped_op_name(op), arg_attrs,
                               [a.type for a in tensor_args], result_types)
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


def _record_dtypes(decl) -> None:
    """Keeps the PyTorch dtypes of a host call's tensors (``fxc.dtypes``).

    The backend's builtin types are signless (int8 and uint8 are both
    ``i8``), so the host runtime reads the dtypes from here.
    """
    if "fxc.dtypes" in decl.attributes:
        return
    ftype = ir.FunctionType(ir.TypeAttr(decl.attributes["function_type"]).value)
    asms = []
    for t in [*ftype.inputs, *ftype.results]:
        parts = vtensor_parts(t)
        if parts is None:
            return  # not a torch-level declaration
        asms.append(ir.StringAttr.get(parts[1]))
    decl.attributes["fxc.dtypes"] = ir.ArrayAttr.get(asms)
