"""Every environment flag fxc reads, and its version checks, in one place.

| variable            | meaning                                                  |
|---------------------|----------------------------------------------------------|
| ``FXC_DUMP_DIR``    | write each stage's IR of every compilation under here    |
| ``FXC_REPRO_DIR``   | where failing-pass reproducers go (default: temp dir)    |
"""

from __future__ import annotations

import os
import tempfile
from typing import Optional

import torch
from packaging.version import Version

#: The torch release fxc is built and tested against.
TORCH_VERSION = Version("2.13.0")


def dump_dir() -> Optional[str]:
    return os.environ.get("FXC_DUMP_DIR") or None


def repro_dir() -> str:
    return os.environ.get("FXC_REPRO_DIR") or tempfile.gettempdir()


def torch_version() -> Version:
    """The installed torch's release, without local tags (``2.13.0+cpu``)."""
    return Version(Version(torch.__version__).base_version)


def check_torch() -> None:
    if torch_version() < TORCH_VERSION:
        raise ImportError(f"fxc needs torch >= {TORCH_VERSION}, found {torch.__version__}")
