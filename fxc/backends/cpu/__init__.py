"""The CPU backend: bufferize, lower to LLVM, build a shared object, run it.

``backend.CpuBackend`` is the compiler side (stages, passes under
``passes/``, the int8 micro-kernel); ``runtime.CpuExecutable`` loads and
calls an artifact without MLIR (this package's import stays light so that
loading needs no torch-mlir).
"""
