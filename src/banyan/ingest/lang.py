"""Language detection and word-level tokenization that work for English and Chinese alike."""

from __future__ import annotations

import re

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_CJK_RE = re.compile(f"[{_CJK}]")
_LETTER_RE = re.compile(r"[^\W\d_]", re.UNICODE)
# One token = a run of word characters (Latin etc.) or a single CJK character or one symbol.
TOKEN_RE = re.compile(f"[{_CJK}]|[^\\s{_CJK}\\W]+|[^\\w\\s]", re.UNICODE)


def detect_lang(text: str, sample: int = 2000) -> str:
    """'zh' when CJK characters make up at least a fifth of the letters, else 'en'."""
    head = text[:sample]
    letters = len(_LETTER_RE.findall(head))
    if not letters:
        return "en"
    return "zh" if len(_CJK_RE.findall(head)) / letters >= 0.2 else "en"


def count_tokens(text: str) -> int:
    """Approximate token count: words, plus one per CJK character and per symbol."""
    return sum(1 for _ in TOKEN_RE.finditer(text))
