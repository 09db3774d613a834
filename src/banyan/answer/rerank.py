"""Reranking (issue #10): a ``Reranker`` reorders retrieved passages before they enter the context.

Off by default (``answer.reranker = "none"``). Backends: ``cross-encoder`` (sentence-transformers
``CrossEncoder`` over a model folder, ``answer.rerank_model``; imported lazily), ``http`` (an
OpenAI-compatible ``POST {base_url}/rerank`` as served by vLLM, TEI, Jina or Cohere-style servers),
``llm`` (listwise: the answer LLM orders the numbered passages in one call). The hook is
``RerankingBuilder``: every list of passages a mode adds is reranked (its first
``answer.rerank_top_n``), so every mode, agent included, gets it. A reranker failure keeps the
retrieval order and is reported in the context's notes.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from pydantic import BaseModel, Field

from banyan.answer.context import ContextBuilder, TokenCounter
from banyan.answer.prompts import PromptSet
from banyan.answer.types import Candidate
from banyan.errors import BanyanError, BudgetExceededError, ConfigError, LLMError
from banyan.llm import LLM, structured, user
from banyan.settings import AnswerSettings, LLMSettings

RERANKERS: tuple[str, ...] = ("none", "llm", "http", "cross-encoder")
LISTWISE_CHARS = 400
LISTWISE = {
    "en": ("Order the numbered passages by how well they help answer the question, most useful first; leave out "
           'unrelated ones.\n\nQuestion: {question}\n\nPassages:\n{passages}\n\nReply with JSON {{"order": [n, ...]}}.'),
    "zh": ("按照对回答问题的帮助程度给带编号的段落排序，最有用的在前；无关的段落可以省略。\n\n问题：{question}\n\n段落：\n{passages}"
           '\n\n用 JSON 回答 {{"order": [n, ...]}}。'),
}


class RerankError(BanyanError):
    """A reranker could not score the passages (the retrieval order is kept)."""


class Reranker(Protocol):
    name: str

    def scores(self, question: str, texts: Sequence[str]) -> list[float]:
        """One relevance score per text (higher is better); raises ``RerankError`` or ``LLMError``."""
        ...


def reorder(candidates: Sequence[Candidate], scores: Sequence[float], name: str) -> list[Candidate]:
    """``candidates`` by score, best first (ties keep the retrieval order), scored and marked by ``name``."""
    order = sorted(range(len(candidates)), key=lambda i: (-scores[i], i))
    return [replace(candidates[i], score=float(scores[i]), routes=(*candidates[i].routes, name)) for i in order]


@dataclass(frozen=True)
class LLMListwise:
    """The LLM orders the numbered passages in one call; a passage it leaves out keeps its place after those named."""

    llm: LLM
    lang: str = "en"
    name: str = "llm-rerank"

    def scores(self, question: str, texts: Sequence[str]) -> list[float]:
        listing = "\n".join(f"[{i}] {' '.join(t.split())[:LISTWISE_CHARS]}" for i, t in enumerate(texts, 1))
        res = structured(self.llm, [user(LISTWISE.get(self.lang, LISTWISE["en"]).format(
            question=question, passages=listing))], Order, stage="rerank", max_tokens=200)
        if res.value is None:
            raise RerankError(f"listwise rerank: {res.error}")
        ranked = list(dict.fromkeys(n for n in res.value.order if 1 <= n <= len(texts)))
        out = [0.0] * len(texts)
        for pos, n in enumerate(ranked):
            out[n - 1] = float(len(texts) - pos)
        return out


class Order(BaseModel):
    order: list[int] = Field(default_factory=list)


@dataclass(frozen=True)
class HTTPRerank:
    """``POST {base_url}/rerank`` with ``{"model", "query", "documents"}``; reads ``results[].index`` and
    ``relevance_score`` (or ``score``)."""

    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = 30.0
    name: str = "http-rerank"

    def scores(self, question: str, texts: Sequence[str]) -> list[float]:
        body = json.dumps({"model": self.model, "query": question, "documents": list(texts),
                           "top_n": len(texts)}).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(f"{self.base_url.rstrip('/')}/rerank", body, headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                payload: Any = json.loads(resp.read())
        except (urllib.error.URLError, TimeoutError, json.JSONDecodeError) as exc:
            raise RerankError(f"{self.base_url}/rerank: {exc}") from exc
        out = [float("-inf")] * len(texts)
        try:
            for r in payload["results"]:
                out[int(r["index"])] = float(r.get("relevance_score", r.get("score")))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise RerankError(f"{self.base_url}/rerank: unexpected reply ({exc})") from exc
        return out


@dataclass
class CrossEncoderRerank:
    """sentence-transformers ``CrossEncoder`` loaded from ``model`` (a folder or a model name) on first use."""

    model: str
    name: str = "cross-encoder"
    _encoder: Any = field(default=None, repr=False)

    def scores(self, question: str, texts: Sequence[str]) -> list[float]:
        if self._encoder is None:
            try:
                from sentence_transformers import CrossEncoder
            except ImportError as exc:
                raise ConfigError("answer.reranker = cross-encoder needs sentence-transformers "
                                  "(pip install 'banyan-rag[st]')") from exc
            try:
                self._encoder = CrossEncoder(self.model)
            except (OSError, ValueError) as exc:
                raise ConfigError(f"answer.rerank_model {self.model!r}: cannot load a cross-encoder ({exc})") from exc
        return [float(s) for s in self._encoder.predict([(question, t) for t in texts])]


def make_reranker(cfg: AnswerSettings, llm_cfg: LLMSettings, llm: LLM | None, lang: str) -> Reranker | None:
    """The configured reranker; None when off, or when ``llm`` is asked for and there is no LLM."""
    kind = cfg.reranker
    if kind == "none":
        return None
    if kind == "llm":
        return LLMListwise(llm, lang) if llm is not None else None
    if kind == "http":
        base = cfg.rerank_url or llm_cfg.base_url
        if not base or not cfg.rerank_model:
            raise ConfigError("answer.reranker = http needs answer.rerank_model and answer.rerank_url "
                              "(or llm.base_url)")
        return HTTPRerank(base, cfg.rerank_model, llm_cfg.api_key, llm_cfg.timeout_s)
    if kind == "cross-encoder":
        if not cfg.rerank_model:
            raise ConfigError("answer.reranker = cross-encoder needs answer.rerank_model (a model folder)")
        return CrossEncoderRerank(cfg.rerank_model)
    raise ConfigError(f"unknown answer.reranker {kind!r}; choose one of {', '.join(RERANKERS)}")


class RerankingBuilder(ContextBuilder):
    """A ``ContextBuilder`` whose passage lists are reranked before they are admitted."""

    def __init__(self, budget: int, count: TokenCounter, prompts: PromptSet, reranker: Reranker, question: str,
                 top_n: int) -> None:
        super().__init__(budget, count, prompts)
        self.reranker, self.question, self.top_n = reranker, question, top_n
        self.notes: list[str] = []
        self.reranked = 0

    def add_passages(self, candidates: Iterable[Candidate], section: str = "passages", cap: int | None = None,
                     limit: int | None = None) -> int:
        items = list(candidates)
        if section == "passages" and len(items) > 1:
            head, tail = items[: self.top_n], items[self.top_n:]
            try:
                scores = self.reranker.scores(self.question, [c.text for c in head])
            except BudgetExceededError:
                raise
            except (RerankError, LLMError) as exc:
                self.notes.append(f"{self.reranker.name}: failed ({exc}); retrieval order kept")
            else:
                items = reorder(head, scores, self.reranker.name) + tail
                self.reranked += 1
        return super().add_passages(items, section, cap, limit)
