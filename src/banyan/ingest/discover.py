"""Find the files to index under the paths a user gives."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from banyan.types import IngestFailure


def discover(paths: Iterable[Path | str], extensions: Iterable[str]) -> tuple[list[Path], list[IngestFailure]]:
    """Files with a known extension under ``paths`` (recursively, sorted, hidden ones skipped).

    A path that does not exist is a failure; a file named explicitly with an unknown extension
    is a failure too, while such files found inside a folder are silently skipped.
    """
    exts = {e.lower() for e in extensions}
    files: list[Path] = []
    failures: list[IngestFailure] = []
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(
                f for f in p.rglob("*")
                if f.is_file() and f.suffix.lower() in exts
                and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
        elif p.is_file():
            if p.suffix.lower() not in exts:
                failures.append(IngestFailure(str(p), f"unsupported file type {p.suffix or '(none)'!r}"))
                continue
            found = [p]
        else:
            failures.append(IngestFailure(str(p), "no such file or directory"))
            continue
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                files.append(f)
    return files, failures
