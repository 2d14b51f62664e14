"""fxc: an MLIR compiler for PyTorch programs.

``fxc.load`` and ``fxc.runtime`` need torch alone: a saved artifact runs on a
machine without torch-mlir (a GPU machine that only runs what was compiled
elsewhere).  The compiler's entry points (``compile``, ``export``,
``stages``) import torch-mlir when first used, so ``import fxc`` works on
such a machine and ``fxc.compile`` there raises torch-mlir's ImportError.
"""

import importlib as _importlib

from fxc import config as _config

_config.check_torch(_config.RUNTIME_TORCH_VERSION)

from fxc.errors import CompileError  # noqa: E402
from fxc.runtime.program import load  # noqa: E402

__all__ = ["compile", "export", "load", "stages", "timing", "CompiledModule", "ExportOutput", "CompileError"]

_COMPILER = ("compile", "export", "stages", "timing", "CompiledModule", "ExportOutput")


def __getattr__(name):
    """The compiler's entry points, from ``fxc.api`` (torch-mlir) on first use."""
    if name in _COMPILER:
        value = getattr(_importlib.import_module("fxc.api"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fxc' has no attribute {name!r}")
