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
