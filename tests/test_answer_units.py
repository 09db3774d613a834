"""The answer engine's pure pieces: citations, the context builder, extractive answers, community selection."""

from __future__ import annotations

import pytest

from banyan.answer.citations import cited_numbers, parse_numbers, uncited_sentences, validate_citations
from banyan.answer.context import ContextBuilder, trim_candidate, uncovered
from banyan.answer.engine import context_budget, model_counter
from banyan.answer.extractive import cite, extractive_answer, split_sentences
from banyan.answer.global_search import (
    LexicalRater,
    map_batches,
    report_head,
    select_communities,
    static_level,
)
from banyan.answer.prompts import EN, ZH, answer_messages, is_insufficient, prompts_for
from banyan.answer.types import Answer, Candidate, Evidence, Fact, ReportBlock
from banyan.settings import AnswerSettings, load_settings
from banyan.text import count_tokens
from banyan.types import Citation, Community, CommunityReport, ReportEvidence

DOC = ("The Lumen Bridge is a steel arch bridge. It was designed by Ada Whitcombe. It opened in 1931. "
       "She studied at the Northfield Institute.")


def _cand(doc: str, chunk: str, start: int, end: int, text: str | None = None, title: str = "Lumen Bridge",
          score: float = 1.0) -> Candidate:
    body = DOC[start:end] if text is None else text
    return Candidate(Citation(doc, f"/{doc}.md", title, chunk, 0, start, end), body, score, ("dense",))


def _ev(n: int, text: str, title: str = "T") -> Evidence:
    return Evidence(n, f"c{n}", text, Citation("d", "/d.md", title, f"c{n}", 0, 0, len(text)), 1.0, ("dense",))


# -- citations -------------------------------------------------------------------------------------
def test_parse_and_collect_citation_numbers():
    assert parse_numbers("1, 3-5") == [1, 3, 4, 5]
    assert parse_numbers("2–3") == [2, 3]
    assert parse_numbers("1-500") == [1, 500]  # an absurd range is not expanded
    assert cited_numbers("A [2]. B [1, 2]. C 【3】. D [4][2].") == [2, 1, 3, 4]
    assert cited_numbers("no citations (1) here") == []


def test_validate_removes_and_counts_numbers_not_in_the_context():
    check = validate_citations("Ada designed it [1][9]. She studied at Northfield [2, 7]. Year [12].", {1, 2, 3})
    assert check.text == "Ada designed it [1]. She studied at Northfield [2]. Year."
    assert check.cited == (1, 2) and check.removed == 3
    assert validate_citations("x 【1，2】", {1, 2}).text == "x [1, 2]"
    ok = validate_citations("Fine [3].", {3})
    assert (ok.text, ok.cited, ok.removed) == ("Fine [3].", (3,), 0)


def test_uncited_sentences():
    text = "Ada Whitcombe designed the bridge [1]. It is painted green and very pretty (uncited). Yes."
    assert uncited_sentences(text) == ["It is painted green and very pretty (uncited)."]
    assert uncited_sentences("She studied at Northfield Institute. [2]") == []
    assert uncited_sentences("insufficient evidence", min_words=1, ignore={"insufficient evidence"}) == []


# -- the context builder -----------------------------------------------------------------------------
def test_uncovered_and_trim_keep_offsets_exact():
    assert uncovered(0, 10, [(0, 4)]) == (4, 10)
    assert uncovered(0, 10, [(3, 5)]) == (5, 10)  # the longer side
    assert uncovered(0, 10, [(0, 10)]) is None
    c = _cand("d1", "c2", 40, 90)
    t = trim_candidate(c, [(0, 60)])
    assert t is not None and DOC[t.citation.start:t.citation.end] == t.text and t.citation.start >= 60
    assert trim_candidate(c, [(0, 100)]) is None


def test_builder_numbers_dedupes_trims_and_respects_the_budget():
    b = ContextBuilder(60, count_tokens, EN)
    assert b.add_passage(_cand("d1", "c1", 0, 72)).n == 1
    assert b.add_passage(_cand("d1", "c1", 0, 72)) is None  # same chunk
    second = b.add_passage(_cand("d1", "c2", 40, 107))  # overlaps the first: only the new part
    assert second is not None and second.n == 2 and second.citation.start >= 72
    assert DOC[second.citation.start:second.citation.end] == second.text
    assert b.add_passage(_cand("d2", "c3", 0, 72, text=DOC[0:72])) is None  # same text in another document
    assert b.add_passage(_cand("d3", "c4", 0, 0, text="word " * 200)) is None  # does not fit
    ctx = b.build("naive")
    assert ctx.tokens <= 60 and [e.n for e in ctx.evidence] == [1, 2]
    assert ctx.text.startswith("## Passages\n[1] Lumen Bridge: The Lumen Bridge") and "\n[2] " in ctx.text
    assert ctx.section_tokens == {"passages": ctx.tokens}


def test_builder_sections_in_order_and_facts_cite_their_chunks():
    b = ContextBuilder(400, count_tokens, EN)
    b.add_passage(_cand("d1", "c1", 0, 72))
    facts = [Fact("Lumen Bridge — designed by → Ada Whitcombe", "c1"), Fact("Ada — studied at → X", "elsewhere"),
             Fact("Lumen Bridge — designed by → Ada Whitcombe", "c1")]
    assert b.add_facts("relations", facts) == 2  # the duplicate line is dropped
    b.add_facts("entities", [Fact("Lumen Bridge (facility)")], cap=3)  # over its cap: left out
    b.add_facts("entities", [Fact("Ada Whitcombe (person)")])
    ctx = b.build("mix")
    assert ctx.text.index("## Entities") < ctx.text.index("## Relations") < ctx.text.index("## Passages")
    assert "Ada Whitcombe [1]" in ctx.text and "→ X\n" in ctx.text and "Lumen Bridge (facility)" not in ctx.text
    assert set(ctx.section_tokens) == {"entities", "relations", "passages"}
    assert ctx.tokens == count_tokens(ctx.text) <= 400


def test_builder_report_numbers_its_evidence_and_resolves_chunk_refs():
    b = ContextBuilder(300, count_tokens, EN)
    com = Community("k1", 0, None, 3, "Bridges", ("Lumen Bridge",), CommunityReport(
        ("Lumen Bridge", "Ada Whitcombe"), 2, (ReportEvidence("c1", "It was designed by Ada Whitcombe."),),
        llm_title="Bridges", llm_summary="Ada designed the Lumen Bridge [c1] [deadbeefdeadbeef]."))
    block = b.add_report(ReportBlock("k1", "Bridges", 0, 4.0, "", 0), lambda nums: report_head(com, nums),
                         [_cand("d1", "c1", DOC.index("It was"), DOC.index(" It opened"))])
    assert block is not None and "Ada designed the Lumen Bridge [1]." in block.text
    assert "[1] Lumen Bridge: It was designed by Ada Whitcombe." in block.text
    ctx = b.build("global")
    assert ctx.reports == (block,) and ctx.evidence[0].citation.start == DOC.index("It was")
    assert "## Community reports" in ctx.text
    assert report_head(Community("k2", 0, None, 2, "t", (), CommunityReport(("A", "B"), 2, ())), {}) == "A, B"


# -- extractive answers ----------------------------------------------------------------------------
def test_split_sentences_joins_wrapped_lines_and_drops_headings():
    text = "# Ada Whitcombe\n\nAda was an engineer. She studied civil\nengineering at Northfield.\n\nOk."
    assert split_sentences(text) == ["Ada was an engineer.", "She studied civil engineering at Northfield."]
    assert cite("It opened in 1931.", 2) == "It opened in 1931 [2]." and cite("No stop", 1) == "No stop [1]"


def test_extractive_answer_covers_the_question_and_cites():
    evidence = [_ev(1, "The Lumen Bridge is a steel arch bridge. It was designed by Ada Whitcombe.", "Lumen Bridge"),
                _ev(2, "Ada Whitcombe was an engineer. She studied at the Northfield Institute.", "Ada Whitcombe")]
    ex = extractive_answer("Who designed the Lumen Bridge, and where did she study?", evidence, 3)
    assert ex.text == ("It was designed by Ada Whitcombe [1]. She studied at the Northfield Institute [2].")
    assert ex.cited == (1, 2) and ex.best > 0.5
    assert extractive_answer("capital of Mongolia?", evidence, 3).text == ""
    zh = extractive_answer("青石桥是谁设计的？", [_ev(1, "青石桥是一座石拱桥。大桥由工程师林文远设计。", "青石桥")], 1)
    assert zh.text == "大桥由工程师林文远设计 [1]。"


# -- global mode: dynamic community selection --------------------------------------------------------
def _tree() -> list[Community]:
    def com(cid: str, level: int, parent: str | None, text: str, size: int = 2) -> Community:
        return Community(cid, level, parent, size, cid, (text,), CommunityReport((text,), size, ()))

    return [com("R1", 1, None, "bridges"), com("R2", 1, None, "rivers"),
            com("a", 0, "R1", "bridges steel", 3), com("b", 0, "R1", "bridges paint"),
            com("c", 0, "R2", "rivers"), com("d", 0, "R2", "rivers fish")]


def test_selection_prunes_irrelevant_subtrees_and_keeps_the_deepest_relevant():
    seen: list[list[str]] = []

    def rate(cs):
        seen.append([c.id for c in cs])
        return [5.0 if "bridges" in c.keywords[0] and ("steel" in c.keywords[0] or c.level == 1) else 0.0 for c in cs]

    sel = select_communities(_tree(), rate, threshold=2, max_ratings=64)
    assert seen == [["R1", "R2"], ["a", "b"]]  # R2's subtree was never rated
    assert [(c.id, s) for c, s in sel.kept] == [("a", 5.0)]
    assert [c.id for c in sel.rated] == ["R1", "R2", "a", "b"]


def test_selection_keeps_a_relevant_parent_whose_children_are_not_and_stops_at_max_ratings():
    sel = select_communities(_tree(), lambda cs: [3.0 if c.level == 1 else 0.0 for c in cs], 2, 64)
    assert {c.id for c, _ in sel.kept} == {"R1", "R2"}
    capped = select_communities(_tree(), lambda cs: [4.0] * len(cs), 2, 3)
    assert [c.id for c in capped.rated] == ["R1", "R2", "a"]
    assert {c.id for c, _ in capped.kept} == {"a", "R2"}  # R1 stands for b, R2 for its unrated children
    assert [c.id for c in static_level(_tree(), 0)] == ["a", "b", "c", "d"]
    assert [c.id for c in static_level(_tree(), 7)] == ["R1", "R2"]


def test_lexical_rater_and_map_batches():
    assert LexicalRater().rate("Which bridges are steel?", ["steel bridges", "rivers", ""]) == [5.0, 0.0, 0.0]
    blocks = [ReportBlock(str(i), "t", 0, 1.0, "x", tokens) for i, tokens in enumerate([50, 60, 200, 10])]
    assert [[b.community_id for b in batch] for batch in map_batches(blocks, 120)] == [["0", "1"], ["2"], ["3"]]


# -- prompts, budgets, settings ----------------------------------------------------------------------
def test_prompts_follow_the_question_language_and_mode():
    assert prompts_for("zh") is ZH and prompts_for("en") is EN
    open_msgs = answer_messages(EN, "## Passages\n[1] x", "Who?", reject=False)
    reject_msgs = answer_messages(ZH, "## 段落\n[1] x", "谁？", reject=True)
    assert "(uncited)" in open_msgs[0].content and "insufficient evidence" not in open_msgs[0].content
    assert "证据不足" in reject_msgs[0].content and reject_msgs[1].content.startswith("资料：")
    assert is_insufficient("Insufficient evidence.") and is_insufficient("证据不足。") and not is_insufficient("Ada")


def test_context_budget_fits_the_window():
    assert context_budget(5000, 8192, 800) == 5000
    small = context_budget(5000, 1024, 128)
    assert small * 1.3 + 128 + 400 <= 1024
    assert context_budget(5000, 256, 200) == 50


def test_model_counter_finds_the_backend_tokenizer_under_wrappers():
    class Backend:
        model = "m"

        def count_tokens(self, text: str) -> int:
            return 42

    class Wrapper:
        def __init__(self, inner):
            self.inner, self.model = inner, inner.model

    assert model_counter(Wrapper(Wrapper(Backend())))("x") == 42
    class Plain:
        model = "m"

    assert model_counter(Wrapper(Plain())) is None
    assert model_counter(None) is None


def test_answer_settings_defaults_and_validation():
    s = load_settings(None).answer
    assert s.context_tokens == 5000 and s.auto_modes["en"] == "mix"
    with pytest.raises(ValueError):
        AnswerSettings(auto_modes={"en": "hybrid"})


def test_answer_to_dict_carries_everything():
    ev = _ev(1, "Ada designed it.")
    a = Answer("q", "Ada [1].", "mix", (ev,), (ev,), False, False, 1, 10, 5, 2, 1, 0.1, None, ("n",), ("u",))
    d = a.to_dict()
    assert d["citations"] == [1] and d["evidence"][0]["citation"]["chunk"] == 0 and d["removed_citations"] == 1
    assert d["uncited"] == ["u"] and d["notes"] == ["n"] and d["selection"] is None
