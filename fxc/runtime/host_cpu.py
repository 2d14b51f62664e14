"""The host CPU's instruction-set features, as generated code depends on them.

fxc's CPU code is compiled for the host it is compiled on (LLVM's host CPU
model), so the features it may use are part of the compile cache key and of
an artifact's manifest; a host lacking one of them refuses the artifact
rather than dying of SIGILL.
"""

from __future__ import annotations

import functools
import platform
from typing import FrozenSet

#: The ISA extensions that decide which code LLVM and fxc's kernels emit.
RELEVANT = frozenset({
    "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "bmi1", "bmi2", "movbe", "popcnt",
    "avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl", "avx512_vnni", "avx512_bf16",
    "avx512_fp16", "avx512vbmi", "avx512_vbmi2", "avx512ifma", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16",
    "asimd", "sve", "sve2", "bf16", "i8mm",
})


@functools.lru_cache(maxsize=None)
def features() -> FrozenSet[str]:
    """The host's relevant ISA features (from ``/proc/cpuinfo`` on Linux)."""
    flags: set = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    flags.update(value.split())
                    break
    except OSError:
        pass
    return frozenset(flags & RELEVANT)


def model_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``), for benchmark reports."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown"


def arch() -> str:
    """``x86_64``, ``aarch64``..."""
    return platform.machine()


def has(*names: str) -> bool:
    return all(n in features() for n in names)
