"""The NVVM backend (issue 13) without a GPU: the GPU program suite
(benchmarks/gpu_suite.py, shared with the Triton backend's GPU check)
compiled to PTX and cubins for sm_90, every kernel's PTX assembled by ptxas,
the host plan naming kernels that its cubins define."""

import os
import re
import sys

import pytest
import torch

import fxc
from torch.export import Dim

pytest.importorskip("triton")
from fxc.backends.nvvm import ptx  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
from gpu_suite import PROGRAMS  # noqa: E402

pytestmark = pytest.mark.skipif(ptx.unavailable() is not None, reason=f"no triton LLVM/ptxas: {ptx.unavailable()}")

EM_CUDA = 190  # the ELF machine of a cubin

def _compile(name):
    module, inputs, _ = PROGRAMS[name]()
    with torch.no_grad():
        return fxc.compile(module, inputs, target="nvvm").artifact


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_suite_compiles_to_cubins(name):
    artifact = _compile(name)
    launches = [s for s in artifact.manifest["plan"]["steps"] if s["kind"] == "launch"]
    assert launches
    for step in launches:
        text = artifact.files[f"cuda/{step['module']}.ptx"].decode()
        assert re.findall(r"^\.target (\S+)", text, re.M) == ["sm_90"]
        assert re.findall(r"^\.version (\S+)", text, re.M) == ["8.7"]
        assert re.findall(r"^\.visible \.entry (\w+)\(", text, re.M) == [step["kernel"]]
        cubin = artifact.files[f"cuda/{step['module']}.cubin"]
        assert cubin[:4] == b"\x7fELF" and int.from_bytes(cubin[18:20], "little") == EM_CUDA
        assert step["kernel"].encode() in cubin  # ptxas kept the entry the plan launches


def _double(x):
    return x * 2


def test_dynamic_shapes_are_a_located_refusal():
    with pytest.raises(fxc.CompileError, match=r"test_nvvm_backend\.py:\d+: error: fxc's NVVM backend compiles "
                                               r"static shapes only"):
        fxc.compile(_double, (torch.randn(4, 8),), target="nvvm", dynamic_shapes={"x": {0: Dim("b")}})


def test_views_of_slices_reach_kernels_with_their_offsets():
    """The transformer's q/k/v slices of one projection: subviews on the
    host are alias steps (strides, offset) and the kernels taking them get
    the base pointer back (their parameter types add the offset)."""
    artifact = _compile("transformer_encoder_layer")
    plan = artifact.manifest["plan"]
    aliases = [s["dst"] for s in plan["steps"] if s["kind"] == "alias"]
    offsets = sorted({plan["buffers"][b]["offset"] for b in aliases})
    assert offsets[:3] == [0, 32, 64]
    passed = [p["offset"] for s in plan["steps"] if s["kind"] == "launch" for p in s["params"] if "offset" in p]
    assert {32, 64} <= set(passed)


def test_effects_run_in_program_order_between_launches():
    artifact = _compile("effects")
    calls = artifact.manifest["host_calls"]
    order = []
    for step in artifact.manifest["plan"]["steps"]:
        if step["kind"] == "host":
            call = calls[step["call"]]
            order.append((call["op"], [a["value"] for a in call["args"] if "value" in a][0]))
        elif step["kind"] == "launch":
            order.append("launch")
    assert order == [("aten._print.default", "first"), "launch", ("fxcgpusuite.record.default", "a"),
                     ("aten._print.default", "second"), "launch", "launch",
                     ("fxcgpusuite.record.default", "b"), "launch"]


def test_leading_dim_reduction_is_parallel_over_kept_dims():
    """x.sum(0) on [65, 7, 40]: one thread per kept element (7 * 40 of them),
    not one thread for the whole reduction."""
    artifact = fxc.compile(lambda x: x.sum(0), (torch.randn(65, 7, 40),), target="nvvm").artifact
    (*_, launch) = [s for s in artifact.manifest["plan"]["steps"] if s["kind"] == "launch"]
    threads = 1
    for g, b in zip(launch["grid"], launch["block"]):
        threads *= g * b
    assert threads >= 7 * 40


def test_no_cuda_device_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    compiled = fxc.compile(lambda x: x.sum(-1), (torch.randn(4, 8),), target="nvvm")
    with pytest.raises(RuntimeError, match="no CUDA device"):
        compiled(torch.randn(4, 8))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.int64])
def test_long_rows_reduce_with_one_block_per_row(dtype):
    """softmax over rows of 1000: its max and its sum are one block of 256
    threads per row, combined with warp shuffles through shared memory
    (f32); an f16 row (shuffles take 32 bits) keeps one thread per row."""
    x = torch.randn(24, 1000).to(dtype) if dtype.is_floating_point else torch.randint(0, 9, (24, 1000))
    fn = {torch.float32: lambda x: torch.softmax(x, -1), torch.float16: lambda x: (x.amax(-1), x.amin(-1)),
          torch.int64: lambda x: (x.sum(-1), x.amax(-1))}[dtype]
    artifact = fxc.compile(fn, (x,), target="nvvm").artifact
    blocks = [s for s in artifact.manifest["plan"]["steps"]
              if s["kind"] == "launch" and s["grid"] == [24, 1, 1] and s["block"] == [256, 1, 1]]
    assert len(blocks) == (0 if dtype == torch.float16 else 2)
    for step in blocks:
        text = artifact.files[f"cuda/{step['module']}.ptx"].decode()
        assert re.search(r"^\s*shfl\.sync\.bfly\.b32", text, re.M) and re.search(r"^\s*bar\.sync", text, re.M)
        partials = 32 * x.element_size()  # one per warp (at most 32)
        assert re.search(rf"^\s*\.shared \.align \d+ \.b8 \w+\[{partials}\];", text, re.M)


def test_frozen_weights_are_constant_buffers():
    """freeze=True: the weights are memref.globals, carried as const/N.bin
    files the runtime reads once (the plan format shared with Triton); the
    linear's weight is stored transposed (fxc-fold-constant-transposes)."""
    lin = torch.nn.Linear(8, 4)
    artifact = fxc.compile(lin, (torch.randn(2, 8),), target="nvvm", freeze=True).artifact
    plan = artifact.manifest["plan"]
    consts = {tuple(b["shape"]): torch.frombuffer(bytearray(artifact.files[b["const"]]), dtype=torch.float32)
              for b in plan["buffers"] if "const" in b}
    assert set(consts) == {(8, 4), (4,)} and len(plan["inputs"]) == 1
    torch.testing.assert_close(consts[(8, 4)].reshape(8, 4), lin.weight.data.t(), rtol=0, atol=0)
    torch.testing.assert_close(consts[(4,)], lin.bias.data, rtol=0, atol=0)


def test_full_reduction_is_one_block():
    """x.mean() over 64x48: the 3072 elements reduced by one block of 256
    threads (not one thread); the division stays a one-thread kernel."""
    artifact = _compile("full_reduction")
    shapes = [(s["grid"], s["block"]) for s in artifact.manifest["plan"]["steps"] if s["kind"] == "launch"]
    assert ([1, 1, 1], [256, 1, 1]) in shapes
