"""The typed values of the answer engine: numbered evidence, the assembled context, the answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from banyan.types import Citation

ANSWER_MODES: tuple[str, ...] = ("auto", "naive", "mix", "local", "global", "full", "agent")
TRANSFORMS: tuple[str, ...] = ("none", "multi-query", "hyde", "step-back")
"""query transforms (``answer.transforms``)"""
"""What ``Banyan.ask`` takes as ``mode``; ``auto`` resolves to one of the others per question."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """One numbered passage in the context: ``[n]`` in the prompt and in the answer."""

    n: int
    chunk_id: str
    text: str
    citation: Citation
    """document, path, chunk and the character offsets of ``text`` in the document"""
    score: float
    routes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        c = self.citation
        return {"n": self.n, "chunk_id": self.chunk_id, "score": round(self.score, 6), "routes": list(self.routes),
                "text": self.text, "citation": {"doc_id": c.doc_id, "source": c.source, "title": c.title,
                                                "chunk": c.ordinal, "start": c.start, "end": c.end}}


@dataclass(frozen=True, slots=True)
class Fact:
    """A line of a structured section (an entity, a relation, an attribute), from one chunk."""

    text: str
    chunk_id: str | None = None
    """the chunk that says it: the line cites it when that chunk is in the context"""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A passage offered to the context builder: retrieved, or read whole (full mode)."""

    citation: Citation
    text: str
    score: float = 0.0
    routes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReportBlock:
    """A community report as one global-mode map step reads it, its evidence numbered in the context."""

    community_id: str
    title: str
    level: int
    rating: float
    text: str
    tokens: int


@dataclass(frozen=True, slots=True)
class SelectionStats:
    """What global mode read: with dynamic community selection and what a static map would have read."""

    selection: bool
    reports_total: int
    """reports at every level"""
    reports_rated: int
    reports_mapped: int
    rating_calls: int
    map_calls: int
    report_tokens_used: int
    """tokens of the reports the LLM reads: rated, then mapped (without selection: mapped)"""
    report_tokens_static: int
    """tokens of every report of the static level: what a map without selection reads"""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class AnswerContext:
    """What the model reads, built without any LLM call."""

    mode: str
    """the resolved mode (``auto`` resolved)"""
    text: str
    """the full assembled context text (all sections)"""
    evidence: tuple[Evidence, ...]
    section_tokens: dict[str, int]
    tokens: int
    reports: tuple[ReportBlock, ...] = ()
    """global mode: the selected community reports (the map steps read these)"""
    notes: tuple[str, ...] = ()
    """how the context was made when it differs from the mode asked for (fallbacks, missing graph ...)"""
    selection: SelectionStats | None = None


@dataclass(frozen=True, slots=True)
class AgentStep:
    """One hop of agent mode: what was asked, where the evidence came from, what reflection concluded."""

    sub_question: str
    routes: tuple[str, ...]
    """retrieval modes run (in parallel) for the sub-question; ``graph-bridge`` when the graph seeded it"""
    evidence: tuple[str, ...]
    """chunk ids this step retrieved, best first"""
    verdict: str
    """``sufficient``, ``continue``, ``error``, ``max-steps`` or ``graph`` (no reflection call)"""
    answer: str = ""
    """the step's intermediate answer (from reflection; empty without one)"""
    bridge: tuple[str, ...] = ()
    """bridge entities: named by reflection, else linked by the graph from the step's top passages"""
    tokens: int = 0
    """LLM tokens of the step's reflection (step 1 also counts the decomposition call)"""
    seconds: float = 0.0
    error: str | None = None
    """the reflection call's failure (verdict ``error``); the step's evidence is kept"""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["routes"], d["evidence"], d["bridge"] = list(self.routes), list(self.evidence), list(self.bridge)
        d["seconds"] = round(self.seconds, 3)
        return d


@dataclass(frozen=True, slots=True)
class Answer:
    question: str
    text: str
    mode: str
    citations: tuple[Evidence, ...]
    """evidence actually cited in ``text``, in order of first citation"""
    evidence: tuple[Evidence, ...]
    """everything in the context"""
    extractive: bool
    """True when produced without an LLM (none configured, or the LLM failed)"""
    insufficient: bool
    """reject mode said "insufficient evidence\""""
    removed_citations: int
    """cited numbers that are not in the context, removed from ``text``"""
    context_tokens: int
    tokens_in: int
    tokens_out: int
    llm_calls: int
    seconds: float
    error: str | None
    """LLM failure message (the evidence is still returned)"""
    notes: tuple[str, ...]
    uncited: tuple[str, ...] = ()
    """sentences of ``text`` that cite no passage (open mode: from the model's own knowledge)"""
    selection: SelectionStats | None = None
    """global mode: reports rated and mapped, report tokens with and without selection"""
    model: str | None = None
    trace: tuple[AgentStep, ...] = ()
    """agent mode: each step (sub-question, routes, evidence ids, verdict, tokens, seconds)"""

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question, "answer": self.text, "mode": self.mode,
            "citations": [e.n for e in self.citations], "evidence": [e.to_dict() for e in self.evidence],
            "extractive": self.extractive, "insufficient": self.insufficient,
            "removed_citations": self.removed_citations, "uncited": list(self.uncited),
            "context_tokens": self.context_tokens, "tokens_in": self.tokens_in, "tokens_out": self.tokens_out,
            "llm_calls": self.llm_calls, "seconds": round(self.seconds, 3), "model": self.model, "error": self.error,
            "notes": list(self.notes), "selection": self.selection.to_dict() if self.selection else None,
            "trace": [st.to_dict() for st in self.trace],
        }

