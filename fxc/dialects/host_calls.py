"""Host calls: how compiled code calls back into PyTorch.

An op fxc does not compile itself runs in the host runtime
(``fxc/backends/cpu/host.py``): an ordered effect (``fxc.with_effects``,
lowered by fxc-lower-effects) or a mutating custom op
(``auto_functionalized_v2``, imported straight into this form), or a custom
op that mutates nothing and that torch-mlir has no op for.  Compiled
code calls a private declaration that says what the host must do::

    func.func private @fxc_host_0(!torch.vtensor<[3],f32>, !torch.vtensor<[3],f32>)
        -> !torch.vtensor<[3],f32>
        attributes {fxc.op = "mylib.inplace_add.default",
                    fxc.args = [{tensor = 0 : i64}, {base = 0 : i64}],
                    fxc.bases = [1 : i64], llvm.emit_c_interface}

``fxc.op`` is the PyTorch overload to call.  ``fxc.args`` has one entry per
argument of its schema, in order:

* ``{tensor = i}``: the call's ``i``-th operand;
* ``{scalar = i}``: ``.item()`` of the call's ``i``-th operand, a 0-d tensor
  (an int/float/bool the program computes, e.g. from ``.item()``);
* ``{value = c}``: a constant (string, integer, float, bool, list; a unit
  attribute for None);
* ``{object = "name"}``: the program's script object (torchbind) ``name``;
* ``{base = k}``: a mutable argument, the ``k``-th operand listed in
  ``fxc.bases``; with ``size``/``stride``/``offset`` it is that
  ``as_strided`` view of it, with ``slice = [dim, start, end]`` that slice;
* an array of ``base`` entries: a mutable list of tensors.

``fxc.dtypes`` (added by fxc-lower-effects) lists the PyTorch dtypes of the
tensor operands then results (``"si8"``, ``"ui8"``, ``"f32"``...): the
backend's builtin types are signless, so int8 and uint8 look alike there.

``fxc.bases`` (optional) lists the operands the op mutates.  The host runs the
op as PyTorch's ``auto_functionalized_v2`` does: on copies of those bases,
with each mutable argument regenerated as its view of its copy.  The call's
results are the op's non-None tensor results, then the mutated copies of the
bases, in ``fxc.bases`` order.  The host never hands compiled code's buffers
to Python code: every tensor operand is copied first, so an op may keep what
it is given (``log.append(x)``) and cannot write compiled memory.
"""

from __future__ import annotations

from typing import Optional, Sequence

from torch_mlir import ir
from torch_mlir.dialects import func

from fxc.errors import CompileError, location_of
from fxc.runtime import host
from fxc.runtime.torch_ops import dtype_name

#: Prefix of host-call declaration names.
HOST_PREFIX = "fxc_host_"
#: Marks a ``torch.constant.str`` that names a script object, not a string.
OBJECT_ATTR = "fxc.object"


def to_attr(value) -> ir.Attribute:
    """The ``fxc.args`` attribute of a Python constant; raises TypeError."""
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
    if isinstance(value, (list, tuple)):
        return ir.ArrayAttr.get([to_attr(v) for v in value])
    raise TypeError(f"{type(value).__name__} {value!r} is not a host-call constant")


def entry(**fields) -> ir.Attribute:
    """One ``fxc.args`` entry, e.g. ``entry(tensor=0)``."""
    return ir.DictAttr.get({k: v if isinstance(v, ir.Attribute) else to_attr(v) for k, v in fields.items()})


def unique_name(taken) -> str:
    """The first ``fxc_host_<n>`` not in ``taken`` (a set or symbol table)."""
    n = 0
    while f"{HOST_PREFIX}{n}" in taken:
        n += 1
    return f"{HOST_PREFIX}{n}"


def declare(
    module_body: ir.Block,
    name: str,
    op_name: str,
    args: Sequence[ir.Attribute],
    operand_types: Sequence[ir.Type],
    result_types: Sequence[ir.Type],
    *,
    bases: Optional[Sequence[int]] = None,
) -> func.FuncOp:
    """Creates a host-call declaration at the start of ``module_body``.

    Uses the current location (``with loc:``).
    """
    decl = func.FuncOp(
        name,
        ir.FunctionType.get(list(operand_types), list(result_types)),
        visibility="private",
        ip=ir.InsertionPoint.at_block_begin(module_body),
    )
    decl.attributes["fxc.op"] = ir.StringAttr.get(op_name)
    decl.attributes["fxc.args"] = ir.ArrayAttr.get(list(args))
    if bases:
        decl.attributes["fxc.bases"] = to_attr(list(bases))
    decl.attributes["llvm.emit_c_interface"] = ir.UnitAttr.get()
    return decl


def args_entry(spec) -> ir.Attribute:
    """An ``fxc.args`` entry from its Python form: a dict of fields, or a
    list of them (a mutable list of tensors)."""
    if isinstance(spec, list):
        return ir.ArrayAttr.get([args_entry(s) for s in spec])
    return entry(**spec)


#: PyTorch dtype names of the backend's (signless) element types.
ELEMENT_DTYPES = {"f32": "float32", "f64": "float64", "f16": "float16", "bf16": "bfloat16", "i1": "bool",
                  "i8": "int8", "i16": "int16", "i32": "int32", "i64": "int64"}


def _cast(cls, attr: ir.Attribute):
    try:
        return cls(attr)
    except ValueError:
        return None


def attr_value(attr: ir.Attribute):
    """The plain-data value of an ``fxc.args`` attribute (dicts, lists,
    numbers, strings, None)."""
    if (d := _cast(ir.DictAttr, attr)) is not None:
        return {a.name: attr_value(a.attr) for a in d}
    for cls in (ir.BoolAttr, ir.IntegerAttr, ir.FloatAttr, ir.StringAttr):
        if (v := _cast(cls, attr)) is not None:
            return v.value
    if (arr := _cast(ir.ArrayAttr, attr)) is not None:
        return [attr_value(a) for a in arr]
    if _cast(ir.UnitAttr, attr) is not None:
        return None
    raise CompileError(f"unexpected host-call attribute {attr}")


def manifest_entry(decl: ir.Operation, *, symbol: str, types: Sequence, num_inputs: int) -> dict:
    """A host-call declaration as the runtime's plain data (``fxc.runtime.host.spec``).

    Args:
        decl: the declaration (any stage; it carries the ``fxc.*`` attributes).
        symbol: what the backend's code calls it by.
        types: shaped types of its operands then results, in the backend's form.
        num_inputs: how many of ``types`` are operands.
    """
    from fxc.dialects.torch_types import torch_dtype

    attrs = decl.attributes
    if "fxc.dtypes" in attrs:  # recorded by fxc-lower-effects: int8 and uint8 differ there
        dtypes = [dtype_name(torch_dtype(attr_value(a))) for a in ir.ArrayAttr(attrs["fxc.dtypes"])]
    else:
        dtypes = [ELEMENT_DTYPES[str(t.element_type)] for t in types]
    return host.spec(
        symbol, ir.StringAttr(attrs["fxc.op"]).value, [attr_value(a) for a in ir.ArrayAttr(attrs["fxc.args"])],
        dtypes=dtypes, num_inputs=num_inputs, ranks=[t.rank for t in types],
        bases=attr_value(attrs["fxc.bases"]) if "fxc.bases" in attrs else [], location=location_of(decl.location),
    )


def manifest_entries(module: ir.Module) -> list:
    """The manifest entries of a module's host-call declarations while they
    are still ``func.func`` (tensor or memref types), called by their names."""
    entries = []
    for op in module.body.operations:
        op = op.operation
        if op.name != "func.func" or "fxc.op" not in op.attributes:
            continue
        ftype = ir.FunctionType(ir.TypeAttr(op.attributes["function_type"]).value)
        types = [ir.ShapedType(t) for t in list(ftype.inputs) + list(ftype.results)]
        entries.append(manifest_entry(op, symbol=ir.StringAttr(op.attributes["sym_name"]).value,
                                      types=types, num_inputs=len(ftype.inputs)))
    return entries
