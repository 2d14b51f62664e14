"""Artifacts: a compiled program as bytes plus a manifest.

An artifact is one file (a zip archive): ``manifest.json`` and the
backend's files (for the CPU, ``program.so``).  The manifest holds
everything needed to run the code without the compiler or the original
module: the signature (``fxc.runtime.signature``), the host calls, the
target and its options, the fxc and torch versions, the host features the
code needs, and whether the weights were frozen into it.

Writes are atomic (a temporary file in the same folder, then a rename), so
concurrent writers of one path both succeed and readers never see half a
file.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Dict

#: Bumped whenever the manifest or the calling convention changes.
FORMAT = 1
MANIFEST = "manifest.json"


class ArtifactError(ValueError):
    """An artifact that cannot be read or run on this host."""


@dataclasses.dataclass
class Artifact:
    """A compiled program: ``manifest`` (plain data) and ``files`` (bytes)."""

    manifest: dict
    files: Dict[str, bytes]

    @property
    def target(self) -> str:
        return self.manifest["target"]

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(MANIFEST, json.dumps(self.manifest, indent=1, sort_keys=True))
            for name, data in self.files.items():
                z.writestr(name, data)
        return buf.getvalue()

    def save(self, path) -> Path:
        """Writes the artifact to ``path`` atomically; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, self.to_bytes())
        return path

    @staticmethod
    def from_bytes(data: bytes, origin: str = "<bytes>") -> "Artifact":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                manifest = json.loads(z.read(MANIFEST))
                files = {n: z.read(n) for n in z.namelist() if n != MANIFEST}
        except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as e:
            raise ArtifactError(f"{origin} is not an fxc artifact ({e})") from None
        if manifest.get("format") != FORMAT:
            raise ArtifactError(f"{origin} has artifact format {manifest.get('format')}; "
                                f"this fxc reads format {FORMAT}: recompile it")
        return Artifact(manifest, files)

    @staticmethod
    def read(path) -> "Artifact":
        path = Path(path)
        if not path.is_file():
            raise ArtifactError(f"no fxc artifact at '{path}'")
        return Artifact.from_bytes(path.read_bytes(), str(path))


def atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
