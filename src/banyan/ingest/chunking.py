"""Split documents into overlapping, sentence-aligned chunks with exact character offsets."""

from __future__ import annotations

import re
from collections.abc import Iterator

from banyan.text import TOKEN_RE, detect_lang
from banyan.types import Chunk, Document, content_id

# A sentence ends at ., !, ? (followed by space/quote) or a CJK terminator, or at a blank line.
_SENT_END = re.compile(r"(?:[.!?]+[\"'”’)\]]*(?=\s)|[。！？；…]+[”’」』）]*|\n\s*\n)")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of sentences, covering ``text`` without gaps (leading space kept)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENT_END.finditer(text):
        end = m.end()
        if end > start:
            spans.append((start, end))
            start = end
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _token_offsets(text: str, base: int) -> list[tuple[int, int]]:
    return [(base + m.start(), base + m.end()) for m in TOKEN_RE.finditer(text)]


def _split_long(span: tuple[int, int], text: str, max_tokens: int) -> list[tuple[int, int, int]]:
    """Cut a sentence longer than ``max_tokens`` at token boundaries: (start, end, n_tokens)."""
    s, e = span
    toks = _token_offsets(text[s:e], s)
    out = []
    for i in range(0, len(toks), max_tokens):
        part = toks[i : i + max_tokens]
        start = s if i == 0 else part[0][0]
        end = e if i + max_tokens >= len(toks) else toks[i + max_tokens][0]
        out.append((start, end, len(part)))
    return out or [(s, e, 0)]


def chunk_spans(text: str, max_tokens: int, overlap_tokens: int) -> list[tuple[int, int, int]]:
    """Group sentences into chunks of at most ``max_tokens`` tokens.

    Consecutive chunks share up to ``overlap_tokens`` tokens of whole trailing sentences. A
    single sentence longer than ``max_tokens`` is cut at token boundaries. Returns
    ``(start, end, n_tokens)`` triples; whitespace-only text gives no chunks.
    """
    units: list[tuple[int, int, int]] = []
    for span in sentence_spans(text):
        n = len(TOKEN_RE.findall(text, span[0], span[1]))
        if n == 0:
            continue
        units.extend(_split_long(span, text, max_tokens) if n > max_tokens else [(span[0], span[1], n)])

    chunks: list[tuple[int, int, int]] = []
    i = 0
    while i < len(units):
        j, total = i, 0
        while j < len(units) and (total + units[j][2] <= max_tokens or j == i):
            total += units[j][2]
            j += 1
        chunks.append((units[i][0], units[j - 1][1], total))
        if j >= len(units):
            break
        # Step back over whole sentences that fit in the overlap, but always advance.
        back, k = 0, j
        while k - 1 > i and back + units[k - 1][2] <= overlap_tokens:
            back += units[k - 1][2]
            k -= 1
        i = k
    return [_strip(text, s, e, n) for s, e, n in chunks]


def _strip(text: str, s: int, e: int, n: int) -> tuple[int, int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e, n


def chunk_document(doc: Document, max_tokens: int, overlap_tokens: int) -> Iterator[Chunk]:
    """The chunks of one document, ids derived from the document id and position."""
    for ordinal, (s, e, n) in enumerate(chunk_spans(doc.text, max_tokens, overlap_tokens)):
        piece = doc.text[s:e]
        yield Chunk(
            id=content_id(doc.id, str(ordinal), str(s), str(e)),
            doc_id=doc.id,
            ordinal=ordinal,
            text=piece,
            start=s,
            end=e,
            lang=detect_lang(piece),
            n_tokens=n,
        )
