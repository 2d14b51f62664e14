"""The NVVM backend's passes, one module each, named after the pass.

Importing this package registers them (``fxc.compiler.passes.PASSES``).
"""

from fxc.backends.nvvm.passes import (  # noqa: F401  (registration)
    block_reductions, interchange_reductions, map_parallel_loops, module_to_ptx, verify_mapped, wrap_serial_code)
