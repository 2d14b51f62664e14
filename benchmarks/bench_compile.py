"""Compile time and peak memory of compiling a 2 x 1024^2 MLP.

Each measurement runs in a fresh process (peak RSS is per process):

* ``weights as inputs``: the default; the weights are arguments of the code.
* ``freeze=True``: the weights are constants of the code (8 MB of IR).
* ``cached``: the same compile again in a new process with a warm cache
  (``fxc.runtime.cache``): export + import + a cache hit.

    .venv/bin/python benchmarks/bench_compile.py [--fxc-root DIR]

``--fxc-root`` measures another checkout of fxc (e.g. an older commit in a
git worktree) for a before/after comparison; options it lacks are skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

from fxc.runtime import host_cpu

PROBE = r"""
import json, resource, sys, time, torch
import fxc
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Linear(1024, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 1024))
x = torch.randn(8, 1024)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kwargs = json.loads(sys.argv[1])
t0 = time.perf_counter()
c = fxc.compile(m, (x,), **kwargs)
t = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
assert torch.allclose(c(x), m(x), atol=1e-5)
kept = sum(len(v) for v in getattr(c, "_ir", {}).values() if isinstance(v, str))
print(json.dumps({"seconds": t, "peak_mb": peak / 1024, "delta_mb": (peak - base) / 1024, "ir_chars_kept": kept,
                  "from_cache": getattr(c, "from_cache", False)}))
"""


def measure(root: str, kwargs: dict, env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, json.dumps(kwargs)], capture_output=True, text=True, cwd=root,
                         env={**os.environ, "PYTHONPATH": root, **env})
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--fxc-root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ns = p.parse_args()
    cache = tempfile.mkdtemp(prefix="fxc-bench-cache-")
    rows = [
        ("weights as inputs (no cache)", {}, {"FXC_CACHE": "0"}),
        ("freeze=True (no cache)", {"freeze": True}, {"FXC_CACHE": "0"}),
        ("weights as inputs, cold cache", {}, {"FXC_CACHE_DIR": cache}),
        ("weights as inputs, warm cache", {}, {"FXC_CACHE_DIR": cache}),
    ]
    print(f"fxc at {ns.fxc_root}; 2 x Linear(1024, 1024), batch 8; CPU: {host_cpu.model_name()}")
    print(f"{'compile':34s} {'seconds':>8s} {'peak RSS MB':>12s} {'+MB':>8s} {'IR chars kept':>14s}")
    for name, kwargs, env in rows:
        r = measure(ns.fxc_root, kwargs, env)
        if "error" in r:
            print(f"{name:34s} not measured: {r['error']}")
            continue
        print(f"{name:34s} {r['seconds']:8.2f} {r['peak_mb']:12.0f} {r['delta_mb']:8.0f} {r['ir_chars_kept']:14d}"
              + ("  (from cache)" if r["from_cache"] else ""))


if __name__ == "__main__":
    main()
