"""The CPU backend's passes, one module each, named after the pass.

Importing this package registers them (``fxc.compiler.passes.PASSES``).
"""

from fxc.backends.cpu.passes import (  # noqa: F401  (registration)
    bufferize_host_calls,
    convert_linalg_to_vector,
    convert_memref_copy_to_linalg,
    decompose_conv_to_matmuls,
    fuse_attention,
    fuse_rows,
    distinct_results,
    emit_c_interface,
    expand_f64_to_half,
    indirect_host_calls,
    lower_bf16_matmul,
    lower_int8_matmul,
    pack_transposed_rhs,
    recoverable_checks,
    math_polynomial_approximation,
    results_to_out_params,
    isolate_tm_tensor_buffers,
    sequentialize_parallel_reductions,
)
