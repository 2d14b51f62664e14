"""fxc's passes, one module each, named after the pass.

``PASSES`` maps each pass name (as written in a pipeline) to its class; the
compiler, ``fxc-opt`` and the stage table all read it.
"""

from __future__ import annotations

from fxc.lowering.bufferize_host_calls import BufferizeHostCalls
from fxc.lowering.check_lowered import CheckLowered
from fxc.lowering.convert_memref_copy_to_linalg import ConvertMemrefCopyToLinalg
from fxc.lowering.distinct_results import DistinctResults
from fxc.lowering.emit_c_interface import EmitCInterface
from fxc.lowering.lower_effects import LowerEffects
from fxc.lowering.lower_int8_matmul import LowerInt8Matmul
from fxc.lowering.lower_out_dtype import LowerOutDtype
from fxc.lowering.torch_narrow_int_operands import TorchNarrowIntOperands
from fxc.lowering.unsigned_matmul_rebuild import UnsignedMatmulRebuild
from fxc.lowering.verify import Verify

PASSES = {
    p.name: p
    for p in (
        Verify,
        LowerEffects,
        LowerOutDtype,
        TorchNarrowIntOperands,
        CheckLowered,
        DistinctResults,
        BufferizeHostCalls,
        EmitCInterface,
        LowerInt8Matmul,
        ConvertMemrefCopyToLinalg,
        UnsignedMatmulRebuild,
    )
}


def python_passes() -> dict:
    """``{name: callable(module_op)}`` for the pass manager adapter."""
    return {name: (lambda op, cls=cls: cls().run(op)) for name, cls in PASSES.items()}
