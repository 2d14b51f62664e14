"""The NVVM backend: linalg -> gpu -> NVVM -> PTX -> cubin, through MLIR's
own GPU dialects (``target="nvvm"``).

``backend.NvvmBackend`` is the compiler side (stages, passes under
``passes/``, ``ptx.py`` for LLVM IR -> PTX -> cubin, ``plan.py`` for the host
plan); ``runtime.NvvmExecutable`` loads the cubins and runs the plan on a
CUDA device without MLIR (this package's import stays light).
"""
