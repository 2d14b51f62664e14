"""The NVVM backend (issue 13) without a GPU: a small program suite compiled
to PTX and cubins, each PTX accepted by ptxas (the artifact holds its cubin)."""

import pytest
import torch

import fxc

pytest.importorskip("triton")
from fxc.backends.nvvm import ptx  # noqa: E402

pytestmark = pytest.mark.skipif(ptx.unavailable() is not None, reason=f"no triton LLVM/ptxas: {ptx.unavailable()}")


def _effect(x, w):
    y = torch.relu(x @ w)
    torch.ops.aten._print("between kernels")
    return y.sum(-1)


SUITE = {
    "elementwise_broadcast": (lambda x, y: torch.tanh(x * y + 1.0).exp(), (torch.randn(4, 8), torch.randn(8))),
    "reduction": (lambda x: x.sum(-1), (torch.randn(4, 8),)),
    "matmul": (lambda a, b: a @ b, (torch.randn(4, 8), torch.randn(8, 16))),
    "effect": (_effect, (torch.randn(4, 8), torch.randn(8, 16))),
}


@pytest.mark.parametrize("name", list(SUITE))
def test_compiles_to_cubins(name):
    fn, args = SUITE[name]
    artifact = fxc.compile(fn, args, target="nvvm").artifact
    plan = artifact.manifest["plan"]
    launches = [s for s in plan["steps"] if s["kind"] == "launch"]
    assert launches
    for step in launches:
        text = artifact.files[f"cuda/{step['module']}.ptx"].decode()
        assert ".target sm_90" in text and ".version 8.7" in text
        assert text.count(".entry ") == 1
        assert artifact.files[f"cuda/{step['module']}.cubin"][:4] == b"\x7fELF"
    if name == "effect":
        kinds = [s["kind"] for s in plan["steps"]]
        assert "host" in kinds and kinds.index("host") > kinds.index("launch")


def test_no_cuda_device_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    fn, args = SUITE["reduction"]
    compiled = fxc.compile(fn, args, target="nvvm")
    with pytest.raises(RuntimeError, match="no CUDA device"):
        compiled(*args)
