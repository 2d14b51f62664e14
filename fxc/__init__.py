"""fxc: an MLIR compiler for PyTorch programs."""

from fxc import config as _config

_config.check_torch()

from fxc.api import CompileError, CompiledModule, ExportOutput, compile, export, stages

__all__ = ["compile", "export", "stages", "CompiledModule", "ExportOutput", "CompileError"]
