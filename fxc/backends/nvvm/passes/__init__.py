"""The NVVM backend's passes, one module each, named after the pass.

Importing this package registers them (``fxc.compiler.passes.PASSES``).
"""

from fxc.backends.nvvm.passes import module_to_ptx, verify_mapped  # noqa: F401  (registration)
