"""Every environment flag fxc reads, and its version checks, in one place.

| variable                 | meaning                                                  |
|--------------------------|----------------------------------------------------------|
| ``FXC_DUMP_DIR``         | write each stage's IR of every compilation under here    |
| ``FXC_REPRO_DIR``        | where failing-pass reproducers go (default: temp dir)    |
| ``FXC_CACHE_DIR``        | the compile cache (default ``$XDG_CACHE_HOME/fxc`` or    |
|                          | ``~/.cache/fxc``)                                        |
| ``FXC_CACHE``            | ``0`` turns the compile cache off                        |
| ``FXC_TIMING``           | ``1`` prints where each compilation's time goes (stderr) |
| ``FXC_VERIFY_EACH_PASS`` | ``1`` verifies the IR after every pass, not only after   |
|                          | fxc's Python passes (``fxc-opt`` always does)            |
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Optional

import torch
from packaging.version import Version

#: The torch release fxc is built and tested against.
TORCH_VERSION = Version("2.13.0")
#: The oldest torch that loads and runs a saved artifact (the GPU machine's
#: torch 2.11+cu130 runs GPU artifacts compiled elsewhere).
RUNTIME_TORCH_VERSION = Version("2.11.0")


def dump_dir() -> Optional[str]:
    return os.environ.get("FXC_DUMP_DIR") or None


def repro_dir() -> str:
    return os.environ.get("FXC_REPRO_DIR") or tempfile.gettempdir()


def cache_dir() -> Optional[Path]:
    """The compile cache's folder, or None when it is turned off."""
    if os.environ.get("FXC_CACHE", "1").strip().lower() in ("0", "false", "off", "no"):
        return None
    if os.environ.get("FXC_CACHE_DIR"):
        return Path(os.environ["FXC_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fxc"


def verify_each_pass() -> bool:
    """Whether compilations verify the IR after every pass (``fxc-opt`` always does)."""
    return os.environ.get("FXC_VERIFY_EACH_PASS", "0").strip().lower() in ("1", "true", "on", "yes")


def timing() -> bool:
    """Whether every compilation reports where its time goes (``fxc.compiler.timing``)."""
    return os.environ.get("FXC_TIMING", "0").strip().lower() in ("1", "true", "on", "yes")


def torch_version() -> Version:
    """The installed torch's release, without local tags (``2.13.0+cpu``)."""
    return Version(Version(torch.__version__).base_version)


def check_torch(minimum: Version = TORCH_VERSION) -> None:
    """Raises ImportError when the installed torch is older than ``minimum``
    (the compiler's :data:`TORCH_VERSION` unless a runtime check says less)."""
    if torch_version() < minimum:
        what = "fxc's compiler" if minimum == TORCH_VERSION else "fxc"
        raise ImportError(f"{what} needs torch >= {minimum}, found {torch.__version__}")
