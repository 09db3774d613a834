"""Agent mode: multi-hop answering (decompose -> per-step parallel routes -> graph bridge -> reflect -> answer).

Without an LLM (``AgentSearch``, what ``answer_context`` and ``bench qa`` measure) only the
graph-native hops run: the question's passages (its retrieval modes run in parallel threads and
fused), then the entities the graph links from the best of those passages seed a second hop
(their own chunks, and the question retrieved again with their names), all under one budget.

With an LLM (``AgentLoop``) one call splits the question into sub-questions that name the entity
types of the schema (``#1`` stands for the answer of step 1); each step retrieves as above and a
reflection call (IRCoT style) gives the step's answer, whether the evidence suffices, the bridge
entity and the next sub-question, for at most ``answer.agent_max_steps`` steps. A question that
is not decomposed skips reflection: the graph-native hop is its bridge. The answer is written from
the union of every step's evidence, and each step is a typed ``AgentStep`` in the trace.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, Field

from banyan.answer.context import ContextBuilder
from banyan.answer.sources import IndexReader
from banyan.answer.types import AgentStep, AnswerContext, Candidate
from banyan.llm import LLM, structured, user
from banyan.retrieve import Query, rrf
from banyan.settings import AnswerSettings
from banyan.types import Hit

BRIDGE_ROUTE = "graph-bridge"
PLACEHOLDER = re.compile(r"#(\d+)")
REFLECT_PASSAGES = 6
"""passages of a step that reflection reads"""
REFLECT_CHARS = 600

DECOMPOSE = {
    "en": ("Split the question into the simplest sub-questions that answer it when taken in order (at most {n}). "
           "Name in each sub-question the type of what it looks for, using these entity types where they fit: "
           "{types}. Write #1, #2 for the answer of an earlier sub-question. A question that needs a single "
           'lookup stays whole.\n\nQuestion: {question}\n\nReply with JSON {{"sub_questions": ["...", "..."]}}.'),
    "zh": ("把问题拆成按顺序回答即可解决原问题的最简单的子问题（最多 {n} 个），用中文书写。每个子问题要写明所找对象的类型，"
           "尽量使用这些实体类型：{types}。用 #1、#2 表示前面子问题的答案。只需一次查找的问题保持原样。\n\n问题：{question}"
           '\n\n用 JSON 回答 {{"sub_questions": ["……", "……"]}}。'),
}
REFLECT = {
    "en": ("Question: {question}\nFindings so far:\n{findings}\nCurrent sub-question: {sub}\n\nPassages:\n{passages}"
           "\n\nAnswer the current sub-question from the passages (short: an entity, a date, a number). Say whether "
           "the findings and this answer now suffice for the question, name the bridge entity that leads to the "
           "next step, and write the next sub-question if one is needed.\n"
           'Reply with JSON {{"answer": "...", "sufficient": true|false, "bridge": "...", "next_question": "..."}}.'),
    "zh": ("问题：{question}\n已有结论：\n{findings}\n当前子问题：{sub}\n\n段落：\n{passages}\n\n"
           "根据段落回答当前子问题（简短：一个实体、日期或数字）。判断已有结论加上这个答案是否足以回答原问题，指出通向下一步的桥接实体，"
           "如果还需要，用中文写出下一个子问题。\n"
           '用 JSON 回答 {{"answer": "……", "sufficient": true|false, "bridge": "……", "next_question": "……"}}。'),
}
FINDINGS = {"en": "Intermediate findings (check them against the passages):", "zh": "中间结论（请对照段落核实）："}
NONE_YET = {"en": "(none)", "zh": "（无）"}


class Decomposition(BaseModel):
    sub_questions: list[str] = Field(default_factory=list)


class Reflection(BaseModel):
    answer: str = ""
    sufficient: bool = False
    bridge: str = ""
    next_question: str = ""


@dataclass(frozen=True, slots=True)
class Hop:
    """What one retrieval step found: fused passages, the modes run, the graph's bridge entities."""

    candidates: tuple[Candidate, ...]
    routes: tuple[str, ...]
    bridge: tuple[str, ...]


def retrieve_parallel(reader: IndexReader, q: Query, modes: Sequence[str], k: int,
                      weights: dict[str, float] | None = None) -> tuple[list[Candidate], tuple[str, ...]]:
    """``modes`` run in parallel threads on one ``Query``, fused by weighted reciprocal rank."""
    _ = q.links  # link once, before the threads share the query
    with ThreadPoolExecutor(max_workers=max(1, len(modes))) as pool:
        runs = dict(zip(modes, pool.map(lambda m: reader.retriever.search(q, m, k), modes), strict=True))
    routes: dict[str, tuple[str, ...]] = {}
    for hits in runs.values():
        for h in hits:
            routes[h.chunk_id] = tuple(dict.fromkeys((*routes.get(h.chunk_id, ()), *h.routes)))
    fused = rrf({m: [h.chunk_id for h in hits] for m, hits in runs.items()}, k=reader.retrieval.rrf_k,
                weights=weights)[:k]
    return reader.candidates([Hit(h.chunk_id, h.score, routes.get(h.chunk_id, h.routes)) for h in fused]), tuple(runs)


def graph_bridge(reader: IndexReader, q: Query, top: Sequence[Candidate], n_passages: int,
                 n_entities: int) -> tuple[list[str], list[str]]:
    """Entities the graph links from the ``top`` passages (not the question's own), most specific and most
    mentioned first, and their own chunks: (names, chunk ids)."""
    kg = reader.graph()
    if kg is None or n_passages <= 0 or n_entities <= 0:
        return [], []
    n_e = kg.n_entities
    wanted = {c.citation.chunk_id for c in top[:n_passages]}
    nodes = {cid: n_e + i for i, cid in enumerate(kg.chunk_ids) if cid in wanted}
    own = set(q.links)
    score: dict[int, float] = {}
    for c in top[:n_passages]:
        node = nodes.get(c.citation.chunk_id)
        if node is None:
            continue
        row = kg.adjacency[node, :n_e]
        for e, w in zip(row.indices, row.data, strict=True):
            e = int(e)
            if e in own or not kg.home.get(e):
                continue
            score[e] = score.get(e, 0.0) + float(w) / np.log(2.0 + float(kg.entity_chunks[e]))
    chosen = sorted(score, key=lambda e: -score[e])[:n_entities]
    chunks = list(dict.fromkeys(kg.chunk_node(c) for e in chosen for c in kg.home.get(e, [])))
    return [kg.names[e] for e in chosen], chunks


def hop(reader: IndexReader, q: Query, cfg: AnswerSettings) -> Hop:
    """One step's retrieval: the modes of ``answer.mix_searches`` in parallel, fused, plus the graph's bridge."""
    cands, routes = retrieve_parallel(reader, q, list(cfg.mix_searches), cfg.passages, dict(cfg.mix_searches))
    names, home = graph_bridge(reader, q, cands, cfg.agent_bridge_passages, cfg.agent_bridge_entities)
    seen = {c.citation.chunk_id for c in cands}
    bridged = reader.chunk_candidates([c for c in home if c not in seen], BRIDGE_ROUTE, 0.0)
    return Hop(tuple(cands) + tuple(bridged), routes + ((BRIDGE_ROUTE,) if bridged else ()), tuple(names))


@dataclass(frozen=True)
class AgentSearch:
    """Agent mode without an LLM: hop 1, then the graph-linked bridge entities seed hop 2 (no call)."""

    reader: IndexReader
    make_query: Callable[[str], Query]
    name: str = "agent"

    def fill(self, q: Query, b: ContextBuilder) -> list[str]:
        cfg = self.reader.settings
        first = hop(self.reader, q, cfg)
        direct = [c for c in first.candidates if BRIDGE_ROUTE not in c.routes]
        bridged = [c for c in first.candidates if BRIDGE_ROUTE in c.routes]
        b.add_passages(direct, cap=int(b.budget * cfg.agent_first_hop_share))
        b.add_passages(bridged)
        if first.bridge:
            second, _ = retrieve_parallel(self.reader, self.make_query(f"{q.text} {' '.join(first.bridge)}"),
                                          list(cfg.mix_searches), cfg.passages, dict(cfg.mix_searches))
            b.add_passages(second)
        b.add_passages(direct)
        if self.reader.graph() is None:
            return ["agent: this index has no knowledge graph; one retrieval hop, no bridge"]
        if not first.bridge:
            return ["agent: the graph links no bridge entity from the first hop's passages; one hop"]
        return [f"agent: graph-native bridge hop via {', '.join(first.bridge)}"]


@dataclass
class AgentResult:
    context: AnswerContext
    steps: list[AgentStep]
    question: str
    """the question the answer prompt asks: the user's, with the steps' findings"""
    notes: list[str] = field(default_factory=list)


def substitute(text: str, answers: Sequence[str]) -> str:
    """``#n`` -> the answer of step n (left as written when that step has none)."""
    def one(m: re.Match[str]) -> str:
        i = int(m.group(1)) - 1
        return answers[i] if 0 <= i < len(answers) and answers[i] else m.group(0)
    return PLACEHOLDER.sub(one, text)


@dataclass
class AgentLoop:
    """Agent mode with an LLM: decompose, a step per sub-question with reflection, union of evidence."""

    reader: IndexReader
    make_query: Callable[[str], Query]
    llm: LLM
    lang: str

    @property
    def cfg(self) -> AnswerSettings:
        return self.reader.settings

    def decompose(self, question: str) -> tuple[list[str], int, str | None]:
        """The sub-questions (the question itself when not decomposed), tokens spent, the error if any."""
        kg = self.reader.graph()
        types = ", ".join(sorted(set(kg.types))[:20]) if kg is not None else "-"
        prompt = DECOMPOSE[self.lang].format(n=self.cfg.agent_max_steps, types=types or "-", question=question)
        res = structured(self.llm, [user(prompt)], Decomposition, stage="agent",
                         max_tokens=self.cfg.agent_reflect_tokens)
        tokens = res.usage.prompt_tokens + res.usage.completion_tokens
        subs = [s.strip() for s in (res.value.sub_questions if res.value else []) if s.strip()]
        return (subs or [question]), tokens, (None if res.value is not None else res.error)

    def reflect(self, question: str, sub: str, findings: Sequence[str], found: Hop) -> tuple[Reflection | None, int,
                                                                                              str | None]:
        passages = "\n".join(f"- {(c.citation.title + ': ') if c.citation.title else ''}{c.text[:REFLECT_CHARS]}"
                             for c in found.candidates[:REFLECT_PASSAGES])
        prompt = REFLECT[self.lang].format(question=question, findings="\n".join(findings) or NONE_YET[self.lang],
                                           sub=sub, passages=passages or NONE_YET[self.lang])
        res = structured(self.llm, [user(prompt)], Reflection, stage="agent", max_tokens=self.cfg.agent_reflect_tokens)
        return res.value, res.usage.prompt_tokens + res.usage.completion_tokens, res.error

    def run(self, question: str, q: Query, b: ContextBuilder) -> AgentResult:
        t0 = time.perf_counter()
        plan, tokens, error = self.decompose(question)
        notes = [f"agent: decomposition failed ({error}); the question was asked whole"] if error else []
        reflect = len(plan) > 1
        pending, answers, findings = list(plan), [], []
        steps: list[AgentStep] = []
        hops: list[Hop] = []
        first_seconds = time.perf_counter() - t0
        while pending and len(steps) < self.cfg.agent_max_steps:
            t1 = time.perf_counter()
            sub = substitute(pending.pop(0), answers)
            found = hop(self.reader, q if sub == question else self.make_query(sub), self.cfg)
            hops.append(found)
            ids = tuple(c.citation.chunk_id for c in found.candidates)
            if not reflect:
                steps.append(AgentStep(sub, found.routes, ids, "graph", "", found.bridge, tokens,
                                       time.perf_counter() - t1 + first_seconds))
                break
            got, spent, err = self.reflect(question, sub, findings, found)
            spent += tokens if not steps else 0
            seconds = time.perf_counter() - t1 + (first_seconds if not steps else 0.0)
            if got is None:  # this sub-question fails; the others go on (#n falls back to the graph's bridge)
                answers.append(found.bridge[0] if found.bridge else "")
                steps.append(AgentStep(sub, found.routes, ids, "error", "", found.bridge, spent, seconds, err))
                continue
            answers.append(got.answer.strip() or (found.bridge[0] if found.bridge else ""))
            findings.append(f"- {sub} -> {got.answer.strip()}")
            bridge = (got.bridge.strip(),) if got.bridge.strip() else found.bridge
            verdict = "sufficient" if got.sufficient else "continue"
            steps.append(AgentStep(sub, found.routes, ids, verdict, got.answer.strip(), bridge, spent, seconds))
            if got.sufficient:
                break
            if got.next_question.strip():
                nxt = got.next_question.strip()
                if pending:
                    pending[0] = nxt
                else:
                    pending.append(nxt)
        if steps and steps[-1].verdict == "continue" and len(steps) >= self.cfg.agent_max_steps:
            last = steps[-1]
            steps[-1] = AgentStep(last.sub_question, last.routes, last.evidence, "max-steps", last.answer,
                                  last.bridge, last.tokens, last.seconds)
            notes.append(f"agent: stopped after answer.agent_max_steps = {self.cfg.agent_max_steps} steps")
        failed = [s for s in steps if s.verdict == "error"]
        if failed:
            notes.append(f"agent: {len(failed)} step(s) failed: {failed[0].error}")
        head = max(1, self.cfg.passages // max(1, len(hops)) // 2)
        for h in hops:  # every step's best passages first, then the rest: the union under one budget
            b.add_passages(h.candidates, limit=head)
        for h in hops:
            b.add_passages(h.candidates)
        ctx = b.build("agent")
        asked = f"{question}\n\n{FINDINGS[self.lang]}\n" + "\n".join(findings) if findings else question
        return AgentResult(ctx, steps, asked, notes)
