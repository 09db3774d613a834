"""Readers for formatted documents: PDF (with page offsets), DOCX and HTML (without page chrome).

Titles come from the document itself: its title metadata when that is a real title, else its
first heading (or, for a PDF, its first short line), else the file name.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from banyan.errors import IngestError
from banyan.types import Document

PAGE_SEP = "\n\n"
_MAX_TITLE = 150
# Metadata titles that are not titles: tool names and file names left behind by converters.
_JUNK_TITLE = re.compile(r"^(untitled|document\d*|microsoft word - .*|.*\.(docx?|pdf|odt|rtf|txt|tex|dvi))$", re.IGNORECASE)


def title_from_path(path: Path) -> str:
    return path.stem.replace("_", " ").replace("-", " ").strip() or path.name


def nonempty(text: str) -> str:
    if not text.strip():
        raise IngestError("empty: no text to index")
    return text


def real_title(value: Any) -> str | None:
    """``value`` stripped, if it looks like a document title (not empty, junk or a paragraph)."""
    if not isinstance(value, str):
        return None
    title = " ".join(value.split())
    if not title or len(title) > _MAX_TITLE or _JUNK_TITLE.match(title) or not re.search(r"\w", title):
        return None
    return title


def _first_line_title(text: str) -> str | None:
    for line in text.splitlines()[:5]:
        if line.strip():
            title = real_title(line)
            return title if title and len(title.split()) <= 15 and not title.endswith((".", ",", ";")) else None
    return None


def read_pdf(path: Path, data: bytes) -> list[Document]:
    """One Document; ``metadata["page_starts"]`` holds where each page's text starts, so that
    citations carry page numbers."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        pages = [page.extract_text() or "" for page in reader.pages]
        meta_title = reader.metadata.title if reader.metadata else None
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise IngestError(f"unreadable PDF ({type(exc).__name__}: {exc})") from exc
    parts: list[str] = []
    starts: list[int] = []
    offset = 0
    for page in pages:
        body = page.strip()
        if body and parts:
            offset += len(PAGE_SEP)
        starts.append(offset)  # an empty page starts where the next text does
        if body:
            parts.append(body)
            offset += len(body)
    text = nonempty(PAGE_SEP.join(parts))
    title = real_title(meta_title) or _first_line_title(text) or title_from_path(path)
    return [Document.create(str(path), title, text, {"pages": len(pages), "page_starts": starts})]


def read_docx(path: Path, data: bytes) -> list[Document]:
    import zipfile

    import docx

    try:
        d = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise IngestError(f"unreadable DOCX ({type(exc).__name__}: {exc})") from exc
    paras = [p for p in d.paragraphs if p.text.strip()]
    heading = next((p.text for p in paras if (p.style is not None and p.style.name or "").lower().startswith(
        ("title", "heading"))), None)
    title = real_title(d.core_properties.title) or real_title(heading) or title_from_path(path)
    return [Document.create(str(path), title, nonempty("\n\n".join(p.text for p in paras)))]


_CHROME = ("nav", "aside", "header", "footer", "form", "button", "menu")
_CHROME_ROLES = {"navigation", "banner", "contentinfo", "search", "menu", "menubar", "complementary"}


def html_text(markup: str) -> tuple[str | None, str]:
    """(title, text) of an HTML page without scripts, navigation, headers, footers and sidebars."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "svg"]):
        tag.decompose()
    title = real_title(soup.title.get_text(" ", strip=True)) if soup.title else None
    content = soup.find("main") or soup.find("article") or soup.body or soup
    for tag in content.find_all(True):
        if tag.decomposed:
            continue
        role = str(tag.get("role") or "").lower()
        # a header inside an article is its own heading block, not the site's banner
        in_article = tag.name == "header" and tag.find_parent(["article", "main"]) is not None
        if (tag.name in _CHROME and not in_article) or role in _CHROME_ROLES or tag.get("aria-hidden") == "true":
            tag.decompose()
    h1 = content.find(["h1"]) or soup.find("h1")
    title = title or (real_title(h1.get_text(" ", strip=True)) if h1 else None)
    text = "\n".join(line.strip() for line in content.get_text("\n").splitlines() if line.strip())
    return title, text
