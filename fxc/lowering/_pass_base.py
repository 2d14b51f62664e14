"""What every fxc pass shares: a name, a summary, and failure with a location."""

from __future__ import annotations

from torch_mlir import ir

from fxc.errors import CompileError, location_of


class PassFailure(CompileError):
    """Raised by a pass; carries the location of the op that failed."""


class ModulePass:
    name = ""
    summary = ""

    def run(self, module_op: ir.Operation) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def fail(self, op: ir.Operation, message: str) -> PassFailure:
        return PassFailure(message, location_of(op.location))


def public_funcs(module_op: ir.Operation):
    for op in module_op.regions[0].blocks[0].operations:
        if op.operation.name == "func.func" and "sym_visibility" not in op.attributes:
            yield op.operation


def funcs_with_body(module_op: ir.Operation):
    for op in module_op.regions[0].blocks[0].operations:
        if op.operation.name == "func.func" and len(op.regions[0].blocks) > 0:
            yield op.operation
