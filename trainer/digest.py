"""One way to fingerprint a file: the SHA-256 of its bytes, read in chunks (models, twins, images, reports)."""

from __future__ import annotations

import hashlib
import os


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes: equal digests mean byte-identical files."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
