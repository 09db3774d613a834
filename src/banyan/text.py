"""Text analysis shared by every stage: scripts, language, tokens, names, segmentation, stop words.

One definition of each: the CJK ranges, the token counter used for chunk sizes and LLM budgets,
the name normalization used as the entity resolution key, Chinese segmentation (jieba) and the
tokenizer of the BM25 index. Heavy libraries (jieba, the stemmer) load on first use, once, and
the calls that share their global state are serialized.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from typing import Any

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
"""Chinese characters (CJK unified ideographs, extension A, compatibility ideographs)."""
CJK = HAN + "\u3040-\u30ff\uac00-\ud7af"
"""Scripts written without spaces between words, counted one token per character: Han, kana, Hangul."""

_CJK_CHAR = re.compile(f"[{CJK}]")
_HAN_CHAR = re.compile(f"[{HAN}]")
_HAN_RUN = re.compile(f"[{HAN}]+")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
TOKEN_RE = re.compile(f"[{CJK}]|[^\\s{CJK}\\W]+|[^\\w\\s]", re.UNICODE)
"""One token: a run of word characters (Latin etc.), a single CJK character, or one symbol."""
_WORD = re.compile(r"(?u)\b\w\w+\b")
_HAS_WORD = re.compile(r"\w", re.UNICODE)
_QUERY_TOKEN = re.compile(f"[{HAN}]+|\\w+", re.UNICODE)

_LOCK = threading.Lock()


# -- language and size ------------------------------------------------------------------------
def detect_lang(text: str, sample: int = 2000) -> str:
    """'zh' when CJK characters make up at least a fifth of the letters, else 'en'."""
    head = text[:sample]
    letters = len(_LETTER.findall(head))
    if not letters:
        return "en"
    return "zh" if len(_CJK_CHAR.findall(head)) / letters >= 0.2 else "en"


def count_tokens(text: str) -> int:
    """Approximate token count: words, plus one per CJK character and per symbol."""
    return sum(1 for _ in TOKEN_RE.finditer(text))


def has_han(text: str) -> bool:
    return _HAN_CHAR.search(text) is not None


# -- names ------------------------------------------------------------------------------------
_ARTICLES = re.compile(r"^(the|a|an)\s+")
_POSSESSIVE = re.compile(r"(?:'s|’s|')$")
_NON_WORD = re.compile(r"[^\w\s]+", re.UNICODE)
_SPACES = re.compile(r"\s+")


def normalize_name(name: str) -> str:
    """Resolution key: NFKC, lowercase, no possessive, no leading article, punctuation as space.

    "The Lothair II's" -> "lothair ii"; "Lothair Ii" -> "lothair ii"; "St. Maurice" -> "st maurice".
    """
    s = unicodedata.normalize("NFKC", name).strip().lower()
    s = _POSSESSIVE.sub("", s)
    s = _ARTICLES.sub("", s)
    s = _NON_WORD.sub(" ", s)
    return _SPACES.sub(" ", s).strip()


# -- Chinese segmentation (jieba) ---------------------------------------------------------------
@lru_cache(maxsize=1)
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


@lru_cache(maxsize=1)
def _jieba_posseg() -> Any:
    """jieba's part-of-speech tagger: loaded only where tags are asked for (0.4 s, which segmenting the odd
    Chinese phrase of an English corpus need not pay)."""
    _jieba()
    from jieba import posseg

    return posseg


def segment_zh(text: str) -> list[str]:
    """Chinese words of ``text`` (jieba, precise mode)."""
    jieba = _jieba()
    with _LOCK:
        return jieba.lcut(text)


def pos_tag_zh(text: str) -> list[tuple[str, str]]:
    """(word, part-of-speech tag) pairs of ``text`` (jieba's ICTCLAS-style tags: nr, ns, nt, nz, v, ...)."""
    posseg = _jieba_posseg()
    with _LOCK:
        return [(w, f) for w, f in posseg.cut(text)]


# -- tokens for lexical search and query analysis -------------------------------------------------
BM25_STOPWORDS_EN = frozenset(["a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is",
                               "it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there",
                               "these", "they", "this", "to", "was", "will", "with"])
"""Lucene's classic English stop set, as bm25s ships it (``bm25s.stopwords.STOPWORDS_EN``; a test keeps
them equal). Kept here so that tokenizing a query does not import bm25s and, with it, scipy."""

@lru_cache(maxsize=1)
def _english() -> tuple[Callable[[str], str], frozenset[str]]:
    import Stemmer

    stemmer = Stemmer.Stemmer("english")  # stemWord is one C call under the GIL: safe across threads
    return lru_cache(maxsize=200_000)(stemmer.stemWord), BM25_STOPWORDS_EN


def _latin_tokens(text: str) -> list[str]:
    stem, stop = _english()
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in stop]


def bm25_tokens(text: str) -> list[str]:
    """Tokens for BM25, for English, Chinese or a mix: stemmed English words without stop words,
    jieba words for Chinese runs."""
    if not _HAN_RUN.search(text):
        return _latin_tokens(text)
    out: list[str] = []
    pos = 0
    for m in _HAN_RUN.finditer(text):
        out.extend(_latin_tokens(text[pos : m.start()]))
        out.extend(t for t in segment_zh(m.group()) if _HAS_WORD.search(t))
        pos = m.end()
    out.extend(_latin_tokens(text[pos:]))
    return out


def word_tokens(text: str) -> list[str]:
    """Words as written (case kept): runs of word characters, Chinese runs segmented by jieba."""
    tokens: list[str] = []
    for t in _QUERY_TOKEN.findall(text):
        tokens.extend(segment_zh(t) if _HAN_CHAR.match(t) else [t])
    return tokens


# -- function words ----------------------------------------------------------------------------
# General closed-class words of each language (articles, pronouns, prepositions, conjunctions,
# auxiliaries, question words, common quantifiers). Nothing here comes from any data set's
# questions: content words are discounted by corpus statistics instead (see retrieve.query).
FUNCTION_WORDS_EN = frozenset(["a", "an", "the", "this", "that", "these", "those", "some", "any", "each", "every", "all", "both", "either", "neither", "no", "none", "few", "many", "much", "more", "most", "other", "another", "such", "same", "own", "only", "very", "too", "also", "just", "even", "again", "further", "then", "once", "here", "there", "now", "i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "ourselves", "you", "your", "yours", "yourself", "yourselves", "he", "him", "his", "himself", "she", "her", "hers", "herself", "it", "its", "itself", "they", "them", "their", "theirs", "themselves", "one", "ones", "who", "whom", "whose", "which", "what", "when", "where", "why", "how", "whoever", "whatever", "whichever", "is", "am", "are", "was", "were", "be", "been", "being", "have", "has", "had", "having", "do", "does", "did", "doing", "done", "will", "would", "shall", "should", "can", "could", "may", "might", "must", "ought", "of", "in", "on", "at", "by", "for", "with", "about", "against", "between", "into", "through", "during", "before", "after", "above", "below", "to", "from", "up", "down", "out", "off", "over", "under", "within", "without", "along", "across", "around", "among", "upon", "toward", "towards", "per", "via", "than", "as", "like", "and", "or", "but", "nor", "so", "yet", "if", "because", "while", "although", "though", "unless", "until", "whether", "since", "not", "no", "yes"])

FUNCTION_WORDS_ZH = frozenset(["的", "地", "得", "了", "着", "过", "是", "在", "有", "和", "与", "及", "或", "而", "并", "也", "都", "就", "还", "又", "被", "把", "让", "给", "对", "从", "向", "于", "以", "为", "由", "自", "到", "将", "之", "其", "此", "这", "那", "这个", "那个", "这些", "那些", "哪", "哪个", "哪些", "哪里", "哪儿", "谁", "什么", "怎么", "怎样", "如何", "为什么", "多少", "几", "吗", "呢", "吧", "啊", "么", "所", "该", "每", "各", "某", "一个", "一些", "我", "你", "他", "她", "它", "我们", "你们", "他们", "她们", "它们", "自己", "因为", "所以", "但是", "但", "如果", "虽然", "然而", "以及", "还是", "或者", "并且", "是否"])


NAME_CONNECTORS = frozenset({"of", "the", "de", "da", "von", "van", "du", "la", "le", "del", "der", "y", "bin", "al", "&"})
"""lower-case words that may join the capitalized words of one English name ("Bank of England",
"Harrow & Vale"): used by the extractor's proper-noun runs and by query name spans alike"""


def is_function_word(word: str, lang: str = "en") -> bool:
    """Whether ``word`` (lowercased) is a closed-class word of ``lang``."""
    return word.lower() in (FUNCTION_WORDS_ZH if lang == "zh" else FUNCTION_WORDS_EN)
