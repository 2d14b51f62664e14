"""PyTorch's torchbind test classes (``torch.classes._TorchScriptTesting``).

The CPU wheel of torch 2.13 ships them (``torch/lib/libtorchbind_test.so``),
but ``torch.testing._internal.torchbind_impls.init_torchbind_implementations``
imports ``common_utils``, which needs the ``expecttest`` package.  This
loads the library directly and registers the same fake classes and
operators, so no extra package is needed.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch

LIBRARY = Path(torch.__file__).parent / "lib" / "libtorchbind_test.so"


@functools.lru_cache(maxsize=None)
def load() -> bool:
    """Loads the test classes once; False if this torch build lacks them."""
    if not LIBRARY.exists():
        return False
    from torch.testing._internal import torchbind_impls

    torch.ops.load_library(str(LIBRARY))
    torchbind_impls.register_fake_operators()
    torchbind_impls.register_fake_classes()
    return True
