"""The Triton backend's passes, one module each, named after the pass.

Importing this package registers them (``fxc.compiler.passes.PASSES``).
"""

from fxc.backends.triton.passes import generate_source, outline_kernels  # noqa: F401  (registration)
