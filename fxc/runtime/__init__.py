"""fxc's runtime: what a compiled program is once it has been compiled.

Nothing here imports torch-mlir: a saved artifact loads and runs with torch
alone.  The modules, from the bottom:

| module        | what it holds                                                  |
|---------------|----------------------------------------------------------------|
| ``signature`` | the ABI: roles, dtypes, devices, shapes of inputs and outputs   |
| ``host``      | host calls (effects) run by PyTorch, with per-call state        |
| ``artifact``  | bytes + manifest, saved as one file                             |
| ``cache``     | the on-disk compile cache of artifacts                          |
| ``program``   | a loaded program bound to live state: checks, calls, write-back |
| ``gpu_plan``  | the GPU host plan (Triton and NVVM): format, buffer reuse, executor |
| ``cuda``      | cubins through the CUDA driver API: the one loader and launcher |

Each backend supplies an executable for its artifacts (``RUNTIMES``; more
through the ``fxc.runtimes`` entry-point group).
"""
