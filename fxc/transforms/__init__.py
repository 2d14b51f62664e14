"""Target-independent passes, one module each, named after the pass.

Importing this package registers them (``fxc.compiler.passes.PASSES``);
``fxc.transforms.stages`` is the target-independent part of the stage table.
"""

from fxc.transforms import (  # noqa: F401  (registration)
    apply_autocast,
    check_lowered,
    check_torch_ops,
    convert_float_scalars_to_arith,
    fold_constant_transposes,
    fuse_elementwise_ops,
    lower_effects,
    lower_out_dtype,
    lower_symbolic_shapes,
    torch_batch_unbatched_pools,
    torch_narrow_int_operands,
    torch_widen_half_reductions,
    unsigned_matmul_rebuild,
    verify,
)
