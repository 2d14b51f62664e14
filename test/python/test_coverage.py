"""Issue 8: no process dies, and fxc agrees with eager on random programs.

Programs torch-mlir's convert-torch-to-linalg is known to segfault on run in
a child process each: a crash fails the test instead of killing pytest.
"""

import re
import subprocess
import sys

import pytest
import torch

import fxc
from fxc.testing import fuzz

#: Each snippet defines ``f`` and ``args``; the child compiles and checks it.
KNOWN_CRASHES = {
    "mm_int8": "f = lambda a, b: a @ b\nargs = (torch.randint(-128, 127, (3, 4), dtype=torch.int8), torch.randint(-128, 127, (4, 2), dtype=torch.int8))",
    "mm_uint8": "f = lambda a, b: a @ b\nargs = (torch.randint(0, 255, (3, 4), dtype=torch.uint8), torch.randint(0, 255, (4, 2), dtype=torch.uint8))",
    "bmm_int8": "f = torch.bmm\nargs = (torch.randint(-128, 127, (2, 3, 4), dtype=torch.int8), torch.randint(-128, 127, (2, 4, 2), dtype=torch.int8))",
    "where_bool_int8": "f = lambda c, x: torch.where(c, x, c)\nargs = (torch.rand(6) > 0.5, torch.randint(-128, 127, (6,), dtype=torch.int8))",
    "compare_bool_int8": "f = lambda b: torch.where(b > b.to(torch.int8), b, b.to(torch.int8))\nargs = (torch.rand(3, 4) > 0.5,)",
    "eye": "f = lambda x: x + torch.eye(4)\nargs = (torch.randn(4, 4),)",
    "eye_uint8": "f = lambda x: x * torch.eye(4, dtype=torch.uint8)\nargs = (torch.randint(0, 9, (4, 4), dtype=torch.uint8),)",
}

_CHILD = """
import torch, fxc
cases = {cases!r}
for name, snippet in cases.items():
    env = {{"torch": torch}}
    exec(snippet, env)
    f, args = env["f"], env["args"]
    out = fxc.compile(f, args)(*args)
    print(name, "ok" if torch.equal(out, f(*args)) else "mismatch", flush=True)
"""


def test_known_torch_mlir_crashes_compile():
    """All in one child (one torch import); a crash names the case it hit."""
    code = _CHILD.format(cases=KNOWN_CRASHES)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    seen = dict(line.split() for line in proc.stdout.splitlines())
    crashed = next((n for n in KNOWN_CRASHES if n not in seen), None)
    assert proc.returncode == 0, f"case {crashed}: exit {proc.returncode}: {proc.stderr[-2000:]}"
    assert seen == {n: "ok" for n in KNOWN_CRASHES}


def test_tm_tensor_ops_compile():
    """What torch-mlir lowers to tm_tensor (scan, sort, topk, scatter) runs."""
    import torch

    def f(x, idx):
        values, _ = torch.sort(x, dim=-1)
        top, _ = torch.topk(x, 2)
        return torch.cumsum(x, 1), values, top, torch.zeros(4, 5).scatter_add(0, idx, x)

    args = (torch.randn(4, 5), torch.randint(0, 4, (4, 5)))
    for a, e in zip(fxc.compile(f, args)(*args), f(*args)):
        torch.testing.assert_close(a, e)


def test_item_output_is_a_compile_error():
    import torch

    with pytest.raises(fxc.CompileError):
        fxc.compile(lambda x: x.sum().item(), (torch.randn(4),))


#: The fixed sample CI runs; ``python -m fxc.testing.fuzz`` runs more.
FUZZ_SEED, FUZZ_COUNT = 0, 40


def test_fuzz_sample_matches_eager():
    results = fuzz.run_batch(FUZZ_SEED, list(range(FUZZ_COUNT)))
    bad = [r for r in results if r["outcome"] not in ("ok", "compile-error")]
    assert len(results) == FUZZ_COUNT
    assert not bad, "\n\n".join(f"[{r['outcome']}] program {r['index']}: {r['detail']}\n{r['program']}" for r in bad)


@pytest.mark.parametrize("width", [32, 64, 768])
def test_layer_norm_widths(width):
    """A vectorized var_mean reduction whose written-back value is reshaped
    must not be carried through its loop (fxc-convert-linalg-to-vector once
    built invalid IR for LayerNorm(64))."""
    m = torch.nn.LayerNorm(width)
    x = torch.randn(2, 8, width)
    torch.testing.assert_close(fxc.compile(m, (x,))(x), m(x))


@pytest.mark.parametrize("case", ["affine", "no_affine", "two_dims", "bf16", "stats"])
def test_layer_norm_as_eager_computes_it(case):
    """LayerNorm's mean and variance in float, two passes over each row, as
    eager's CPU kernel does (torch-mlir's var_mean computes the variance in
    float64: an f64 copy of the input, read twice); the mean and rstd that
    native_layer_norm returns too."""
    x = torch.randn(4, 6, 96) * 3 + 1
    if case == "stats":
        def f(x, w, b):
            return torch.ops.aten.native_layer_norm(x, [96], w, b, 1e-5)
        args = (x, torch.randn(96), torch.randn(96))
    else:
        shape = [6, 96] if case == "two_dims" else [96]
        m = torch.nn.LayerNorm(shape, elementwise_affine=case != "no_affine")
        if case != "no_affine":
            torch.nn.init.normal_(m.weight)
            torch.nn.init.normal_(m.bias)
        f, args = m, (x.bfloat16(),) if case == "bf16" else (x,)
        if case == "bf16":
            m.bfloat16()
    with torch.no_grad():
        compiled = fxc.compile(f, args)
        torch.testing.assert_close(compiled(*args), f(*args))
        linalg = fxc.compile(f, args, stop_after="linalg").ir("linalg")
    assert "xf64>" not in linalg  # no float64 tensor


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.int32], ids=str)
def test_reciprocal_of_zero_is_inf_as_in_eager(dtype):
    """torch-mlir lowers aten.reciprocal with a check that fails on a zero
    element; eager gives inf (an integer input gives a float result)."""
    x = torch.tensor([0, 2, -4, 0, 8], dtype=dtype)
    compiled = fxc.compile(torch.reciprocal, (x,))
    torch.testing.assert_close(compiled(x), torch.reciprocal(x))


def test_batch_norm_vectorizes():
    """Eval BatchNorm's 1 / sqrt(var + eps) (a reciprocal) fused into the
    normalization: no check left in the linalg body, so it vectorizes
    instead of running scalar loops over the whole tensor."""
    bn = torch.nn.BatchNorm2d(16).eval()
    bn.running_var.uniform_(0.5, 2.0)
    x = torch.randn(2, 16, 20, 20)
    with torch.no_grad():
        compiled = fxc.compile(bn, (x,))
        torch.testing.assert_close(compiled(x), bn(x))
        assert "cf.assert" not in fxc.compile(bn, (x,), stop_after="bufferized").ir("bufferized")


def test_row_reductions_end_in_a_shuffle_tree():
    """A row's partial sums (a vector carried through the loop) are reduced
    once by llvm.vector.reduce.fadd, reassociated into a shuffle tree, not
    by a chain of one scalar add per lane (lower-vector-multi-reduction's
    default inner-parallel lowering: 64 dependent adds per row)."""
    m = torch.nn.LayerNorm(1024)
    x = torch.randn(8, 1024)
    llvm = fxc.compile(m, (x,), stop_after="llvm").ir("llvm")
    assert "llvm.intr.vector.reduce.fadd" in llvm
    assert not re.search(r"llvm\.fadd .* : vector<1xf32>", llvm)
    with torch.no_grad():
        torch.testing.assert_close(fxc.compile(m, (x,))(x), m(x))
