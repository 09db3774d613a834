"""Triple filtering (HippoRAG 2's recognition memory, issue #10), an option for the graph routes.

Before the walk, the LLM reads the top triples around the question's linked entities and keeps the
facts relevant to the question; the entities of the kept facts become the question's links, so
PPR, the home, bridge, entity and path routes start from them. One call per question
(``answer.triple_filter = true``; it needs an LLM and a graph). When nothing is kept or the call
fails, the links stay as entity linking found them and a note says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, Field

from banyan.answer.sources import IndexReader, relation_line
from banyan.llm import LLM, structured, user
from banyan.retrieve import Query
from banyan.types import Triple

FILTER = {
    "en": ("Which of these facts help answer the question? Keep only the relevant ones.\n\nQuestion: {question}\n\n"
           'Facts:\n{facts}\n\nReply with JSON {{"keep": [n, ...]}} (an empty list when none is relevant).'),
    "zh": ("这些事实中哪些有助于回答问题？只保留相关的。\n\n问题：{question}\n\n事实：\n{facts}\n\n"
           '用 JSON 回答 {{"keep": [n, ...]}}（都不相关时为空列表）。'),
}


class Keep(BaseModel):
    keep: list[int] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TripleFilter:
    """What filtering did: the facts offered, those kept, the query the routes run on."""

    query: Query
    offered: int
    kept: tuple[str, ...]
    tokens: int
    note: str


def candidate_triples(reader: IndexReader, q: Query, top: int) -> list[Triple]:
    """The linked entities' triples, those between two linked entities first (at most ``top``)."""
    kg = reader.graph()
    if kg is None or not q.links:
        return []
    norms = [n for n, e in kg.norm_index.items() if e in q.links]
    triples = reader.store.relations_of(norms, limit=top * 3)
    ours = set(norms)
    triples.sort(key=lambda t: not (t.head in ours and t.tail in ours))
    return list({(t.head, t.phrase, t.tail): t for t in triples}.values())[:top]


def filter_triples(reader: IndexReader, make_query: Callable[[str], Query], q: Query, llm: LLM,
                   top: int) -> TripleFilter:
    """Ask ``llm`` which of the top triples matter; the kept facts' entities seed the graph routes."""
    triples = candidate_triples(reader, q, top)
    kg = reader.graph()
    if not triples or kg is None:
        return TripleFilter(q, 0, (), 0, "triple filter: no linked entity with facts; links unchanged")

    def name(norm: str) -> str:
        return kg.names[kg.norm_index[norm]] if norm in kg.norm_index else norm

    lines = [relation_line(name(t.head), t.phrase, name(t.tail), t.type) for t in triples]
    facts = "\n".join(f"[{i}] {line}" for i, line in enumerate(lines, 1))
    res = structured(llm, [user(FILTER["zh" if q.lang == "zh" else "en"].format(question=q.text, facts=facts))], Keep,
                     stage="triple-filter", max_tokens=200)
    tokens = res.usage.prompt_tokens + res.usage.completion_tokens
    if res.value is None:
        return TripleFilter(q, len(triples), (), tokens, f"triple filter: the call failed ({res.error}); links unchanged")
    kept = [i - 1 for i in dict.fromkeys(res.value.keep) if 1 <= i <= len(triples)]
    links = {kg.norm_index[n]: 1.0 for i in kept for n in (triples[i].head, triples[i].tail) if n in kg.norm_index}
    if not links:
        return TripleFilter(q, len(triples), (), tokens,
                            f"triple filter: none of {len(triples)} facts kept; links unchanged")
    filtered = make_query(q.text)
    filtered.links = links  # the walk starts from the kept facts' entities (a cached property, set once)
    return TripleFilter(filtered, len(triples), tuple(lines[i] for i in kept), tokens,
                        f"triple filter: kept {len(kept)} of {len(triples)} facts; the graph routes start from "
                        f"{', '.join(kg.names[e] for e in links)}")
