"""Both GPU backends on a GPU, from artifacts compiled elsewhere: correctness
against eager, then timings against eager, Inductor and each other.

The GPU machine has torch + triton + a CUDA driver but no torch-mlir, so the
programs are compiled here and carried over::

    # 1. on the compiling machine (torch-mlir, triton's LLVM and ptxas):
    python benchmarks/gpu_check.py compile --out /tmp/fxc-gpu
    # 2. copy /tmp/fxc-gpu and this repository's fxc/ and benchmarks/ over
    #    (fxc needs no install: PYTHONPATH=. is enough there), then:
    PYTHONPATH=. python benchmarks/gpu_check.py run /tmp/fxc-gpu
    # without a GPU, a dry run of the loading path (Triton's interpreter on
    # CPU tensors for the suite; NVVM artifacts report that they need CUDA):
    PYTHONPATH=. python benchmarks/gpu_check.py run /tmp/fxc-gpu --device cpu

``compile`` writes, for each program of ``gpu_suite.PROGRAMS`` and each
target (``triton``, ``nvvm``), ``NAME.TARGET.fxc``, plus the benchmark
programs (``BENCH``: fused elementwise on 64M floats, softmax 8192x8192, a
row sum, fp32 and fp16 GEMM 2048^3) and ``index.json`` (what compiled, and
the located error of what did not).  ``run`` rebuilds each program from
``gpu_suite`` (same seeds: the same weights and inputs), loads the
artifacts with ``fxc.load(path, module)`` (no compiler runs), compares every
output with eager on the device at the suite's tolerance, checks the
effects program's host calls ran once each in order, then times eager,
``torch.compile`` (Inductor) and each artifact on the benchmark programs.
It prints one line per check and exits 1 if any comparison failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpu_suite  # noqa: E402
from bench_triton import timed as _timed  # noqa: E402  (one CUDA timing loop)

TARGETS = ("triton", "nvvm")

#: name -> (function, input shapes and dtype): the figures of issues 12 and 13.
BENCH = {
    "elementwise_64M": (lambda x: torch.relu(x * 2 + 1).sigmoid(), [((64 << 20,), torch.float32)]),
    "softmax_8192x8192": (lambda x: torch.softmax(x, -1), [((8192, 8192), torch.float32)]),
    "row_sum_8192x8192": (lambda x: x.sum(-1), [((8192, 8192), torch.float32)]),
    "gemm_f32_2048": (lambda a, b: a @ b, [((2048, 2048), torch.float32)] * 2),
    "gemm_f16_2048": (lambda a, b: a @ b, [((2048, 2048), torch.float16)] * 2),
}


def _bench_inputs(name, device="cpu"):
    torch.manual_seed(0)
    return tuple(torch.randn(shape, dtype=dtype, device=device) for shape, dtype in BENCH[name][1])


def compile_all(out: str, only=None) -> int:
    import fxc

    os.makedirs(out, exist_ok=True)
    index = {}
    jobs = [(n, lambda n=n: gpu_suite.PROGRAMS[n]()[:2]) for n in gpu_suite.PROGRAMS]
    jobs += [(n, lambda n=n: (gpu_suite.Fn(BENCH[n][0]), _bench_inputs(n))) for n in BENCH]
    jobs = [(n, build) for n, build in jobs if not only or n in only]
    for name, build in jobs:
        for target in TARGETS:
            module, inputs = build()
            try:
                with torch.no_grad():
                    fxc.compile(module.eval(), inputs, target=target).save(os.path.join(out, f"{name}.{target}.fxc"))
                index[f"{name}.{target}"] = "ok"
            except fxc.CompileError as e:
                index[f"{name}.{target}"] = f"refused: {str(e).splitlines()[0]}"
            print(f"{name:28s} {target:7s} {index[f'{name}.{target}']}", flush=True)
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
    return 0


def _flat(x):
    return list(x) if isinstance(x, (tuple, list)) else [x]


def _check_one(fxc, path, name, device) -> str:
    module, inputs, (rtol, atol) = gpu_suite.PROGRAMS[name]()
    module = module.to(device)
    inputs = tuple(t.to(device) for t in inputs)
    with torch.no_grad():
        gpu_suite.LOG.clear()
        expected = _flat(module(*inputs))
        eager_log = list(gpu_suite.LOG)
        loaded = fxc.load(path, module)
        gpu_suite.LOG.clear()
        got = _flat(loaded(*inputs))
    if name == "effects" and gpu_suite.LOG != eager_log:
        return f"FAIL host calls ran as {gpu_suite.LOG}, eager ran {eager_log}"
    worst = 0.0
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e, rtol=rtol, atol=atol)
        if e.numel():
            worst = max(worst, (g.double() - e.double()).abs().max().item())
    return f"ok (max abs error {worst:.3g})"


def run_all(folder: str, device: str) -> int:
    import fxc

    with open(os.path.join(folder, "index.json")) as f:
        index = json.load(f)
    failed = 0
    print(f"device: {torch.cuda.get_device_name() if device == 'cuda' else 'cpu'}; torch {torch.__version__}")
    for name in gpu_suite.PROGRAMS:
        for target in TARGETS:
            status = index.get(f"{name}.{target}", "missing")
            if status == "missing":
                continue  # not compiled (compile --only)
            if status == "ok" and device == "cpu" and target == "nvvm":
                status = "skipped: NVVM kernels need a CUDA device"
            elif status == "ok":
                try:
                    status = _check_one(fxc, os.path.join(folder, f"{name}.{target}.fxc"), name, device)
                except Exception as e:  # noqa: BLE001  (reported, counted, the run goes on)
                    status = f"FAIL {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
                    if os.environ.get("FXC_GPU_CHECK_TRACEBACK"):
                        traceback.print_exc()
            failed += status.startswith("FAIL")
            print(f"{name:28s} {target:7s} {status}", flush=True)
    if device == "cuda":
        _bench(fxc, folder, index)
    print(f"{failed} failed")
    return 1 if failed else 0


def _bench(fxc, folder, index) -> None:
    print(f"\n{'benchmark (ms)':22s} {'eager':>9s} {'inductor':>9s} " + " ".join(f"{t:>9s}" for t in TARGETS))
    for name, (fn, _) in BENCH.items():
        args = _bench_inputs(name, "cuda")
        module = gpu_suite.Fn(fn)
        row = [_timed(module, *args)]
        try:
            row.append(_timed(torch.compile(module), *args))
        except Exception:  # noqa: BLE001  (Inductor unavailable: the column says so)
            row.append(float("nan"))
        for target in TARGETS:
            if index.get(f"{name}.{target}") != "ok":
                row.append(float("nan"))
                continue
            loaded = fxc.load(os.path.join(folder, f"{name}.{target}.fxc"), module)
            ok = all(torch.allclose(g.float(), e.float(), rtol=2e-2, atol=2e-2)
                     for g, e in zip(_flat(loaded(*args)), _flat(module(*args))))
            row.append(_timed(loaded, *args) if ok else float("inf"))  # inf: wrong result
        print(f"{name:22s} " + " ".join(f"{v:9.3f}" for v in row), flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compile", help="compile the suite for both GPU targets (needs torch-mlir)")
    c.add_argument("--out", required=True)
    c.add_argument("--only", nargs="*", help="these programs only (suite or benchmark names)")
    r = sub.add_parser("run", help="run saved artifacts against eager (needs no torch-mlir)")
    r.add_argument("folder")
    r.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    a = p.parse_args(argv)
    if a.cmd == "compile":
        return compile_all(a.out, a.only)
    if a.device == "cuda" and not torch.cuda.is_available():
        print("gpu_check: no CUDA device here; run it on the GPU machine (or --device cpu for a dry run)")
        return 0
    return run_all(a.folder, a.device)


if __name__ == "__main__":
    sys.exit(main())
