"""Shared pytest fixtures for fxc."""

import os
import tempfile

import pytest
import torch

# Every test session gets its own compile cache: tests see what a fresh
# machine sees, and never the developer's ~/.cache/fxc.
os.environ["FXC_CACHE_DIR"] = tempfile.mkdtemp(prefix="fxc-test-cache-")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(params=["cpu", "triton"])
def target(request):
    """A test taking ``target`` runs for each backend (Triton through its
    interpreter on CPU tensors; skipped where triton is not installed)."""
    if request.param == "triton":
        pytest.importorskip("triton")
    return request.param


def _run_llvm_stage(src: str, options, *arrays):
    """Runs the CPU backend's llvm stage (with ``options``) on memref IR and
    calls its @main on numpy arrays, in place."""
    import ctypes

    from torch_mlir.execution_engine import ExecutionEngine
    from torch_mlir.runtime import get_ranked_memref_descriptor

    from fxc import _mlir_compat
    from fxc.backends.cpu.backend import CpuBackend
    from fxc.backends.cpu.build import BUFFER_POOL_SYMBOLS
    from fxc.compiler.driver import run_stage

    (llvm,) = [s for s in CpuBackend().stages(options) if s.name == "llvm"]
    ctx = _mlir_compat.new_context()
    module = _mlir_compat.parse_module(src, ctx)
    run_stage(module, llvm)
    with ctx:
        engine = ExecutionEngine(module, opt_level=2)
    # memref.alloc/dealloc call the buffer pool's entry points, which a
    # program.so links in (fxc/backends/cpu/buffer_pool.c); here, libc's.
    libc = ctypes.CDLL(None)
    for symbol, fn in zip(BUFFER_POOL_SYMBOLS, (libc.malloc, libc.aligned_alloc, libc.free)):
        engine.raw_register_runtime(symbol, ctypes.cast(fn, ctypes.c_void_p))
    engine.invoke("main", *[ctypes.pointer(ctypes.pointer(get_ranked_memref_descriptor(x))) for x in arrays])


@pytest.fixture
def run_llvm_stage():
    """``run_llvm_stage(src, options, *arrays)``: the CPU backend's llvm
    stage on memref IR, then its @main called on numpy arrays."""
    return _run_llvm_stage
