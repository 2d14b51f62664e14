"""fp32 CPU benchmarks: eager PyTorch vs torch.compile (Inductor) vs fxc.

Times, in one process and on the same inputs:

* ``gemm``      -- fp32 GEMM 512x512x512;
* ``bmm``       -- fp32 bmm 16 x (128x64 @ 64x128);
* ``fma_relu``  -- relu(a * b + c) on 4M f32;
* ``softmax``   -- softmax over the last dim of 1024x1024;
* ``layer_norm``-- LayerNorm(1024) on 1024x1024;
* ``mlp``       -- Linear 512->1024, ReLU, 1024->1024, ReLU, 1024->10 on a
  batch of 64 (weights frozen into the program);
* ``encoder``   -- nn.TransformerEncoderLayer d=256, 4 heads, tanh GELU,
  seq 128, batch 4 (the issue's transformer block);
* ``conv2d``    -- Conv2d 3x3 64->64 on 1x64x56x56;
* ``resnet_block`` -- torchvision's ResNet basic block (conv-BN-ReLU-conv-BN,
  residual, ReLU; eval BN with random statistics) at 64 channels, 1x64x56x56;
* ``sdpa``/``sdpa_causal`` -- scaled_dot_product_attention on B=4, H=8,
  L=S=256, D=64, without a mask and with ``is_causal=True``;
* ``gpt2``/``bert`` -- Hugging Face GPT-2 and BERT from small configs
  (2 layers, d=128, seq 128), when ``transformers`` is installed.

The last line is the geometric mean of fxc/Inductor over the workloads run.

fxc compiles with ``freeze=True`` and its default ``Options`` (vectorized for
the host's SIMD width); ``--baseline`` adds a column with
``Options(vector_bits=0)``, the scalar loops of ``convert-linalg-to-loops``
(slow: the GEMMs take a third of a second per call).  Each compiled result is
checked against eager first (float tolerance: the vectorized code
reassociates sums).

Usage::

    .venv/bin/python benchmarks/bench_cpu.py [--reps 30] [--threads 2] [--only gemm,mlp] [--baseline]

Prints median microseconds per call (calls interleaved, one of each per
round) and the ratios fxc/eager and fxc/Inductor.  A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import time

import torch

import fxc
from fxc.backends.cpu.backend import CpuBackend
from fxc.runtime import host_cpu
from fxc.testing.models import BasicBlock, randomize_batch_norms

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_int8 import measure_us as _interleaved  # noqa: E402  (one timing loop for the benchmarks)


def _mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(512, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 1024),
                               torch.nn.ReLU(), torch.nn.Linear(1024, 10)).eval()


def workloads():
    g = torch.Generator().manual_seed(0)

    def r(*shape):
        return torch.randn(*shape, generator=g)

    return [
        ("gemm", lambda a, b: torch.matmul(a, b), (r(512, 512), r(512, 512))),
        ("bmm", lambda a, b: torch.bmm(a, b), (r(16, 128, 64), r(16, 64, 128))),
        ("fma_relu", lambda a, b, c: torch.relu(a * b + c), (r(4 << 20), r(4 << 20), r(4 << 20))),
        ("softmax", lambda x: torch.softmax(x, -1), (r(1024, 1024),)),
        ("layer_norm", torch.nn.LayerNorm(1024).eval(), (r(1024, 1024),)),
        ("mlp", _mlp(), (r(64, 512),)),
        ("encoder", _encoder(), (r(4, 128, 256),)),
        ("conv2d", torch.nn.Conv2d(64, 64, 3, padding=1).eval(), (r(1, 64, 56, 56),)),
        ("resnet_block", _resnet_block(), (r(1, 64, 56, 56),)),
        ("sdpa", _sdpa(False), (r(4, 8, 256, 64), r(4, 8, 256, 64), r(4, 8, 256, 64))),
        ("sdpa_causal", _sdpa(True), (r(4, 8, 256, 64), r(4, 8, 256, 64), r(4, 8, 256, 64))),
        *_hugging_face(),
    ]


def _resnet_block():
    torch.manual_seed(0)
    return randomize_batch_norms(BasicBlock(64), spread=0.1)


def _sdpa(causal: bool):
    def attention(q, k, v):
        return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
    return attention


def _encoder():
    torch.manual_seed(0)
    gelu = torch.nn.GELU(approximate="tanh")
    return torch.nn.TransformerEncoderLayer(256, 4, dim_feedforward=1024, activation=gelu, batch_first=True,
                                            dropout=0.0).eval()


def _hugging_face():
    try:
        import transformers
    except ImportError:
        return []
    torch.manual_seed(0)
    ids = torch.randint(0, 1000, (1, 128), generator=torch.Generator().manual_seed(0))
    gpt2 = transformers.GPT2LMHeadModel(transformers.GPT2Config(
        vocab_size=1000, n_positions=128, n_embd=128, n_layer=2, n_head=4, use_cache=False,
        bos_token_id=0, eos_token_id=1)).eval()
    bert = transformers.BertModel(transformers.BertConfig(
        vocab_size=1000, hidden_size=128, num_hidden_layers=2, num_attention_heads=4, intermediate_size=512,
        max_position_embeddings=128)).eval()

    def logits(model):
        return lambda x: model(x).logits

    def hidden(model):
        return lambda x: model(x).last_hidden_state

    return [("gpt2", logits(gpt2), (ids,)), ("bert", hidden(bert), (ids,))]


def measure_us(fns: dict, reps: int) -> dict:
    """``{name: median µs}``, calls interleaved (``bench_int8.measure_us``)."""
    return {name: median for name, (median, _) in _interleaved(fns, reps).items()}


def _check(name, what, got, ref):
    if not torch.allclose(got, ref, rtol=1e-3, atol=1e-3):
        diff = (got - ref).abs().max().item()
        sys.exit(f"{name}: {what} result differs from eager (max abs diff {diff})")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=30, help="timed rounds per workload")
    p.add_argument("--threads", type=int, default=2, help="torch and fxc threads")
    p.add_argument("--only", default="", help="comma-separated substrings of workload names")
    p.add_argument("--baseline", action="store_true", help="also time fxc with Options(vector_bits=0)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    cpu = CpuBackend.Options()
    print(f"CPU: {host_cpu.model_name()}; fxc vector_bits={cpu.vector_bits} openmp={cpu.openmp}; "
          f"threads={args.threads}; load average {os.getloadavg()[0]:.2f}")
    only = [s for s in args.only.split(",") if s]
    cols = ["eager", "inductor", "fxc"] + (["fxc_loops"] if args.baseline else [])
    print(f"{'workload':<11}" + "".join(f"{c + ' µs':>14}" for c in cols)
          + f"{'fxc/eager':>10}{'fxc/ind':>9}{'compile s':>10}")
    ratios = []
    for name, module, inputs in workloads():
        if only and not any(s in name for s in only):
            continue
        with torch.no_grad():
            ref = module(*inputs)
            t0 = time.perf_counter()
            compiled = fxc.compile(module, inputs, target="cpu", freeze=True)
            t_compile = time.perf_counter() - t0
            _check(name, "fxc", compiled(*inputs), ref)
            inductor = torch.compile(module, backend="inductor", dynamic=False)
            _check(name, "inductor", inductor(*inputs), ref)
            fns = {"eager": lambda: module(*inputs), "inductor": lambda: inductor(*inputs),
                   "fxc": lambda: compiled(*inputs)}
            if args.baseline:
                loops = fxc.compile(module, inputs, target="cpu", freeze=True,
                                    options=dataclasses.replace(cpu, vector_bits=0))
                _check(name, "fxc_loops", loops(*inputs), ref)
                fns["fxc_loops"] = lambda: loops(*inputs)
            t = measure_us(fns, args.reps)
        print(f"{name:<11}" + "".join(f"{t[c]:>14,.0f}" for c in cols)
              + f"{t['fxc'] / t['eager']:>10.2f}{t['fxc'] / t['inductor']:>9.2f}{t_compile:>10.2f}", flush=True)
        ratios.append(t["fxc"] / t["inductor"])
    if ratios:
        print(f"geomean fxc/inductor over {len(ratios)} workloads: {math.prod(ratios) ** (1 / len(ratios)):.2f}")


if __name__ == "__main__":
    main()
