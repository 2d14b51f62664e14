"""The OpenMP runtime that compiled parallel loops run on: PyTorch's.

``convert-scf-to-openmp`` turns ``scf.parallel`` into ``omp`` ops, which
MLIR translates to calls of the LLVM/Intel OpenMP ABI (``__kmpc_fork_call``,
``__kmpc_for_static_init_8u``, ...).  PyTorch runs its own threads on GNU
libgomp, which does not provide that ABI.  Loading a second runtime for fxc
(libiomp5) gave the process two thread pools whose idle threads spin against
each other: fxc's loops ran 2x faster alone and slower than single-threaded
next to PyTorch's.  So fxc links the few ``__kmpc`` entries its code calls,
implemented on libgomp (``kmpc_on_gomp.c``), into every shared object, and
its loops run on PyTorch's thread team, sized by ``torch.set_num_threads``.
"""

from __future__ import annotations

import ctypes
import functools
import os
from typing import Optional

#: The C source linked into every shared object whose code runs parallel loops.
SHIM_SOURCE = os.path.join(os.path.dirname(__file__), "kmpc_on_gomp.c")

#: The ``__kmpc`` entries the shim defines (the JIT that compiles a module
#: must resolve them; the shared object binds them to the shim's).
KMPC_SYMBOLS = (
    "__kmpc_fork_call",
    "__kmpc_global_thread_num",
    "__kmpc_barrier",
    "__kmpc_for_static_fini",
    "__kmpc_for_static_init_4",
    "__kmpc_for_static_init_4u",
    "__kmpc_for_static_init_8",
    "__kmpc_for_static_init_8u",
)


@functools.lru_cache(maxsize=None)
def runtime_library() -> Optional[str]:
    """The path of the libgomp PyTorch loaded, or None when PyTorch runs
    without OpenMP (then fxc keeps its loops sequential)."""
    import torch

    if not torch.backends.openmp.is_available():
        return None
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split(maxsplit=5)[-1].strip()
                if os.path.basename(path).startswith("libgomp") and os.path.exists(path):
                    return path
    except OSError:
        pass
    return None


@functools.lru_cache(maxsize=None)
def load_runtime() -> bool:
    """Makes libgomp's symbols visible to the shared objects loaded after
    (the same library instance PyTorch uses: dlopen of a loaded path
    returns it).  False when there is none."""
    path = runtime_library()
    if path is None:
        return False
    ctypes.CDLL(path, mode=os.RTLD_NOW | os.RTLD_GLOBAL)
    return True
