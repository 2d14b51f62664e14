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
