"""Every environment flag fxc reads, and its version checks, in one place.

| variable            | meaning                                                  |
|---------------------|----------------------------------------------------------|
| ``FXC_DUMP_DIR``    | write each stage's IR of every compilation under here    |
| ``FXC_REPRO_DIR``   | where failing-pass reproducers go (default: temp dir)    |
| ``FXC_CACHE_DIR``   | the compile cache (default ``$XDG_CACHE_HOME/fxc`` or    |
|                     | ``~/.cache/fxc``)                                        |
| ``FXC_CACHE``       | ``0`` turns the compile cache off                        |
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


def torch_version() -> Version:
    """The installed torch's release, without local tags (``2.13.0+cpu``)."""
    return Version(Version(torch.__version__).base_version)


def check_torch() -> None:
    if torch_version() < TORCH_VERSION:
        raise ImportError(f"fxc needs torch >= {TORCH_VERSION}, found {torch.__version__}")
