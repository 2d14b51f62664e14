"""fxc-isolate-tm-tensor-buffers: ``tm_tensor`` ops get buffers no tensor aliases.

``tm-tensor-bufferize`` (torch-mlir's bufferization of ``tm_tensor`` ops:
scan, sort, topk, scatter, attention) runs before One-Shot Bufferize and
leaves it two kinds of boundary ops, neither of which its analysis can
follow:

* each output is a new ``memref.alloc`` handed back to tensor code as
  ``bufferization.to_tensor``, which One-Shot Bufferize rejects unless it is
  ``restrict``;
* each input is ``bufferization.to_buffer %t``: a buffer One-Shot Bufferize
  may have written over with another value by the time the ``tm_tensor`` op
  reads it (an in-place ``linalg.fill`` into the ``tensor.empty`` that CSE
  merged with ``%t``'s: ``cumsum`` then scans zeros).

torch-mlir's refbackend runs One-Shot Bufferize with ``copy-before-write``
(no in-place writes at all) instead.  fxc keeps in-place bufferization and
isolates these ops: an output ``to_tensor`` whose buffer comes straight from
an allocation viewed once is marked ``restrict`` (nothing else aliases it),
and an input ``to_buffer %t`` reads ``bufferization.alloc_tensor() copy(%t)``,
a copy One-Shot Bufferize places and orders like any tensor read.
"""

from __future__ import annotations

from torch_mlir import ir

from fxc._mlir_compat import ops_named
from fxc.compiler.passes import ModulePass, register


def _is_fresh(buffer: ir.Value) -> bool:
    owner = buffer.owner
    if not isinstance(owner, (ir.Operation, ir.OpView)) or owner.name not in ("memref.alloc", "memref.alloca"):
        return False
    return sum(1 for u in buffer.uses if u.owner.name == "bufferization.to_tensor") == 1


def _feeds_tm_tensor(value: ir.Value) -> bool:
    return any(u.owner.name.startswith("tm_tensor.") for u in value.uses)


@register
class IsolateTmTensorBuffers(ModulePass):
    name = "fxc-isolate-tm-tensor-buffers"
    summary = "Copy tm_tensor inputs and mark their fresh outputs restrict before One-Shot Bufferize"

    def run(self, module_op):
        for op in ops_named(module_op, "bufferization.to_tensor"):
            if "restrict" not in op.attributes and _is_fresh(op.operands[0]):
                op.attributes["restrict"] = ir.UnitAttr.get()
        for op in ops_named(module_op, "bufferization.to_buffer"):
            if _feeds_tm_tensor(op.results[0]):
                self._read_a_copy(op)

    def _read_a_copy(self, to_buffer):
        source = to_buffer.operands[0]
        with to_buffer.location, ir.InsertionPoint(to_buffer):
            copy = ir.Operation.create(
                "bufferization.alloc_tensor", results=[source.type], operands=[source],
                attributes={"operandSegmentSizes": ir.DenseI32ArrayAttr.get([0, 1, 0])},
            )
        to_buffer.operands[0] = copy.result
