"""Query transforms usable by any answer mode (issue #10): multi-query, HyDE, step-back.

A ``QueryTransform`` asks the LLM for other texts to retrieve with: paraphrases (multi-query), a
hypothetical answer passage embedded as the query (HyDE), a broader question (step-back). The
question and every rewrite are retrieved in parallel threads and fused by reciprocal rank; the
fused passages enter the context first (at most ``answer.transform_share`` of the budget), then
the mode fills the rest as usual. A failed rewrite call is reported in the answer's notes and the
mode answers without it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel, Field

from banyan.answer.agent import retrieve_parallel
from banyan.answer.sources import IndexReader
from banyan.answer.types import TRANSFORMS, Candidate
from banyan.errors import BudgetExceededError, ConfigError, LLMError
from banyan.llm import LLM, CallParams, structured, user
from banyan.retrieve import Query, rrf
from banyan.types import Hit

MULTI = {
    "en": ("Write {n} different search queries that would find the passages answering the question (other words, "
           'other angles).\n\nQuestion: {question}\n\nReply with JSON {{"queries": ["...", "..."]}}.'),
    "zh": ("写出 {n} 个不同的中文检索查询，用来找到能回答问题的段落（换用说法或角度）。\n\n问题：{question}\n\n"
           '用 JSON 回答 {{"queries": ["……", "……"]}}。'),
}
HYDE = {
    "en": "Write a short encyclopedia passage (three sentences) that answers the question.\n\nQuestion: {question}",
    "zh": "写一段简短的百科式中文段落（三句话）来回答这个问题。\n\n问题：{question}",
}
STEP_BACK = {
    "en": ("Write the broader, more general question behind this one (step back: the topic or the entity it is "
           'about).\n\nQuestion: {question}\n\nReply with JSON {{"question": "..."}}.'),
    "zh": '写出这个问题背后更宽泛、更一般的中文问题（退一步：它涉及的主题或实体）。\n\n问题：{question}\n\n用 JSON 回答 {{"question": "……"}}。',
}


class Queries(BaseModel):
    queries: list[str] = Field(default_factory=list)


class Broader(BaseModel):
    question: str = ""


class QueryTransform(Protocol):
    name: str
    dense_only: bool
    """retrieve the rewrites by embedding only (HyDE: the passage stands in for the question's vector)"""

    def rewrite(self, question: str, lang: str, llm: LLM) -> list[str]:
        """Texts to retrieve with besides the question (raises ``LLMError`` when the call fails)."""
        ...


@dataclass(frozen=True)
class MultiQuery:
    n: int = 3
    name: str = "multi-query"
    dense_only: bool = False

    def rewrite(self, question: str, lang: str, llm: LLM) -> list[str]:
        res = structured(llm, [user(MULTI[lang].format(n=self.n, question=question))], Queries, stage="transform",
                         max_tokens=300)
        if res.value is None:
            raise LLMError(f"multi-query: {res.error}")
        return [t.strip() for t in res.value.queries if t.strip() and t.strip() != question][: self.n]


@dataclass(frozen=True)
class HyDE:
    name: str = "hyde"
    dense_only: bool = True

    def rewrite(self, question: str, lang: str, llm: LLM) -> list[str]:
        text = llm.complete([user(HYDE[lang].format(question=question))],
                            CallParams(temperature=0.0, max_tokens=200, stage="transform")).text.strip()
        return [text] if text else []


@dataclass(frozen=True)
class StepBack:
    name: str = "step-back"
    dense_only: bool = False

    def rewrite(self, question: str, lang: str, llm: LLM) -> list[str]:
        res = structured(llm, [user(STEP_BACK[lang].format(question=question))], Broader, stage="transform",
                         max_tokens=120)
        if res.value is None:
            raise LLMError(f"step-back: {res.error}")
        return [res.value.question.strip()] if res.value.question.strip() else []


def make_transform(name: str, queries: int = 3) -> QueryTransform | None:
    """The transform ``name`` names (None for ``none``)."""
    if name == "none":
        return None
    found: dict[str, QueryTransform] = {"multi-query": MultiQuery(queries), "hyde": HyDE(), "step-back": StepBack()}
    if name not in found:
        raise ConfigError(f"unknown query transform {name!r}; choose one of {', '.join(TRANSFORMS)}")
    return found[name]


@dataclass(frozen=True, slots=True)
class Transformed:
    """What a transform retrieved: the rewrites, the fused passages, the failure if the call failed."""

    name: str
    queries: tuple[str, ...]
    candidates: tuple[Candidate, ...]
    error: str | None = None

    def note(self) -> str:
        if self.error is not None:
            return f"{self.name}: the rewrite failed ({self.error}); answered without it"
        return f"{self.name}: {len(self.queries)} rewrite(s) retrieved with the question, fused by reciprocal rank"


def apply_transform(t: QueryTransform, reader: IndexReader, make_query: Callable[[str], Query], q: Query, llm: LLM,
                    k: int) -> Transformed:
    """Rewrite ``q`` with ``t``, retrieve the question and every rewrite in parallel, fuse by reciprocal rank."""
    try:
        texts = t.rewrite(q.text, q.lang, llm)
    except BudgetExceededError:
        raise
    except LLMError as exc:
        return Transformed(t.name, (), (), f"{type(exc).__name__}: {exc}")
    modes = list(reader.settings.mix_searches)
    weights = dict(reader.settings.mix_searches)

    def run(item: tuple[int, str]) -> list[Candidate]:
        i, text = item
        if i == 0:
            return retrieve_parallel(reader, q, modes, k, weights)[0]
        rq = make_query(text)
        if t.dense_only:
            return reader.search(rq, "dense", k)
        return retrieve_parallel(reader, rq, modes, k, weights)[0]

    with ThreadPoolExecutor(max_workers=1 + len(texts)) as pool:
        runs = list(pool.map(run, enumerate([q.text, *texts])))
    return Transformed(t.name, tuple(texts), tuple(fuse_candidates(runs, reader.retrieval.rrf_k, k)))


def fuse_candidates(runs: Sequence[Sequence[Candidate]], rrf_k: int, k: int) -> list[Candidate]:
    """Ranked candidate lists fused by reciprocal rank (each chunk once, with the routes of every list)."""
    by_id: dict[str, Candidate] = {}
    routes: dict[str, tuple[str, ...]] = {}
    for cands in runs:
        for c in cands:
            cid = c.citation.chunk_id
            by_id.setdefault(cid, c)
            routes[cid] = tuple(dict.fromkeys((*routes.get(cid, ()), *c.routes)))
    fused: list[Hit] = rrf({str(i): [c.citation.chunk_id for c in cands] for i, cands in enumerate(runs)}, k=rrf_k)
    return [Candidate(by_id[h.chunk_id].citation, by_id[h.chunk_id].text, h.score, routes[h.chunk_id])
            for h in fused[:k]]
