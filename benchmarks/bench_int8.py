"""int8 benchmarks: eager PyTorch vs torch.compile (Inductor) vs fxc, on CPU.

Times, in one process and on the same inputs, three int8 workloads:

* ``gemm``   -- int8 GEMM 512x512x512 through ``out_dtype(aten.mm, int32)``
  (eager runs ``torch._int_mm``);
* ``linear`` -- an int8 linear layer (constant int8 weight) into int32 with
  a dequantizing float epilogue (``* scale + bias``, per output channel);
* ``mlp``    -- a 3-layer int8 MLP: each layer an int8 GEMM into int32,
  dequantize, ReLU, requantize to int8 (the last one stays float).

Before timing, each compiled result is checked against eager: bit-exact for
integer results, and (for float results) bit-exact too, since fxc and eager
evaluate the same float expression in the same order.

Usage::

    .venv/bin/python benchmarks/bench_int8.py [--reps 30] [--threads 2] [--only gemm,mlp]

Prints median times (microseconds) and the ratios fxc/eager and fxc/Inductor,
then the same for the fastest call of each (less sensitive to other load on
the machine; the load average is printed too).  This is a benchmark script,
not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch
from torch._higher_order_ops.out_dtype import out_dtype

import fxc


def _mm_i32(a, b):
    return out_dtype(torch.ops.aten.mm.default, torch.int32, a, b)


class Gemm(torch.nn.Module):
    """int8 x int8 -> int32 GEMM of two inputs."""

    def forward(self, a, b):
        return _mm_i32(a, b)


class Linear(torch.nn.Module):
    """An int8 linear layer (weight stored K x N) with a float epilogue."""

    def __init__(self, k, n, g):
        super().__init__()
        self.w = torch.nn.Buffer(torch.randint(-128, 128, (k, n), dtype=torch.int8, generator=g))
        self.scale = torch.nn.Buffer(torch.rand(n, generator=g) * 1e-3)
        self.bias = torch.nn.Buffer(torch.randn(n, generator=g))

    def forward(self, x):
        return _mm_i32(x, self.w).to(torch.float32) * self.scale + self.bias


def _quantize(x, inv_scale):
    return torch.clamp(torch.round(x * inv_scale), -128, 127).to(torch.int8)


class Mlp(torch.nn.Module):
    """Three int8 layers with dequantize -> ReLU -> requantize between them."""

    def __init__(self, sizes, g):
        super().__init__()
        ws = [torch.randint(-128, 128, (k, n), dtype=torch.int8, generator=g) for k, n in zip(sizes, sizes[1:])]
        self.w1, self.w2, self.w3 = (torch.nn.Buffer(w) for w in ws)
        self.s = (2e-4, 3e-4, 1e-4)
        self.inv_act = 8.0

    def forward(self, x):
        h = torch.relu(_mm_i32(x, self.w1).to(torch.float32) * self.s[0])
        h = torch.relu(_mm_i32(_quantize(h, self.inv_act), self.w2).to(torch.float32) * self.s[1])
        return _mm_i32(_quantize(h, self.inv_act), self.w3).to(torch.float32) * self.s[2]


def workloads():
    """``{name: (module, example_args, eager_reference_fn)}``."""
    g = torch.Generator().manual_seed(0)
    i8 = lambda *shape: torch.randint(-128, 128, shape, dtype=torch.int8, generator=g)
    a, b = i8(512, 512), i8(512, 512)
    lin = Linear(512, 512, g)
    mlp = Mlp((512, 1024, 1024, 512), g)
    x_lin, x_mlp = i8(256, 512), i8(256, 512)
    return {
        "gemm 512^3": (Gemm(), (a, b), lambda: torch._int_mm(a, b)),
        "linear 256x512->512 +deq": (lin, (x_lin,), lambda: lin(x_lin)),
        "mlp 256x512-1024-1024-512": (mlp, (x_mlp,), lambda: mlp(x_mlp)),
    }


def measure_us(fns: dict, reps: int, warmup: int = 3) -> dict:
    """``{name: (median, min)}`` wall time (microseconds) of each ``fns[name]()``.

    The calls are interleaved (one of each per round) so that load from
    other processes slows every contender alike, and the order rotates from
    round to round: the call after a long one finds the OpenMP workers
    asleep (or the caches cold) and pays for waking them, about 100 µs here,
    which a fixed order would charge to one contender alone.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in fns}
    names = list(fns)
    for r in range(reps):
        for name in names[r % len(names):] + names[:r % len(names)]:
            fn = fns[name]
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: (statistics.median(ts) * 1e6, min(ts) * 1e6) for name, ts in times.items()}


def _check(name, what, got, ref):
    if not torch.equal(got, ref):
        diff = (got.double() - ref.double()).abs().max().item()
        sys.exit(f"{name}: {what} result differs from eager (max abs diff {diff})")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=30, help="timed calls per measurement")
    p.add_argument("--threads", type=int, default=2, help="torch and fxc threads")
    p.add_argument("--only", default="", help="comma-separated substrings of workload names")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    rows = []
    for name, (module, inputs, eager) in workloads().items():
        if args.only and not any(s in name for s in args.only.split(",")):
            continue
        ref = eager()
        t0 = time.perf_counter()
        compiled = fxc.compile(module, inputs, target="cpu", freeze=True)  # constant weights, packed once
        t_fxc_compile = time.perf_counter() - t0
        inductor = torch.compile(module, backend="inductor", dynamic=False)
        _check(name, "fxc", compiled(*inputs), ref)
        _check(name, "Inductor", inductor(*inputs), ref)
        with torch.no_grad():
            times = measure_us(
                {"eager": eager, "inductor": lambda: inductor(*inputs), "fxc": lambda: compiled(*inputs)},
                args.reps,
            )
        rows.append((name, times, t_fxc_compile))

    print(f"\nthreads={args.threads} reps={args.reps} torch={torch.__version__} "
          f"cpu_capability={torch.backends.cpu.get_cpu_capability()} loadavg={os.getloadavg()[0]:.2f}")
    for stat, idx in (("median", 0), ("min", 1)):
        head = (f"{'workload':28} {stat + ' eager us':>16} {'inductor us':>12} {'fxc us':>11} "
                f"{'fxc/eager':>10} {'fxc/ind':>8} {'fxc compile s':>14}")
        print(head)
        print("-" * len(head))
        for name, t, tc in rows:
            e, i, f = (t[k][idx] for k in ("eager", "inductor", "fxc"))
            print(f"{name:28} {e:16.1f} {i:12.1f} {f:11.1f} {f / e:10.3f} {f / i:8.3f} {tc:14.2f}")
        print()


if __name__ == "__main__":
    main()
