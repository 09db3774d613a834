"""Saving uploaded files under the upload folder, whatever name the client sent.

A file goes to ``<uploads>/<first 16 hex of its SHA-256>/<safe name>``: the same bytes under the
same name land on the same path (re-uploading is a no-op for the index, or changes only its
allow-list), and no name can leave the folder: directories, ``..``, drive letters, control
characters and leading dots are stripped before the path is built, and the result is checked.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import BinaryIO

from banyan.errors import BanyanError

MAX_NAME = 120
_UNSAFE = re.compile(r"[^\w.\- ()\[\]+,&@]+")


class UnsafePathError(BanyanError):
    """A path would have left the upload folder (HTTP 422)."""


def safe_filename(name: str, default: str = "upload") -> str:
    """A plain file name from whatever a client sent: the last path part, only safe characters."""
    base = unicodedata.normalize("NFC", name).replace("\\", "/").split("/")[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")  # control and format chars
    base = _UNSAFE.sub("_", base).strip(" ._")
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    ext = ext[:16]
    stem = stem[: MAX_NAME - len(ext) - 1].strip(" ._") or default
    return f"{stem}.{ext}" if ext else stem


def inside(root: Path, path: Path) -> Path:
    """``path`` resolved, or UnsafePathError when it is not under ``root``."""
    root_r, path_r = root.resolve(), path.resolve()
    if path_r == root_r or not path_r.is_relative_to(root_r):
        raise UnsafePathError(f"refusing to write outside the upload folder: {path}")
    return path_r


def save_stream(root: Path, name: str, data: BinaryIO, chunk: int = 1 << 20) -> Path:
    """Copy ``data`` to ``<root>/<hash>/<safe name>`` and return the path (inside ``root``, always)."""
    root.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=root, prefix=".upload-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            while block := data.read(chunk):
                h.update(block)
                out.write(block)
        target = inside(root, root / h.hexdigest()[:16] / safe_filename(name))
        target.parent.mkdir(exist_ok=True)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def save_bytes(root: Path, name: str, data: bytes) -> Path:
    return save_stream(root, name, io.BytesIO(data))
