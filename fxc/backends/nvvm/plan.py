"""From the ``ptx`` stage to an artifact: the host plan and the cubins.

The public function of the ``ptx`` stage (bufferized, its results turned
into out-params) is the host plan, in program order: ``gpu.launch_func``
(a launch with its grid, block and arguments), ``func.call`` of a host-call
declaration (an effect, run by ``fxc.runtime.host``), ``memref.alloc`` (a
buffer the runtime allocates), ``memref.copy`` and views (reshapes; subviews and views of them are
``alias`` steps with their static strides and offset: the runtime makes a
strided torch view, and a kernel taking one gets its base pointer, the
kernel's parameter type carrying the offset and strides).  :func:`host_plan`
turns it into the plain data the runtime reads without MLIR, in the shape of
the Triton backend's plan.  Kernel arguments are buffers (bare device
pointers: ``convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv}``) or scalar
constants.  The plan has the format of :mod:`fxc.runtime.gpu_plan`, shared
with the Triton backend: a launch's ``args`` are the buffers it reads or
writes in place (``outs`` is empty: kernels write buffers the plan
allocated), its ``params`` the kernel's parameters in order; buffers are
reused where lifetimes allow (``gpu_plan.assign_slots``).
"""

from __future__ import annotations

import json
import re
from typing import Dict, List

import numpy as np
import torch
from torch_mlir import ir

from fxc._mlir_compat import ResourceBlobs
from fxc.backends.nvvm import ptx
from fxc.backends.nvvm.passes.module_to_ptx import nvvm_target
from fxc.dialects import host_calls
from fxc.dialects.host_calls import ELEMENT_DTYPES, HOST_PREFIX
from fxc.errors import CompileError, location_of
from fxc.runtime import gpu_plan
from fxc.runtime.torch_ops import dtype_of


def _strided(v: ir.Value) -> bool:
    """A memref whose layout is not the identity (a subview, or a view of one)."""
    return "strided<" in str(ir.MemRefType(v.type).layout)


def _layout(v: ir.Value, op) -> dict:
    """The static strides and offset (elements) of a strided view."""
    mt = ir.MemRefType(v.type)
    strides, offset = mt.get_strides_and_offset()
    if any(mt.is_dynamic_stride_or_offset(x) for x in (*strides, offset)):
        raise CompileError(f"fxc's NVVM backend cannot hold a view of dynamic strides ({v.type})",
                           location_of(op.location))
    return {"strides": list(strides), "offset": offset}


def _buffer(t: ir.Type, where) -> dict:
    mt = ir.MemRefType(t)
    if str(mt.element_type) not in ELEMENT_DTYPES or any(d < 0 for d in mt.shape):
        raise CompileError(f"fxc's NVVM backend cannot hold a {mt} buffer (static shapes only)", location_of(where))
    return {"shape": list(mt.shape), "dtype": ELEMENT_DTYPES[str(mt.element_type)]}


host_call_specs = host_calls.manifest_entries


def _constant(op: ir.Operation):
    attr = op.attributes["value"]
    for cls in (ir.IntegerAttr, ir.FloatAttr):
        try:
            a = cls(attr)
            return a.value, str(a.type)
        except ValueError:
            pass
    return None


def _global_bytes(module: ir.Module, name: str, dtype: str, resources, where) -> bytes:
    """The row-major bytes of ``memref.global @name``'s initial value."""
    glob = next((op.operation for op in module.body.operations if op.operation.name == "memref.global"
                 and ir.StringAttr(op.attributes["sym_name"]).value == name), None)
    attr = glob.attributes["initial_value"] if glob is not None and "initial_value" in glob.attributes else None
    text = str(attr)
    if text.startswith("dense_resource<"):
        blob = resources.get(re.match(r"dense_resource<([^>]+)>", text).group(1))
        if blob is not None:
            return blob
    elif attr is not None and isinstance(attr.maybe_downcast() if hasattr(attr, "maybe_downcast") else attr,
                                         ir.DenseElementsAttr):
        dense = ir.DenseElementsAttr(attr)
        shape, dt = ir.ShapedType(dense.type).shape, dtype_of(dtype)
        if dense.is_splat:
            value = dense.get_splat_value()
            value = value.maybe_downcast() if hasattr(value, "maybe_downcast") else value
            t = torch.full(shape, bool(value.value) if isinstance(value, ir.BoolAttr) else value.value, dtype=dt)
        else:
            t = torch.from_numpy(np.array(dense)).to(dt).reshape(shape)
        return t.reshape(-1).contiguous().view(torch.uint8).numpy().tobytes() if t.numel() else b""
    raise CompileError(f"fxc's NVVM backend cannot read the data of constant '@{name}'", location_of(where))


def host_plan(module: ir.Module, entry: str, num_results: int, host_calls: List[dict],
              files: Dict[str, bytes]) -> dict:
    """The ordered steps of ``entry``: allocations, launches, host calls, copies, views.

    Tensor constants (``memref.get_global``: frozen weights, literals)
    become buffers whose bytes are the artifact file ``const/N.bin`` (added
    to ``files``), read once when the artifact is loaded."""
    resources = ResourceBlobs(module.operation)
    calls = {c["symbol"]: i for i, c in enumerate(host_calls)}
    fn = next(op.operation for op in module.body.operations
              if op.operation.name == "func.func" and ir.StringAttr(op.attributes["sym_name"]).value == entry)
    block = fn.regions[0].blocks[0]
    ids: Dict[ir.Value, int] = {a: i for i, a in enumerate(block.arguments)}
    scalars: Dict[ir.Value, dict] = {}
    buffers = [_buffer(a.type, fn.location) for a in block.arguments]
    steps: List[dict] = []

    def new(v, op):
        ids[v] = len(buffers)
        buffers.append(_buffer(v.type, op.location))
        return ids[v]

    def dim(v, op):
        if v not in scalars:
            raise CompileError("a launch size that is not a constant", location_of(op.location))
        return scalars[v]["value"]

    for op in block.operations:
        op = op.operation
        if op.name == "arith.constant":
            c = _constant(op)
            if c is not None:
                scalars[op.results[0]] = {"value": c[0], "type": c[1]}
        elif op.name in ("memref.alloc", "memref.alloca"):
            steps.append({"kind": "alloc", "buffer": new(op.results[0], op)})
        elif op.name == "memref.dealloc":
            continue
        elif op.name == "memref.get_global":
            b = new(op.results[0], op)
            buffers[b]["const"] = name = f"const/{b}.bin"
            files[name] = _global_bytes(module, ir.FlatSymbolRefAttr(op.attributes["name"]).value,
                                        buffers[b]["dtype"], resources, op.location)
        elif op.name == "gpu.launch_func":
            kernel = ir.SymbolRefAttr(op.attributes["kernel"])
            sizes = list(op.operands)[:6]
            args, params = [], []
            for v in list(op.operands)[6:]:
                if v in ids:
                    if ids[v] not in args:
                        args.append(ids[v])
                    params.append({"arg": args.index(ids[v])})
                    if _strided(v):  # bare pointers: the kernel adds the type's offset to the base
                        params[-1]["offset"] = _layout(v, op)["offset"]
                elif v in scalars:
                    params.append({"scalar": scalars[v]["value"], "type": scalars[v]["type"]})
                else:
                    raise CompileError("a kernel argument that is neither a buffer nor a constant",
                                       location_of(op.location))
            steps.append({"kind": "launch", "module": str(kernel).split("::")[0].lstrip("@"),
                          "kernel": str(kernel).split("::")[-1].lstrip("@"),
                          "grid": [dim(v, op) for v in sizes[:3]], "block": [dim(v, op) for v in sizes[3:]],
                          "args": args, "outs": [], "params": params})
        elif op.name == "func.call":
            callee = ir.FlatSymbolRefAttr(op.attributes["callee"]).value
            if not callee.startswith(HOST_PREFIX):
                raise CompileError(f"the host plan cannot call '{callee}'", location_of(op.location))
            steps.append({"kind": "host", "call": calls[callee], "args": [ids[v] for v in op.operands],
                          "outs": [new(r, op) for r in op.results]})
        elif op.name == "memref.copy":
            steps.append({"kind": "copy", "src": ids[op.operands[0]], "dst": ids[op.operands[1]]})
        elif op.name in ("memref.expand_shape", "memref.collapse_shape", "memref.subview"):
            src, dst = ids[op.operands[0]], new(op.results[0], op)
            if op.name == "memref.subview" or _strided(op.operands[0]) or _strided(op.results[0]):
                buffers[dst].update(_layout(op.results[0], op))
                steps.append({"kind": "alias", "src": src, "dst": dst})
            else:
                steps.append({"kind": "view", "src": src, "dst": dst})
        elif op.name == "func.return":
            continue
        else:
            raise CompileError(f"fxc's NVVM backend cannot run '{op.name}' on the host yet",
                               location_of(op.location))
    n = len(block.arguments)
    outputs = list(range(n - num_results, n))
    plan = {"buffers": buffers, "inputs": list(range(n - num_results)), "outputs": outputs,
            "steps": [{"kind": "alloc", "buffer": o} for o in outputs] + steps}
    gpu_plan.assign_slots(plan)
    return plan


def binaries(module: ir.Module) -> Dict[str, str]:
    """gpu.binary symbol -> its PTX."""
    out = {}
    for op in module.body.operations:
        op = op.operation
        if op.name == "gpu.binary":
            obj = str(ir.ArrayAttr(op.attributes["objects"])[0])
            text = obj[obj.index("assembly = ") + len("assembly = "):-1]
            out[ir.StringAttr(op.attributes["sym_name"]).value] = ir.StringAttr(ir.Attribute.parse(text, context=module.context)).value
    return out


def cubins(module: ir.Module) -> Dict[str, bytes]:
    """``cuda/<module>.{ptx,cubin,json}`` of every gpu.binary, assembled by ptxas."""
    files = {}
    for name, text in binaries(module).items():
        chip = text.split(".target ")[1].split()[0]
        version = text.split(".version ")[1].split()[0]
        files[f"cuda/{name}.ptx"] = text.encode()
        files[f"cuda/{name}.cubin"] = ptx.to_cubin(text, chip, name)
        files[f"cuda/{name}.json"] = json.dumps({"chip": chip, "ptx_isa": version,
                                                 "ptxas": ptx.ptxas_version()}).encode()
    return files


__all__ = ["host_plan", "host_call_specs", "cubins", "binaries", "nvvm_target"]
