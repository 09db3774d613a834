"""Global mode: map-reduce over community reports, with dynamic community selection.

Selection walks the community tree top-down: it rates the reports of the top-level communities,
prunes every subtree whose report rates below ``answer.global_rating_threshold`` and rates the
children of the relevant ones, down to the leaves; a relevant community none of whose children is
relevant stands for its subtree. Only the survivors are mapped (each map call reads up to
``answer.global_map_tokens`` of reports and lists cited key points), and one reduce call answers
from the best points. Without selection every report of ``answer.global_level`` is mapped.
The context (``AnswerContext``) is built with a rater that needs no LLM (shared question words);
``ask`` rates with the LLM.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from pydantic import BaseModel, Field

from banyan.answer.citations import validate_citations
from banyan.answer.context import ContextBuilder
from banyan.answer.extractive import question_terms
from banyan.answer.prompts import PromptSet, answer_messages
from banyan.answer.sources import IndexReader
from banyan.answer.strategies import NO_GRAPH, MixSearch
from banyan.answer.types import AnswerContext, Candidate, ReportBlock, SelectionStats
from banyan.llm import LLM, ChatMessage, StructuredResult, run_batch, structured, system, user
from banyan.retrieve import Query
from banyan.settings import AnswerSettings
from banyan.text import bm25_tokens
from banyan.types import Community

NO_COMMUNITIES = ("global: this index has no communities (run `banyan communities build` for global answers); "
                  "answered from mix passages")
NOTHING_RELEVANT = "global: no community report was rated relevant to the question; answered from mix passages"
_REF = re.compile(r"\s?\[([^\[\]\s,]+)\]")
_CHUNK_ID = re.compile(r"[0-9a-f]{8,64}")


class Rater(Protocol):
    def rate(self, question: str, texts: Sequence[str]) -> list[float]:
        """How relevant each report text is to the question, from 0 to 5."""
        ...


@dataclass(frozen=True)
class LexicalRater:
    """No LLM: 5 x the share of the question's content words (stemmed; Chinese segmented) in the report."""

    def rate(self, question: str, texts: Sequence[str]) -> list[float]:
        terms = question_terms(question)
        if not terms:
            return [0.0 for _ in texts]
        return [5.0 * len(terms & set(bm25_tokens(t))) / len(terms) for t in texts]


class Rating(BaseModel):
    score: float = Field(ge=0, le=5)


@dataclass
class LLMRater:
    """One structured call per report (run concurrently); a failed call rates 0 and is recorded."""

    llm: LLM
    prompts: PromptSet
    concurrency: int = 4
    errors: list[str] = field(default_factory=list)

    def rate(self, question: str, texts: Sequence[str]) -> list[float]:
        def one(text: str) -> float:
            res = structured(self.llm, [user(self.prompts.rate.format(question=question, report=text))], Rating,
                             stage="answer-rate", max_tokens=32)
            if not res.ok or res.value is None:
                self.errors.append(res.error or "no rating")
                return 0.0
            return float(res.value.score)

        return run_batch(list(texts), one, concurrency=self.concurrency)


@dataclass(frozen=True, slots=True)
class Selection:
    kept: tuple[tuple[Community, float], ...]
    """the surviving communities and their ratings, best first"""
    rated: tuple[Community, ...]


def community_text(c: Community) -> str:
    return f"{c.title}\n{c.report.text()}"


def select_communities(communities: Sequence[Community], rate: Callable[[Sequence[Community]], Sequence[float]],
                       threshold: float, max_ratings: int) -> Selection:
    """Dynamic community selection: rate top-down, prune irrelevant subtrees, keep the deepest relevant."""
    ids = {c.id for c in communities}
    children: dict[str, list[Community]] = {}
    for c in communities:
        if c.parent in ids:
            children.setdefault(c.parent, []).append(c)
    frontier = [c for c in communities if c.parent not in ids]
    scores: dict[str, float] = {}
    rated: list[Community] = []
    while frontier and len(rated) < max_ratings:
        batch = frontier[: max_ratings - len(rated)]
        rated.extend(batch)
        frontier = []
        for c, s in zip(batch, rate(batch)):
            scores[c.id] = float(s)
            if s >= threshold:
                frontier.extend(children.get(c.id, []))
    relevant = {cid for cid, s in scores.items() if s >= threshold}
    kept = [c for c in rated if c.id in relevant
            and not any(k.id in relevant for k in children.get(c.id, []))]
    kept.sort(key=lambda c: (-scores[c.id], c.level, -c.size))
    return Selection(tuple((c, scores[c.id]) for c in kept), tuple(rated))


def static_level(communities: Sequence[Community], level: int) -> list[Community]:
    """Every community of ``level`` (the highest level there is, if fewer), largest first."""
    top = max((c.level for c in communities), default=0)
    chosen = min(level, top)
    return sorted((c for c in communities if c.level == chosen), key=lambda c: (-c.size, c.id))


def report_head(c: Community, numbers: dict[str, int]) -> str:
    """The report's prose with its ``[chunk_id]`` references turned into citation numbers (or removed)."""
    r = c.report
    if r.llm_summary:
        text = f"{r.llm_title}: {r.llm_summary}" if r.llm_title else r.llm_summary
        return _REF.sub(lambda m: f" [{numbers[m.group(1)]}]" if m.group(1) in numbers
                        else "" if _CHUNK_ID.fullmatch(m.group(1)) else m.group(), text)
    return ", ".join(r.entities)


def map_batches(blocks: Sequence[ReportBlock], max_tokens: int) -> list[list[ReportBlock]]:
    """Reports packed in order into batches of at most ``max_tokens`` (a larger report goes alone)."""
    out: list[list[ReportBlock]] = []
    used = 0
    for b in blocks:
        if not out or used + b.tokens > max_tokens:
            out.append([])
            used = 0
        out[-1].append(b)
        used += b.tokens
    return out


@dataclass(frozen=True)
class GlobalSearch:
    reader: IndexReader
    rater: Rater = LexicalRater()
    selection: bool = True
    passage_budget: int | None = None
    """the budget of a fallback to passages (the builder's budget is the map steps' report tokens)"""
    name: str = "global"

    def _passages(self, q: Query, b: ContextBuilder, note: str) -> list[str]:
        if self.passage_budget is not None:
            b.budget = min(b.budget, self.passage_budget)
        MixSearch(self.reader).fill(q, b)
        return [note]

    def _evidence(self, c: Community) -> list[Candidate]:
        found = self.reader.store.citations([e.chunk_id for e in c.report.evidence])
        out = []
        for e in c.report.evidence:
            p = found.get(e.chunk_id)
            if p is None:
                continue
            at = p.text.find(e.text) if e.text else -1
            if at < 0:
                out.append(Candidate(p.citation, p.text, 0.0, ("community",)))
            else:
                start = p.citation.start + at
                out.append(Candidate(replace(p.citation, start=start, end=start + len(e.text)), e.text, 0.0,
                                     ("community",)))
        return out

    def fill(self, q: Query, b: ContextBuilder) -> list[str]:
        s = self.reader.settings
        if self.reader.graph() is None:
            return self._passages(q, b, f"global: {NO_GRAPH}, so it has no communities; answered from passages")
        communities = self.reader.store.communities()
        if not communities:
            return self._passages(q, b, NO_COMMUNITIES)
        static = static_level(communities, s.global_level)
        static_tokens = sum(b.count(community_text(c)) for c in static)
        if self.selection:
            sel = select_communities(communities, lambda cs: self.rater.rate(q.text, [community_text(c)
                                                                                      for c in cs]),
                                     s.global_rating_threshold, s.global_max_ratings)
            chosen, rated = list(sel.kept), list(sel.rated)
        else:
            chosen, rated = [(c, 0.0) for c in static], []
        if not chosen:
            return self._passages(q, b, NOTHING_RELEVANT)
        for c, rating in chosen:
            block = ReportBlock(c.id, c.title, c.level, rating, "", 0)
            b.add_report(block, lambda numbers, c=c: report_head(c, numbers), self._evidence(c))
        blocks = b.reports
        mapped = {x.community_id for x in blocks}
        used = rated + [c for c, _ in chosen if c.id in mapped]
        b.selection = SelectionStats(
            self.selection, len(communities), len(rated), len(blocks), len(rated),
            len(map_batches(blocks, s.global_map_tokens)), sum(b.count(community_text(c)) for c in used),
            static_tokens)
        return []


class Point(BaseModel):
    description: str
    score: float = Field(0, ge=0, le=100)


class MapReply(BaseModel):
    points: list[Point] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Reduced:
    """What the map steps produced: the reduce prompt (None when no point was found), and what failed."""

    messages: list[ChatMessage] | None
    points: int
    removed: int
    errors: tuple[str, ...]
    failed_all: bool


def map_reduce(llm: LLM, ctx: AnswerContext, question: str, prompts: PromptSet, cfg: AnswerSettings,
               count: Callable[[str], int], budget: int, *, reject: bool, concurrency: int = 4) -> Reduced:
    """Map every batch of reports to cited points, then write the reduce prompt from the best points."""
    batches = map_batches(ctx.reports, cfg.global_map_tokens)

    def one(batch: list[ReportBlock]) -> StructuredResult[Any]:
        body = prompts.map_user.format(reports="\n\n".join(x.text for x in batch), question=question)
        return structured(llm, [system(prompts.map_system), user(body)], MapReply, stage="answer-map",
                          max_tokens=cfg.global_map_answer_tokens)

    results = run_batch(batches, one, concurrency=concurrency)
    valid = {e.n for e in ctx.evidence}
    points: list[tuple[float, str]] = []
    errors, removed = [], 0
    for res in results:
        if not res.ok or res.value is None:
            errors.append(str(res.error))
            continue
        for p in res.value.points:
            check = validate_citations(p.description.strip(), valid)
            removed += check.removed
            if p.score > 0 and check.text:
                points.append((p.score, check.text))
    points.sort(key=lambda x: -x[0])
    lines, used = [], count(prompts.reduce_heading)
    for score, text in points:
        line = f"- ({score:.0f}) {text}"
        if used + count(line) > budget:
            continue
        lines.append(line)
        used += count(line)
    failed_all = bool(batches) and len(errors) == len(batches)
    if not lines and (reject or failed_all):
        return Reduced(None, 0, removed, tuple(errors), failed_all)
    context = f"## {prompts.reduce_heading}\n" + ("\n".join(lines) or "(none)")
    return Reduced(answer_messages(prompts, context, question, reject=reject), len(lines), removed, tuple(errors),
                   failed_all)
