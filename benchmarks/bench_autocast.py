"""Autocast benchmark: fxc compile-time autocast vs eager and torch.compile
under ``torch.autocast("cpu", torch.bfloat16)``, on CPU, in one process.

Workloads: one fp32 matmul ``x @ w`` (64x512 by a 512x512 parameter: a
bf16 GEMM under autocast), an fp32 MLP (3 linear layers, 512 wide, batch
64) and a transformer block (``nn.TransformerEncoderLayer``, d_model 256,
4 heads, batch 8 x 64 tokens).  Each runs

* eager PyTorch inside ``torch.autocast("cpu", torch.bfloat16)``;
* ``torch.compile`` (Inductor) inside the same autocast;
* ``fxc.compile(model, args, autocast=torch.bfloat16)``.

Before timing, fxc's output is checked against eager's (same dtype, values
within bfloat16 rounding).  Everything runs under ``no_grad``, as inference
does: eager's ``TransformerEncoderLayer`` then takes its fused fast path
(``_transformer_encoder_layer_fwd``, which under CPU autocast returns
bfloat16), and fxc, compiling under ``no_grad`` too, captures that path
(``fxc.frontend.fast_paths``).  Prints median microseconds and ratios.
This is a benchmark script, not a test.

Usage::

    .venv/bin/python benchmarks/bench_autocast.py [--reps 30] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

import fxc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_int8 import measure_us  # noqa: E402  (one timing loop for the benchmarks)

BF16 = torch.bfloat16


class _Matmul(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(512, 512) / 512 ** 0.5)

    def forward(self, x):
        return x @ self.w


def matmul():
    return _Matmul().eval(), (torch.randn(64, 512),)


def mlp():
    model = torch.nn.Sequential(torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512),
                                torch.nn.ReLU(), torch.nn.Linear(512, 128)).eval()
    return model, (torch.randn(64, 512),)


def transformer_block():
    model = torch.nn.TransformerEncoderLayer(256, 4, dim_feedforward=1024, dropout=0.0, batch_first=True).eval()
    return model, (torch.randn(8, 64, 256),)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    ns = parser.parse_args()
    torch.set_num_threads(ns.threads)
    print(f"{'workload':<19}{'eager us':>12}{'inductor us':>14}{'fxc us':>10}{'fxc/eager':>11}{'fxc/ind':>9}")
    for name, make in (("matmul_64x512x512", matmul), ("mlp", mlp), ("transformer_block", transformer_block)):
        model, args = make()
        with torch.no_grad():
            compiled = fxc.compile(model, args, autocast=BF16)
        inductor = torch.compile(model)

        def eager(*a):
            with torch.no_grad(), torch.autocast("cpu", BF16):
                return model(*a)

        def ind(*a):
            with torch.no_grad(), torch.autocast("cpu", BF16):
                return inductor(*a)

        expected = eager(*args)
        actual = compiled(*args)
        assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
        torch.testing.assert_close(actual.float(), expected.float(), atol=0.1, rtol=0.05)
        with torch.no_grad():
            t = measure_us({"eager": lambda: eager(*args), "inductor": lambda: ind(*args),
                            "fxc": lambda: compiled(*args)}, ns.reps)
        te, ti, tf = (t[k][0] for k in ("eager", "inductor", "fxc"))
        print(f"{name:<19}{te:>12.0f}{ti:>14.0f}{tf:>10.0f}{tf / te:>11.2f}{tf / ti:>9.2f}")


if __name__ == "__main__":
    main()
