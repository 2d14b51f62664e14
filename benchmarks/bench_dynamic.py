"""Dynamic shapes: a dynamic compile vs a static one, and compile counts.

1. Per-call time of one ``fxc.compile(..., dynamic_shapes=...)`` against a
   static compile at the same size (the issue's target: within 1.2x), with
   eager PyTorch in the same run, for an MLP and a small GPT-2.
2. How many compiles a sweep over 8 sizes costs: fxc with ``dynamic_shapes``
   (one), ``torch.compile(backend="fxc")`` (Dynamo's automatic dynamic) and
   ``torch.compile`` (Inductor).

    .venv/bin/python benchmarks/bench_dynamic.py [--reps 30]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch._dynamo
from torch._dynamo.utils import counters
from torch.export import Dim

import fxc
from fxc import dynamo
from fxc.runtime import host_cpu

SIZES = [1, 3, 8, 13, 32, 57, 64, 100]


def median_us(fn, reps: int) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def mlp():
    m = torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.GELU(approximate="tanh"), torch.nn.Linear(512, 256))
    return m.eval(), (torch.randn(64, 256),), {"input": {0: Dim("batch", min=1, max=1024)}}


def gpt2():
    import transformers

    cfg = transformers.GPT2Config(vocab_size=1000, n_positions=128, n_embd=64, n_layer=2, n_head=4, use_cache=False,
                                  bos_token_id=0, eos_token_id=1)
    return transformers.GPT2LMHeadModel(cfg).eval(), (torch.randint(0, 1000, (1, 64)),), \
        {"input_ids": {1: Dim("seq", min=2, max=128)}}


def per_call(reps: int) -> None:
    print(f"{'workload':24s} {'eager us':>10s} {'static us':>10s} {'dynamic us':>11s} {'dyn/static':>11s}")
    for name, make in (("mlp 64x256-512-256", mlp), ("gpt2 tiny, seq 64", gpt2)):
        try:
            model, args, shapes = make()
        except ImportError:
            print(f"{name:24s} skipped (transformers not installed)")
            continue
        static = fxc.compile(model, args)
        dynamic = fxc.compile(model, args, dynamic_shapes=shapes)
        with torch.no_grad():
            t_eager = median_us(lambda: model(*args), reps)
        t_static = median_us(lambda: static(*args), reps)
        t_dyn = median_us(lambda: dynamic(*args), reps)
        print(f"{name:24s} {t_eager:10.1f} {t_static:10.1f} {t_dyn:11.1f} {t_dyn / t_static:11.2f}")


def compile_counts() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 8)).eval()
    xs = [torch.randn(n, 32) for n in SIZES]
    fixed = fxc.compile(model, (xs[2],), dynamic_shapes={"input": {0: Dim("batch", min=1)}})
    for x in xs:
        fixed(x)
    rows = [("fxc.compile(dynamic_shapes=...)", 1)]
    for label, backend in (("torch.compile(backend='fxc')", "fxc"), ("torch.compile (Inductor)", "inductor")):
        torch._dynamo.reset()
        counters.clear()
        before = sum(v for k, v in dynamo.compiled_graphs.items() if k.startswith("forward"))
        compiled = torch.compile(model, backend=backend)
        with torch.no_grad():
            for x in xs:
                compiled(x)
        n = counters["stats"]["unique_graphs"]
        if backend == "fxc":
            n = sum(v for k, v in dynamo.compiled_graphs.items() if k.startswith("forward")) - before
        rows.append((label, n))
    print(f"\ncompiles over batch sizes {SIZES}:")
    for label, n in rows:
        print(f"  {label:34s} {n}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--reps", type=int, default=30)
    ns = p.parse_args()
    torch.manual_seed(0)
    print(f"CPU: {host_cpu.model_name()}, threads: {torch.get_num_threads()}")
    per_call(ns.reps)
    compile_counts()


if __name__ == "__main__":
    main()
