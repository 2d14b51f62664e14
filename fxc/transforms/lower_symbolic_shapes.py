"""fxc-lower-symbolic-shapes: size symbols leave the IR before linalg.

The importer turns a program's size symbols into ``torch.symbolic_int``
(name, range) and ties each tensor's sizes to them with
``torch.bind_symbolic_shape`` (an affine map over the symbols).  torch-mlir's
torch-to-linalg conversions have no lowering for either, so this pass runs
first in the ``linalg`` stage.  What the ops say is kept where later stages
and the runtime read it: each entry argument's symbolic sizes become its
``fxc.shape`` attribute (``["s77", 16]``: symbol names or integers, the
relations the signature's guards check at every call), and the symbols'
ranges the function's ``fxc.symbols`` attribute.  Then the ops are erased.
"""

from __future__ import annotations

import re

from torch_mlir import ir

from fxc._mlir_compat import ops_named
from fxc.compiler.passes import ModulePass, register

_AFFINE = re.compile(r"affine_map<\(\)\[([^\]]*)\] -> \((.*)\)>")


def _shape_of(bind: ir.Operation, names) -> list:
    """The sizes an ``affine_map<()[s0, ...] -> (...)>`` binds, in the symbols' names."""
    m = _AFFINE.match(str(bind.attributes["shape_expressions"]))
    if not m:
        return []
    params = [p.strip() for p in m.group(1).split(",") if p.strip()]
    rename = dict(zip(params, names))
    sub = lambda e: re.sub(r"\b(s\d+)\b", lambda t: rename.get(t.group(1), t.group(1)), e.strip())
    return [int(e) if e.strip().isdigit() else sub(e) for e in m.group(2).split(",")]


def _block_argument(value):
    try:
        return ir.BlockArgument(value)
    except ValueError:
        return None


def _str_attr(value) -> ir.Attribute:
    return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), value) if isinstance(value, int) \
        else ir.StringAttr.get(str(value))


@register
class LowerSymbolicShapes(ModulePass):
    name = "fxc-lower-symbolic-shapes"
    summary = "Record size symbols on the entry's arguments, then erase torch.symbolic_int/bind_symbolic_shape"

    def run(self, module_op):
        symbols = {}
        for op in ops_named(module_op, "torch.symbolic_int"):
            name = ir.StringAttr(op.attributes["symbol_name"]).value
            symbols[op.results[0]] = (name, op)
        for bind in ops_named(module_op, "torch.bind_symbolic_shape"):
            value, *syms = bind.operands
            names = [symbols[s][0] if s in symbols else "?" for s in syms]
            value = _block_argument(value)
            if value is not None and value.owner.owner.operation.name == "func.func":
                fn = value.owner.owner.operation
                shape = ir.ArrayAttr.get([_str_attr(d) for d in _shape_of(bind, names)])
                arg_attrs = list(ir.ArrayAttr(fn.attributes["arg_attrs"])) if "arg_attrs" in fn.attributes \
                    else [ir.DictAttr.get({}) for _ in value.owner.arguments]
                fields = {a.name: a.attr for a in ir.DictAttr(arg_attrs[value.arg_number])}
                fields["fxc.shape"] = shape
                arg_attrs[value.arg_number] = ir.DictAttr.get(fields)
                fn.attributes["arg_attrs"] = ir.ArrayAttr.get(arg_attrs)
            bind.erase()
        for name, op in symbols.values():
            fn = op.parent
            while fn is not None and fn.operation.name != "func.func":
                fn = fn.parent
            if fn is not None:
                ranges = {a.name: a.attr for a in ir.DictAttr(fn.attributes["fxc.symbols"])} \
                    if "fxc.symbols" in fn.attributes else {}
                i64 = ir.IntegerType.get_signless(64)
                bounds = [ir.IntegerAttr.get(i64, ir.IntegerAttr(op.attributes[k]).value)
                          for k in ("min_val", "max_val") if k in op.attributes]
                ranges[name] = ir.ArrayAttr.get(bounds)
                fn.attributes["fxc.symbols"] = ir.DictAttr.get({k: v for k, v in ranges.items()})
        for _, op in symbols.values():
            if not list(op.results[0].uses):
                op.erase()
