"""The OpenMP runtime that JIT-compiled parallel loops call.

``convert-scf-to-openmp`` turns ``scf.parallel`` (the int8 micro-kernel's
panel loop) into ``omp`` ops, which lower to calls of the LLVM/Intel OpenMP
ABI (``__kmpc_fork_call``, ...).  PyTorch's own runtime (libgomp) does not
provide that ABI, so fxc loads ``libiomp5.so`` from the ``intel-openmp``
package into the ExecutionEngine.  Without that package the CPU backend
keeps its loops sequential.

Idle OpenMP threads spin for ``KMP_BLOCKTIME`` ms after a parallel region;
fxc sets a short default so they do not compete with PyTorch's threads.
"""

from __future__ import annotations

import functools
import os
from importlib import metadata
from typing import Optional

#: Spin time (ms) of idle OpenMP threads, unless the user set KMP_BLOCKTIME.
DEFAULT_BLOCKTIME_MS = "1"


@functools.lru_cache(maxsize=None)
def runtime_library() -> Optional[str]:
    """The path of ``libiomp5.so`` from the installed intel-openmp, or None."""
    try:
        files = metadata.files("intel-openmp") or []
    except metadata.PackageNotFoundError:
        return None
    for f in files:
        if f.name == "libiomp5.so":
            path = str(f.locate().resolve())
            return path if os.path.exists(path) else None
    return None


def prepare_environment() -> None:
    """Sets the OpenMP runtime's defaults before it first initialises.

    The thread count follows ``torch.get_num_threads()`` unless
    ``OMP_NUM_THREADS`` is set.
    """
    import torch

    os.environ.setdefault("KMP_BLOCKTIME", DEFAULT_BLOCKTIME_MS)
    os.environ.setdefault("OMP_NUM_THREADS", str(torch.get_num_threads()))
