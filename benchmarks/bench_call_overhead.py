"""Per-call overhead of a compiled fxc function on small tensors.

Times, in one process, eager PyTorch, torch.compile (Inductor) and fxc on a
tiny program where the work is negligible, so the numbers are the cost of
getting in and out of compiled code.  Also times fxc's layers separately:
the full ``CompiledModule.__call__``, the CPU runtime's ``CpuExecutable``
(input checks, a per-call frame from the pool, output allocation) and the
bare ctypes call.

    .venv/bin/python benchmarks/bench_call_overhead.py
"""

from __future__ import annotations

import statistics
import timeit

import torch

import fxc
from fxc.runtime import host_cpu


def add_one(x, y):
    return x + y


def median_us(fn, number=2000, repeat=15) -> float:
    fn()
    return statistics.median(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main():
    torch.set_num_threads(1)
    x, y = torch.randn(4, 4), torch.randn(4, 4)
    compiled = fxc.compile(add_one, (x, y))
    print(f"CPU: {host_cpu.model_name()} ({', '.join(sorted(host_cpu.features()))}), 1 thread")
    inductor = torch.compile(add_one)
    inductor(x, y)
    assert torch.equal(compiled(x, y), add_one(x, y))

    exe = compiled._exe
    rows = [
        ("eager PyTorch", median_us(lambda: add_one(x, y))),
        ("torch.compile (Inductor)", median_us(lambda: inductor(x, y))),
        ("fxc CompiledModule.__call__", median_us(lambda: compiled(x, y))),
        ("fxc CpuExecutable (no pytree)", median_us(lambda: exe(x, y))),
    ]
    # The bare call reuses the descriptors of the last call's frame: keep that
    # call's output alive, or the kernel would write into freed memory.
    last_out = exe(x, y)
    frame = exe._free[-1]
    rows.append(("fxc bare ctypes call", median_us(lambda: exe._fn(frame.ptr))))
    del last_out
    eager = rows[0][1]
    inductor_t = rows[1][1]
    print(f"{'4x4 f32 add, per call':32s} {'median us':>10s} {'/eager':>8s} {'/inductor':>10s}")
    for name, t in rows:
        print(f"{name:32s} {t:10.2f} {t / eager:8.2f} {t / inductor_t:10.2f}")


if __name__ == "__main__":
    main()
