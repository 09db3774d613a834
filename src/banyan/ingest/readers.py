"""Turn one file into Documents. Each reader raises IngestError with a one-line reason."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from banyan.errors import IngestError
from banyan.ingest.documents import html_text, nonempty, read_docx, read_pdf, title_from_path
from banyan.ingest.encoding import DecodedText, decode_bytes
from banyan.types import Document

Reader = Callable[[Path, bytes], list[Document]]


def decode_text(data: bytes, path: Path) -> str:
    """The text of a text file (UTF-8, a byte-order mark, or a detected legacy encoding)."""
    return decode_bytes(data).text


def _encoding_meta(decoded: DecodedText) -> dict[str, Any]:
    """Documents decoded from a legacy encoding say which one (``banyan index`` reports it)."""
    return {"encoding": decoded.encoding} if decoded.legacy else {}


def read_text(path: Path, data: bytes) -> list[Document]:
    decoded = decode_bytes(data)
    return [Document.create(str(path), title_from_path(path), nonempty(decoded.text), _encoding_meta(decoded))]


def read_markdown(path: Path, data: bytes) -> list[Document]:
    decoded = decode_bytes(data)
    text = nonempty(decoded.text)
    title = title_from_path(path)
    for line in text.splitlines()[:20]:
        if line.startswith("# "):
            title = line[2:].strip()
            break
    return [Document.create(str(path), title, text, _encoding_meta(decoded))]


def _record_to_doc(path: Path, rec: Any, where: str) -> Document:
    if not isinstance(rec, dict):
        raise IngestError(f"{where}: expected an object with 'text', got {type(rec).__name__}")
    text = rec.get("text") or rec.get("content") or rec.get("body")
    if not isinstance(text, str) or not text.strip():
        raise IngestError(f"{where}: record has no non-empty 'text' field")
    title = str(rec.get("title") or "")
    meta = {k: v for k, v in rec.items() if k not in ("text", "content", "body", "title")}
    if "id" in rec:
        meta["record_id"] = str(meta.pop("id"))
    return Document.create(str(path), title, text, meta)


def _iter_json_records(path: Path, text: str) -> Iterator[tuple[Any, str]]:
    if path.suffix.lower() == ".jsonl":
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line), f"line {lineno}"
            except json.JSONDecodeError as exc:
                raise IngestError(f"line {lineno}: invalid JSON ({exc.msg})") from exc
        return
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IngestError(f"invalid JSON at line {exc.lineno}: {exc.msg}") from exc
    records = obj if isinstance(obj, list) else obj.get("documents", [obj]) if isinstance(obj, dict) else [obj]
    for i, rec in enumerate(records):
        yield rec, f"record {i}"


def read_json(path: Path, data: bytes) -> list[Document]:
    """``.json`` (an object, a list, or {"documents": [...]}) or ``.jsonl`` corpus records."""
    text = nonempty(decode_text(data, path))
    docs = [_record_to_doc(path, rec, where) for rec, where in _iter_json_records(path, text)]
    if not docs:
        raise IngestError("no records")
    return docs


def read_html(path: Path, data: bytes) -> list[Document]:
    decoded = decode_bytes(data)
    title, text = html_text(decoded.text)
    return [Document.create(str(path), title or title_from_path(path), nonempty(text), _encoding_meta(decoded))]


READERS: dict[str, Reader] = {
    ".txt": read_text,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".json": read_json,
    ".jsonl": read_json,
    ".pdf": read_pdf,
    ".docx": read_docx,
    ".html": read_html,
    ".htm": read_html,
}


def read_file(path: Path, data: bytes) -> list[Document]:
    """Documents from one file's bytes, by extension. Raises IngestError."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise IngestError(f"unsupported file type {path.suffix!r}")
    if not data:
        raise IngestError("empty file")
    return reader(path, data)
