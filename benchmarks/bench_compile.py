"""Compile time: where it goes for small models, and peak memory of a large one.

Where the time goes (``fxc.timing``), for a tiny GPT-2 (Hugging Face, 2
layers, d=128, 4 heads, seq 64), an MLP (256 -> 512 -> 256, GELU) and a
small CNN (two 3x3 convolutions, pools, a linear layer): each model is
exported once (``torch.export``, not counted), compiled once to warm the
process, then compiled ``--reps`` times with the compile cache off; the
seconds are the fastest untimed compile, the breakdown that of the fastest
of a few timed ones (a timed compile runs each pass on its own, a little
slower).  Phases under 3 % of the total are summed per stage.

Compile time and peak memory of compiling a 2 x 1024^2 MLP, each
measurement in a fresh process (peak RSS is per process):

* ``weights as inputs``: the default; the weights are arguments of the code.
* ``freeze=True``: the weights are constants of the code (8 MB of IR).
* ``cached``: the same compile again in a new process with a warm cache
  (``fxc.runtime.cache``): export + import + a cache hit.

    .venv/bin/python benchmarks/bench_compile.py [--fxc-root DIR] [--reps 5] [--only gpt2,mlp,cnn,memory]

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

PHASES = r"""
import json, os, sys, time
os.environ["FXC_CACHE"] = "0"
import torch
import fxc
from fxc.api import compile_program
from fxc.frontend.capture import capture


def gpt2():
    import transformers
    cfg = transformers.GPT2Config(vocab_size=1000, n_positions=64, n_embd=128, n_layer=2, n_head=4, use_cache=False,
                                  bos_token_id=0, eos_token_id=1)
    return transformers.GPT2LMHeadModel(cfg).eval(), (torch.randint(0, 1000, (1, 64)),)


def mlp():
    return torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.GELU(), torch.nn.Linear(512, 256)).eval(), \
        (torch.randn(8, 256),)


def cnn():
    m = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                            torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                            torch.nn.Flatten(), torch.nn.Linear(32, 10)).eval()
    return m, (torch.randn(1, 3, 32, 32),)


torch.manual_seed(0)
model, args = globals()[sys.argv[1]]()
reps = int(sys.argv[2])
t0 = time.perf_counter()
program = capture(model, args)
export_s = time.perf_counter() - t0
compile_program(program)  # warm: first-use imports and one-time setup are not a compile's
totals = []
for _ in range(reps):
    t0 = time.perf_counter()
    compile_program(program)
    totals.append(time.perf_counter() - t0)
best = None
for _ in range(max(1, reps // 2)):
    with fxc.timing() as t:
        compile_program(program)
    if best is None or t.root.seconds < best.root.seconds:
        best = t


print(json.dumps({"export_s": export_s, "seconds": min(totals), "timed_total": best.root.seconds,
                  "phases": [[c.name, c.seconds, [[g.name, g.seconds] for g in c.children]]
                             for c in best.root.children]}))
"""

#: Models whose compile-time breakdown is printed (names of PHASES' builders).
BREAKDOWN_MODELS = ("gpt2", "mlp", "cnn")
#: A pass or sub-phase below this share of the total is summed into its stage's "other".
SHOWN_SHARE = 0.03


def run_probe(root: str, script: str, argv: list, env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True, cwd=root,
                         env={**os.environ, "PYTHONPATH": root, **env})
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(root: str, kwargs: dict, env: dict) -> dict:
    return run_probe(root, PROBE, [json.dumps(kwargs)], env)


def print_breakdown(root: str, model: str, reps: int) -> None:
    r = run_probe(root, PHASES, [model, str(reps)], {})
    if "error" in r:
        print(f"{model}: not measured: {r['error']}")
        return
    total = r["timed_total"]
    print(f"\n{model}: compile {r['seconds']:.3f} s (fastest of {reps}; torch.export {r['export_s']:.2f} s not "
          f"counted); breakdown of a timed compile, {total:.3f} s:")
    for name, seconds, children in r["phases"]:
        print(f"  {name:<58} {seconds:7.3f} s {100 * seconds / total:5.1f} %")
        shown = [(n, s) for n, s in children if s >= SHOWN_SHARE * total]
        for n, s in shown:
            print(f"    {n:<56} {s:7.3f} s {100 * s / total:5.1f} %")
        other = sum(s for _, s in children) - sum(s for _, s in shown)
        if shown and other > 0.0005:
            print(f"    {'(' + str(len(children) - len(shown)) + ' others)':<56} {other:7.3f} s {100 * other / total:5.1f} %")
    rest = total - sum(s for _, s, _ in r["phases"])
    print(f"  {'(outside the phases above)':<58} {rest:7.3f} s {100 * rest / total:5.1f} %")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--fxc-root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    p.add_argument("--reps", type=int, default=5, help="compiles per model for the breakdown")
    p.add_argument("--only", default="", help="comma-separated: gpt2, mlp, cnn, memory")
    ns = p.parse_args()
    only = [s for s in ns.only.split(",") if s]
    print(f"fxc at {ns.fxc_root}; CPU: {host_cpu.model_name()}; load average {os.getloadavg()[0]:.2f}")
    for model in BREAKDOWN_MODELS:
        if not only or model in only:
            print_breakdown(ns.fxc_root, model, ns.reps)
    if only and "memory" not in only:
        return
    cache = tempfile.mkdtemp(prefix="fxc-bench-cache-")
    rows = [
        ("weights as inputs (no cache)", {}, {"FXC_CACHE": "0"}),
        ("freeze=True (no cache)", {"freeze": True}, {"FXC_CACHE": "0"}),
        ("weights as inputs, cold cache", {}, {"FXC_CACHE_DIR": cache}),
        ("weights as inputs, warm cache", {}, {"FXC_CACHE_DIR": cache}),
    ]
    print(f"\n2 x Linear(1024, 1024), batch 8, each compile in a fresh process")
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
