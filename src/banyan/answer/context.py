"""ContextBuilder: sections (entities, relations, reports, passages) assembled under a token budget.

Every mode fills one builder. Passages are numbered ``[1]``, ``[2]`` ... in the order they are
added (best first), deduplicated by chunk, by identical text and by character overlap with a
passage of the same document already in the context (the overlapping part is cut and the
citation offsets follow). Fact lines (entities, relations, attributes) cite the chunk they come
from when that chunk is in the context. Tokens are counted with the counter given (the model's
tokenizer when known, else ``banyan.text.count_tokens``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from banyan.answer.prompts import PromptSet
from banyan.answer.types import AnswerContext, Candidate, Evidence, Fact, ReportBlock, SelectionStats

TokenCounter = Callable[[str], int]
SECTION_ORDER = ("entities", "relations", "reports", "passages", "documents")
CITE_ALLOWANCE = " [00]"
"""What a fact line's citation may add, counted when the line is admitted."""
_SPACE = re.compile(r"\s+")


def uncovered(start: int, end: int, taken: Iterable[tuple[int, int]]) -> tuple[int, int] | None:
    """The longest part of ``[start, end)`` that no span in ``taken`` covers (None if nothing is left)."""
    pieces = [(start, end)]
    for s, e in sorted(taken):
        nxt = []
        for a, b in pieces:
            if e <= a or s >= b:
                nxt.append((a, b))
                continue
            if a < s:
                nxt.append((a, s))
            if e < b:
                nxt.append((e, b))
        pieces = nxt
    return max(pieces, key=lambda p: p[1] - p[0]) if pieces else None


def trim_candidate(c: Candidate, taken: Iterable[tuple[int, int]]) -> Candidate | None:
    """``c`` without the characters already in the context (same document); None if nothing new is left.

    Offsets are the document's: ``text == document[citation.start:citation.end]``, so a cut moves them."""
    cit = c.citation
    part = uncovered(cit.start, cit.end, taken)
    if part is None:
        return None
    a, b = part
    text = c.text[a - cit.start: b - cit.start]
    lead = len(text) - len(text.lstrip())
    text = text.strip()
    if not text:
        return None
    start = a + lead
    return replace(c, text=text, citation=replace(cit, start=start, end=start + len(text)))


def passage_line(n: int, text: str, title: str | None) -> str:
    body = _SPACE.sub(" ", text).strip()
    return f"[{n}] {title}: {body}" if title else f"[{n}] {body}"


@dataclass(slots=True)
class _Line:
    text: str
    chunk_id: str | None = None
    n: int | None = None
    """a passage's own number (passage lines), else None"""


class ContextBuilder:
    """Collects numbered passages and fact lines while the budget lasts; ``build`` renders them."""

    def __init__(self, budget: int, count: TokenCounter, prompts: PromptSet) -> None:
        self.budget, self.count, self.prompts = budget, count, prompts
        self._lines: dict[str, list[_Line]] = {}
        self._spent: dict[str, int] = {}
        self._evidence: list[Evidence] = []
        self._by_chunk: dict[str, int] = {}
        self._spans: dict[str, list[tuple[int, int]]] = {}
        self._texts: set[str] = set()
        self._last_title: dict[str, str] = {}
        self._reports: list[ReportBlock] = []
        self.selection: SelectionStats | None = None
        """set by global mode: what selection rated and what the map steps will read"""

    # -- state -------------------------------------------------------------------------------
    @property
    def spent(self) -> int:
        return sum(self._spent.values())

    @property
    def remaining(self) -> int:
        return max(0, self.budget - self.spent)

    @property
    def evidence(self) -> tuple[Evidence, ...]:
        return tuple(self._evidence)

    @property
    def reports(self) -> tuple[ReportBlock, ...]:
        return tuple(self._reports)

    def _cost(self, section: str, text: str) -> int:
        """Tokens ``text`` adds to ``section`` (with the section's heading if it is the first line)."""
        head = 0 if section in self._spent else self.count(f"## {self.prompts.sections.get(section, section)}")
        return self.count(text) + head

    def _append(self, section: str, line: _Line, cost: int) -> None:
        self._spent[section] = self._spent.get(section, 0) + cost
        self._lines.setdefault(section, []).append(line)

    # -- adding ------------------------------------------------------------------------------
    def add_facts(self, section: str, facts: Sequence[Fact], cap: int | None = None) -> int:
        """Distinct fact lines, in order, while they fit ``cap`` tokens (and the budget); returns how many."""
        limit = min(self.remaining, self.remaining if cap is None else cap)
        used = added = 0
        seen = {ln.text for ln in self._lines.get(section, [])}
        for f in facts:
            if f.text in seen:
                continue
            cost = self._cost(section, f.text + (CITE_ALLOWANCE if f.chunk_id else ""))
            if used + cost > limit:
                continue
            used += cost
            self._append(section, _Line(f.text, f.chunk_id), cost)
            seen.add(f.text)
            added += 1
        return added

    def _admit(self, c: Candidate, section: str, room: int) -> tuple[Evidence, str, int] | None:
        """Number ``c`` if it is new and its line fits ``room`` tokens: (evidence, line, cost)."""
        if c.citation.chunk_id in self._by_chunk:
            return None
        trimmed = trim_candidate(c, self._spans.get(c.citation.doc_id, ()))
        if trimmed is None:
            return None
        key = _SPACE.sub(" ", trimmed.text).strip().lower()
        if key in self._texts:
            return None
        n = len(self._evidence) + 1
        title = trimmed.citation.title or trimmed.citation.source
        line = passage_line(n, trimmed.text, None if self._last_title.get(section) == title else title)
        cost = self._cost(section, line)
        if cost > room:
            return None
        ev = Evidence(n, trimmed.citation.chunk_id, trimmed.text, trimmed.citation, c.score, c.routes)
        self._evidence.append(ev)
        self._by_chunk[ev.chunk_id] = n
        self._spans.setdefault(ev.citation.doc_id, []).append((ev.citation.start, ev.citation.end))
        self._texts.add(key)
        self._last_title[section] = title
        return ev, line, cost

    def add_passage(self, c: Candidate, section: str = "passages", cap: int | None = None) -> Evidence | None:
        """Number ``c`` and add it if it is new and fits; returns its evidence (None if left out)."""
        got = self._admit(c, section, min(self.remaining, self.remaining if cap is None else cap))
        if got is None:
            return None
        ev, line, cost = got
        self._append(section, _Line(line, ev.chunk_id, ev.n), cost)
        return ev

    def add_passages(self, candidates: Iterable[Candidate], section: str = "passages", cap: int | None = None,
                     limit: int | None = None) -> int:
        """Add candidates in order while they fit (a long one left out does not stop shorter ones)."""
        start, added = self.spent, 0
        for c in candidates:
            if limit is not None and added >= limit:
                break
            room = None if cap is None else cap - (self.spent - start)
            if room is not None and room <= 0:
                break
            added += self.add_passage(c, section, room) is not None
        return added

    def add_report(self, block: ReportBlock, head: Callable[[dict[str, int]], str],
                   evidence: Sequence[Candidate]) -> ReportBlock | None:
        """A community report and as much of its evidence as fits, numbered (None if its text does not fit).
        ``head(numbers)`` writes the report's text given chunk id -> citation number of its evidence."""
        title = f"### {block.title}"
        reserve = self._cost("reports", f"{title}\n{head({c.citation.chunk_id: 99 for c in evidence})}")
        if reserve > self.remaining:
            return None
        room = self.remaining - reserve
        lines, numbers = [title], {}
        for c in evidence:
            n = self._by_chunk.get(c.citation.chunk_id)
            if n is None:
                got = self._admit(c, "reports", room)
                if got is None:
                    continue
                ev, line, cost = got
                n, room = ev.n, room - cost
                lines.append(line)
            numbers[c.citation.chunk_id] = n
        lines.insert(1, head(numbers))
        body = "\n".join(lines)
        block = replace(block, text=body, tokens=self.count(body))
        self._append("reports", _Line(body), self._cost("reports", body))
        self._reports.append(block)
        return block

    # -- rendering ---------------------------------------------------------------------------
    def render_section(self, section: str) -> str:
        out = []
        for ln in self._lines.get(section, []):
            n = self._by_chunk.get(ln.chunk_id) if ln.chunk_id and ln.n is None else None
            out.append(f"{ln.text} [{n}]" if n is not None else ln.text)
        return "\n".join(out)

    def build(self, mode: str, notes: Sequence[str] = ()) -> AnswerContext:
        parts, tokens = [], {}
        for section in sorted(self._lines, key=lambda s: SECTION_ORDER.index(s) if s in SECTION_ORDER else 99):
            body = f"## {self.prompts.sections.get(section, section)}\n{self.render_section(section)}"
            parts.append(body)
            tokens[section] = self.count(body)
        text = "\n\n".join(parts)
        return AnswerContext(mode, text, tuple(self._evidence), tokens, self.count(text), tuple(self._reports),
                             tuple(notes), self.selection)
