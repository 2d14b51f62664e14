"""The on-disk compile cache: artifacts by key.

The key (computed by the compiler, ``fxc.api``) hashes the imported program,
its signature, the target and its options, the fxc/torch/torch-mlir versions
and the host's CPU features, so a second compile of the same model in a new
process loads the artifact instead of running the pipeline.  Entries are
written atomically: two processes compiling one model at once both succeed
and one of their (identical) artifacts stays.  A damaged entry is ignored
and rewritten.

Where: ``$FXC_CACHE_DIR``, else ``$XDG_CACHE_HOME/fxc``, else
``~/.cache/fxc``; ``FXC_CACHE=0`` turns it off (``fxc.config``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable, Optional

from fxc import config
from fxc.runtime.artifact import Artifact, ArtifactError, atomic_write


def key_of(parts: Iterable) -> str:
    """A hex digest of ``parts`` (strings or bytes), each length-prefixed."""
    h = hashlib.sha256()
    for p in parts:
        b = p if isinstance(p, bytes) else str(p).encode()
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def _path(key: str) -> Optional[Path]:
    root = config.cache_dir()
    return None if root is None else root / key[:2] / f"{key}.fxc"


def lookup(key: str) -> Optional[Artifact]:
    """The cached artifact for ``key``, or None."""
    path = _path(key)
    if path is None or not path.is_file():
        return None
    try:
        return Artifact.read(path)
    except (ArtifactError, OSError):
        return None


def store(key: str, artifact: Artifact) -> None:
    """Caches ``artifact`` under ``key`` (nothing when the cache is off; a
    cache that cannot be written is skipped, not an error)."""
    path = _path(key)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, artifact.to_bytes())
    except OSError:
        pass
