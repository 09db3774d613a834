"""Turn one file into Documents. Each reader raises IngestError with a one-line reason."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from banyan.errors import IngestError
from banyan.types import Document

Reader = Callable[[Path, bytes], list[Document]]


def decode_text(data: bytes, path: Path) -> str:
    """UTF-8 (with or without BOM), then UTF-16 by BOM; refuse binary and undecodable bytes."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:8192]:
        raise IngestError("binary file (NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(f"not valid UTF-8 (byte {exc.start}: {data[exc.start:exc.start + 4]!r})") from exc


def _nonempty(text: str) -> str:
    if not text.strip():
        raise IngestError("empty: no text to index")
    return text


def _title_from_path(path: Path) -> str:
    return path.stem.replace("_", " ").replace("-", " ").strip() or path.name


def read_text(path: Path, data: bytes) -> list[Document]:
    text = _nonempty(decode_text(data, path))
    return [Document.create(str(path), _title_from_path(path), text)]


def read_markdown(path: Path, data: bytes) -> list[Document]:
    text = _nonempty(decode_text(data, path))
    title = _title_from_path(path)
    for line in text.splitlines()[:20]:
        if line.startswith("# "):
            title = line[2:].strip()
            break
    return [Document.create(str(path), title, text)]


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
    text = _nonempty(decode_text(data, path))
    docs = [_record_to_doc(path, rec, where) for rec, where in _iter_json_records(path, text)]
    if not docs:
        raise IngestError("no records")
    return docs


def read_pdf(path: Path, data: bytes) -> list[Document]:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or _title_from_path(path)
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise IngestError(f"unreadable PDF ({type(exc).__name__}: {exc})") from exc
    text = _nonempty("\n\n".join(p.strip() for p in pages if p.strip()))
    return [Document.create(str(path), str(title), text, {"pages": len(pages)})]


def read_docx(path: Path, data: bytes) -> list[Document]:
    import io
    import zipfile

    import docx

    try:
        d = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise IngestError(f"unreadable DOCX ({type(exc).__name__}: {exc})") from exc
    paras = [p.text for p in d.paragraphs if p.text.strip()]
    title = d.core_properties.title or _title_from_path(path)
    return [Document.create(str(path), title, _nonempty("\n\n".join(paras)))]


def read_html(path: Path, data: bytes) -> list[Document]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(data, path), "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    title = soup.title.get_text(strip=True) if soup.title else _title_from_path(path)
    body = soup.body or soup
    text = "\n".join(line.strip() for line in body.get_text("\n").splitlines() if line.strip())
    return [Document.create(str(path), title, _nonempty(text))]


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
