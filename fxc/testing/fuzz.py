"""Differential testing: seeded random PyTorch programs, fxc against eager.

    python -m fxc.testing.fuzz --seed 0 --count 1000 [--batch 25] [-v]

Program ``i`` of seed ``s`` is drawn from ``random.Random(f"{s}:{i}")``, so
any failure is reproduced by its two numbers (``--only I``).  A program is
a few inputs (float32/float16/bfloat16/int64/int32/int8/bool, shapes that
broadcast against each other) and 3-8 steps drawn from elementwise ops with
broadcasting, activations, reductions, matmul/bmm, views, cat/stack,
where, softmax, layer_norm and casts.  Programs eager rejects are redrawn.
Each batch runs in a child process, so a crash (a segfault in the compiler)
is reported as one, naming the program, instead of ending the run.

Outcomes: ``ok``; ``mismatch`` (a wrong answer: a bug); ``compile-error``
(a located CompileError: fxc refused the program); ``error`` (any other
exception: a bug); ``crash`` (the child died: a bug).  The exit status is 1
if any outcome but ``ok`` and ``compile-error`` occurred.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import zlib
from typing import List

import torch

FLOATS = (torch.float32, torch.float16, torch.bfloat16)
INTS = (torch.int64, torch.int32, torch.int8)
DTYPES = FLOATS * 3 + INTS + (torch.bool,)

_BINARY = ("add", "sub", "mul", "div", "maximum", "minimum")
_UNARY_FLOAT = ("relu", "sigmoid", "tanh", "gelu", "silu", "exp", "neg", "abs")
_UNARY_ANY = ("neg", "abs", "relu")
_STEP_KINDS = ("binary", "binary", "unary", "reduce", "matmul", "view", "cat", "where", "softmax", "layer_norm", "cast")


# -- drawing a program ----------------------------------------------------------


class Program:
    """Inputs (shape, dtype) and steps, each ``(kind, operand indices, params)``."""

    def __init__(self, inputs, steps, outputs):
        self.inputs, self.steps, self.outputs = inputs, steps, outputs

    def example_inputs(self, seed: str):
        g = torch.Generator().manual_seed(zlib.crc32(seed.encode()))
        out = []
        for shape, dtype in self.inputs:
            if dtype == torch.bool:
                out.append(torch.rand(shape, generator=g) > 0.5)
            elif dtype.is_floating_point:
                out.append(torch.randn(shape, generator=g).to(dtype))
            else:
                out.append(torch.randint(-8, 8, shape, generator=g).to(dtype))
        return out

    def __call__(self, *args):
        values = list(args)
        for kind, operands, params in self.steps:
            values.append(_STEPS[kind](*[values[i] for i in operands], **params))
        return tuple(values[i] for i in self.outputs)

    def source(self) -> str:
        lines = [f"inputs: {[(list(s), str(d)) for s, d in self.inputs]}"]
        n = len(self.inputs)
        for j, (kind, operands, params) in enumerate(self.steps):
            lines.append(f"v{n + j} = {kind}({', '.join(f'v{i}' for i in operands)}, {params})")
        lines.append(f"return {', '.join(f'v{i}' for i in self.outputs)}")
        return "\n".join(lines)


def _binary(a, b, op):
    return getattr(torch, op)(a, b)


def _unary(a, op):
    if op in ("relu", "gelu", "silu"):
        return getattr(torch.nn.functional, op)(a)
    return getattr(torch, op)(a)


def _reduce(a, op, dim, keepdim):
    return getattr(torch, op)(a, dim=dim, keepdim=keepdim) if op != "amax" else torch.amax(a, dim=dim, keepdim=keepdim)


def _matmul(a, transpose):
    b = a.transpose(-1, -2) if transpose else a
    return torch.bmm(a, b.transpose(-1, -2)) if a.dim() == 3 and not transpose else a @ b


def _view(a, op, dim):
    if op == "flatten":
        return a.reshape(-1)
    if op == "unsqueeze":
        return a.unsqueeze(dim)
    if op == "transpose":
        return a.transpose(0, -1)
    if op == "slice":
        return a[..., : max(1, a.shape[-1] // 2)]
    return a.reshape(list(reversed(a.shape)))


def _cat(a, b, op, dim):
    return torch.cat([a, b], dim) if op == "cat" else torch.stack([a, b], dim)


def _where(a, b):
    return torch.where(a > b, a, b)


def _softmax(a, dim):
    return torch.softmax(a, dim)


def _layer_norm(a):
    return torch.nn.functional.layer_norm(a, a.shape[-1:])


def _cast(a, dtype):
    dtype = getattr(torch, dtype)
    if a.dtype.is_floating_point and not dtype.is_floating_point and dtype != torch.bool:
        a = a.clamp(-100, 100)  # out-of-range float -> int is undefined
    return a.to(dtype)


_STEPS = {
    "binary": _binary, "unary": _unary, "reduce": _reduce, "matmul": _matmul, "view": _view,
    "cat": _cat, "where": _where, "softmax": _softmax, "layer_norm": _layer_norm, "cast": _cast,
}


def _draw_shape(r: random.Random, base):
    return tuple(d if r.random() < 0.7 else 1 for d in base[r.randint(0, len(base) - 1):])


def draw(r: random.Random) -> Program:
    """A random program eager may or may not accept (see :func:`generate`)."""
    base = tuple(r.randint(1, 5) for _ in range(r.randint(1, 3)))
    inputs = [(_draw_shape(r, base) or base, r.choice(DTYPES)) for _ in range(r.randint(1, 3))]
    shapes = [s for s, _ in inputs]
    dtypes = [d for _, d in inputs]
    steps = []
    for _ in range(r.randint(3, 8)):
        i = r.randrange(len(shapes))
        kind = r.choice(_STEP_KINDS)
        operands, params = [i], {}
        if kind in ("binary", "cat"):
            operands.append(r.randrange(len(shapes)))
            params = {"op": r.choice(_BINARY)} if kind == "binary" else {"op": r.choice(("cat", "stack")), "dim": 0}
        elif kind == "where":
            operands.append(r.randrange(len(shapes)))
        elif kind == "unary":
            params = {"op": r.choice(_UNARY_FLOAT if dtypes[i].is_floating_point else _UNARY_ANY)}
        elif kind == "reduce":
            params = {"op": r.choice(("sum", "mean", "amax")), "dim": -1, "keepdim": r.random() < 0.5}
        elif kind == "matmul":
            params = {"transpose": r.random() < 0.5}
        elif kind == "view":
            params = {"op": r.choice(("flatten", "unsqueeze", "transpose", "slice", "reverse")), "dim": 0}
        elif kind == "softmax":
            params = {"dim": -1}
        elif kind == "cast":
            params = {"dtype": str(r.choice(DTYPES)).replace("torch.", "")}
        steps.append((kind, operands, params))
        shapes.append(None)
        dtypes.append(None)
        # Shapes and dtypes of new values are found by running eagerly.
        shapes[-1], dtypes[-1] = _infer(inputs, steps)
    outputs = sorted({len(shapes) - 1, r.randrange(len(inputs), len(shapes))})
    return Program(inputs, steps, outputs)


def _infer(inputs, steps):
    p = Program(inputs, steps, [len(inputs) + len(steps) - 1])
    try:
        (v,) = p(*[torch.zeros(s, dtype=d) for s, d in inputs])
        return tuple(v.shape), v.dtype
    except Exception:
        return (), torch.float32  # eager rejects it: generate() redraws


def generate(seed: int, index: int) -> Program:
    """Program ``index`` of ``seed``: the first draw eager runs."""
    r = random.Random(f"{seed}:{index}")
    while True:
        p = draw(r)
        try:
            outs = p(*p.example_inputs(f"{seed}:{index}"))
        except Exception:
            continue
        if all(o.dim() > 0 and o.numel() > 0 for o in outs):
            return p


# -- checking -------------------------------------------------------------------


def _tolerance(dtype):
    if dtype in (torch.float16, torch.bfloat16):
        return dict(rtol=2e-2, atol=2e-2)
    if dtype.is_floating_point:
        return dict(rtol=1e-4, atol=1e-5)
    return dict(rtol=0, atol=0)


def check(seed: int, index: int) -> dict:
    """Compiles program ``index`` of ``seed`` with fxc and compares it with eager."""
    import fxc

    p = generate(seed, index)
    args = p.example_inputs(f"{seed}:{index}")
    expected = p(*args)
    result = {"seed": seed, "index": index}
    try:
        actual = fxc.compile(p, args)(*args)
    except fxc.CompileError as e:
        return {**result, "outcome": "compile-error", "detail": str(e).splitlines()[0], "program": p.source()}
    except Exception as e:
        return {**result, "outcome": "error", "detail": f"{type(e).__name__}: {e}"[:500], "program": p.source()}
    for a, e in zip(actual, expected):
        try:
            assert a.dtype == e.dtype and a.shape == e.shape, f"{a.dtype}{list(a.shape)} != {e.dtype}{list(e.shape)}"
            torch.testing.assert_close(a, e, equal_nan=True, **_tolerance(e.dtype))
        except AssertionError as err:
            return {**result, "outcome": "mismatch", "detail": str(err)[:500], "program": p.source()}
    return {**result, "outcome": "ok"}


def _child(seed: int, indices: List[int]) -> None:
    for i in indices:
        print(json.dumps(check(seed, i)), flush=True)


def run_batch(seed: int, indices: List[int], timeout: float = 600) -> List[dict]:
    """Checks ``indices`` in a child process; a program that kills it is a crash."""
    cmd = [sys.executable, "-m", "fxc.testing.fuzz", "--child", "--seed", str(seed), "--indices", ",".join(map(str, indices))]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    done = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 and len(done) < len(indices):
        crashed = indices[len(done)]
        done.append({"seed": seed, "index": crashed, "outcome": "crash",
                     "detail": f"exit status {proc.returncode}: {proc.stderr.strip()[-300:]}",
                     "program": generate(seed, crashed).source()})
        rest = indices[len(done):]
        if rest:
            done += run_batch(seed, rest, timeout)
    return done


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fxc.testing.fuzz", description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--batch", type=int, default=25)
    ap.add_argument("--only", type=int, default=None, help="check program ONLY of the seed (in this process)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--indices", default="", help=argparse.SUPPRESS)
    ap.add_argument("-v", "--verbose", action="store_true")
    ns = ap.parse_args(argv)
    if ns.child:
        _child(ns.seed, [int(i) for i in ns.indices.split(",") if i])
        return 0
    if ns.only is not None:
        print(generate(ns.seed, ns.only).source())
        print(json.dumps(check(ns.seed, ns.only), indent=1))
        return 0
    counts, bad = {}, 0
    indices = list(range(ns.start, ns.start + ns.count))
    for b in range(0, len(indices), ns.batch):
        for res in run_batch(ns.seed, indices[b:b + ns.batch]):
            counts[res["outcome"]] = counts.get(res["outcome"], 0) + 1
            if res["outcome"] != "ok" and (ns.verbose or res["outcome"] != "compile-error"):
                print(f"[{res['outcome']}] seed {res['seed']} program {res['index']}: {res['detail']}\n{res['program']}\n")
            bad += res["outcome"] not in ("ok", "compile-error")
    print(" ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
