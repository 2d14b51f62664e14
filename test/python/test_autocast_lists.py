"""Every entry of PyTorch's AutocastCPUTestLists through fxc, twice: as a
program with an autocast region, and through compile-time autocast
(``fxc.compile(..., autocast=torch.bfloat16)``).  Output dtype equal to
eager's under ``torch.autocast("cpu", torch.bfloat16)``, values close."""

import re

import pytest
import torch
import torch.utils._pytree as pytree
from torch.testing._internal.autocast_test_lists import AutocastCPUTestLists

import fxc
from fxc.dialects.autocast_policy import Policy, cpu_policy

LISTS = AutocastCPUTestLists(torch.device("cpu"))
KINDS = ("torch_16", "nn_16", "torch_fp32", "nn_fp32", "torch_need_autocast_promote",
         "torch_expect_builtin_promote", "methods_expect_builtin_promote")
CASES = [(kind, e) for kind in KINDS for e in getattr(LISTS, kind)]


def _fn(kind, name):
    if kind.startswith("torch"):
        return getattr(torch, name)
    if kind.startswith("nn"):
        return getattr(torch._C._nn, name)
    return lambda self, *a: getattr(self, name)(*a)


def _program(kind, entry):
    name, args = entry[0], entry[1]
    kwargs = entry[2] if len(entry) > 2 and isinstance(entry[2], dict) else {}
    fn = _fn(kind, name)
    leaves, spec = pytree.tree_flatten(args)
    tensors = tuple(a for a in leaves if isinstance(a, torch.Tensor))

    def call(*ts):
        it = iter(ts)
        full = pytree.tree_unflatten([next(it) if isinstance(a, torch.Tensor) else a for a in leaves], spec)
        return fn(*full, **kwargs)

    return call, tensors


def _check(kind, entry, compiled_fn, tensors, call):
    with torch.autocast("cpu", torch.bfloat16):
        expected = call(*tensors)
    actual = compiled_fn(*tensors)
    expected, actual = (expected[0], actual[0]) if isinstance(expected, tuple) else (expected, actual)
    assert actual.dtype == expected.dtype
    tol = 0 if actual.dtype == torch.bool else 2e-2 * max(1.0, expected.double().abs().max().item())
    torch.testing.assert_close(actual.double(), expected.double(), atol=tol, rtol=2e-2)


def _ids(case):
    return f"{case[0]}-{case[1][0]}"


PARAMS = [pytest.param(*c, id=_ids(c)) for c in CASES]


def test_every_list_is_covered():
    # 55 entries in torch 2.13 (the issue counted 48 in an older torch).
    assert {k for k, _ in CASES} == set(KINDS) and len(CASES) >= 48


@pytest.mark.parametrize("kind,entry", PARAMS)
def test_region(kind, entry):
    call, tensors = _program(kind, entry)

    def program(*ts):
        with torch.autocast("cpu", torch.bfloat16):
            return call(*ts)

    _check(kind, entry, fxc.compile(program, tensors), tensors, call)


@pytest.mark.parametrize("kind,entry", PARAMS)
def test_compile_time(kind, entry):
    call, tensors = _program(kind, entry)
    _check(kind, entry, fxc.compile(call, tensors, autocast=torch.bfloat16), tensors, call)


#: LLVM float arithmetic (or a rounding) on bf16 values.
_BF16_ARITH = re.compile(r"llvm\.(fadd|fsub|fmul|fdiv|frem|fneg|fptrunc|intr\.\w+)\b[^\n]*bf16")


@pytest.mark.parametrize("name", ["baddbmm", "prelu", "conv_transpose3d"])
def test_no_bf16_arithmetic_reaches_llvm(name):
    """Without the AVX512_BF16 kernel, bf16 arithmetic is done in f32 and
    rounded to bf16 by integer code before LLVM: an x86 host without
    AVX512_BF16 (Zen 3) would otherwise round through compiler-rt's
    __truncsfbf2, which the JIT cannot link.  Checked on the IR, so on any host."""
    entry = next(e for e in LISTS.torch_16 if e[0] == name)
    call, tensors = _program("torch_16", entry)
    compiled = fxc.compile(call, tensors, autocast=torch.bfloat16, options={"bf16_microkernel": "off"})
    assert not _BF16_ARITH.findall(str(compiled.ir("llvm")))
    _check("torch_16", entry, compiled, tensors, call)


def test_policy_matches_the_lists():
    """The policy table classifies the listed ops as the lists do."""
    table = cpu_policy()
    expect = {"torch_16": Policy.LOWER, "nn_16": Policy.LOWER, "torch_fp32": Policy.FP32, "nn_fp32": Policy.FP32,
              "torch_need_autocast_promote": Policy.PROMOTE}
    for kind, policy in expect.items():
        for entry in getattr(LISTS, kind):
            found = {v for k, v in table.items() if k.split(".")[1] == entry[0]}
            assert found == {policy}, entry[0]
    for kind in ("torch_expect_builtin_promote", "methods_expect_builtin_promote"):
        for entry in getattr(LISTS, kind):
            assert not any(k.split(".")[1] == entry[0].strip("_") for k in table), entry[0]



def test_decomposed_is_derived():
    """The policy ops decomposed at capture: those torch-mlir's dialect does
    not define (read from its registry), and the few it defines but does not
    convert; ops it lowers whole stay whole for the policy pass."""
    from fxc.frontend.autocast import NOT_CONVERTED, decomposed
    from fxc.frontend.decompose import TABLE

    ops = decomposed()
    names = {op.name().removeprefix("aten::") for op in ops}
    assert ops <= set(TABLE)
    assert set(NOT_CONVERTED) | {"_native_multi_head_attention", "index_copy", "nll_loss", "_addmm_activation"} <= names
    assert not names & {"linear", "mm", "conv2d", "matmul", "cat", "stack"}


def _cholesky_inverse(a):
    with torch.autocast("cpu", torch.bfloat16):
        return torch.cholesky_inverse(a)


def test_no_lowering_is_located():
    """A policy op torch-mlir does not define and fxc cannot decompose fails
    at the user's line."""
    with pytest.raises(fxc.CompileError, match=r"test_autocast_lists.py:\d+: error: fxc cannot compile 'aten\."):
        fxc.compile(_cholesky_inverse, (torch.eye(3),))
