"""From the ``ptx`` stage to an artifact: the host plan and the cubins.

The public function of the ``ptx`` stage (bufferized, its results turned
into out-params) is the host plan, in program order: ``gpu.launch_func``
(a launch with its grid, block and arguments), ``func.call`` of a host-call
declaration (an effect, run by ``fxc.runtime.host``), ``memref.alloc`` (a
buffer the runtime allocates), ``memref.copy`` and views.  :func:`host_plan`
turns it into the plain data the runtime reads without MLIR, in the shape of
the Triton backend's plan.  Kernel arguments are buffers (bare device
pointers: ``convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv}``) or scalar
constants.
"""

from __future__ import annotations

import json
from typing import Dict, List

from torch_mlir import ir

from fxc.backends.nvvm import ptx
from fxc.backends.nvvm.passes.module_to_ptx import nvvm_target
from fxc.dialects import host_calls
from fxc.dialects.host_calls import ELEMENT_DTYPES, HOST_PREFIX
from fxc.errors import CompileError, location_of


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


def host_plan(module: ir.Module, entry: str, num_results: int, host_calls: List[dict]) -> dict:
    """The ordered steps of ``entry``: allocations, launches, host calls, copies, views."""
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
        elif op.name == "gpu.launch_func":
            kernel = ir.SymbolRefAttr(op.attributes["kernel"])
            sizes = list(op.operands)[:6]
            args = []
            for v in list(op.operands)[6:]:
                if v in ids:
                    args.append({"buffer": ids[v]})
                elif v in scalars:
                    args.append({"scalar": scalars[v]["value"], "type": scalars[v]["type"]})
                else:
                    raise CompileError("a kernel argument that is neither a buffer nor a constant",
                                       location_of(op.location))
            steps.append({"kind": "launch", "module": str(kernel).split("::")[0].lstrip("@"),
                          "kernel": str(kernel).split("::")[-1].lstrip("@"),
                          "grid": [dim(v, op) for v in sizes[:3]], "block": [dim(v, op) for v in sizes[3:]],
                          "args": args})
        elif op.name == "func.call":
            callee = ir.FlatSymbolRefAttr(op.attributes["callee"]).value
            if not callee.startswith(HOST_PREFIX):
                raise CompileError(f"the host plan cannot call '{callee}'", location_of(op.location))
            steps.append({"kind": "host", "call": calls[callee], "args": [ids[v] for v in op.operands],
                          "outs": [new(r, op) for r in op.results]})
        elif op.name == "memref.copy":
            steps.append({"kind": "copy", "src": ids[op.operands[0]], "dst": ids[op.operands[1]]})
        elif op.name in ("memref.expand_shape", "memref.collapse_shape"):
            steps.append({"kind": "view", "src": ids[op.operands[0]], "dst": new(op.results[0], op)})
        elif op.name == "func.return":
            continue
        else:
            raise CompileError(f"fxc's NVVM backend cannot run '{op.name}' on the host yet",
                               location_of(op.location))
    n = len(block.arguments)
    return {"buffers": buffers, "inputs": list(range(n - num_results)), "outputs": list(range(n - num_results, n)),
            "steps": steps}


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
