"""fxc: an MLIR compiler for PyTorch programs."""

from fxc import config as _config

_config.check_torch()

from fxc.api import CompileError, CompiledModule, ExportOutput, compile, export, load, stages  # noqa: E402

__all__ = ["compile", "export", "load", "stages", "CompiledModule", "ExportOutput", "CompileError"]
