"""`Banyan.ask` and `banyan ask` end to end, against the scripted OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from banyan import Banyan
from banyan.answer import Answer
from banyan.cli import app, sample_corpus_dir
from banyan.errors import ConfigError
from banyan.llm import build_llm
from banyan.settings import LLMSettings
from banyan.types import Community, CommunityReport, ReportEvidence
from conftest import HASH, NO_GRAPH
from fake_openai import FakeOpenAI

NO_LLM = {"llm": {"model": ""}}
Q = "Who designed the Lumen Bridge?"
REPLY = "Ada Whitcombe designed the Lumen Bridge [1]."
runner = CliRunner()


def _reply(req: dict) -> dict:
    """Ratings: 5 for reports about Harrow & Vale; map steps: one cited point; answers: REPLY."""
    text = "\n".join(str(m.get("content", "")) for m in req["messages"])
    if "Rate it from 0" in text:
        return {"content": json.dumps({"score": 5 if "Harrow" in text.split("Report:")[-1] else 0})}
    if "list the points" in text:
        return {"content": json.dumps({"points": [
            {"description": "Harrow & Vale Construction built the Lumen Bridge [1] [99].", "score": 80},
            {"description": "Nothing useful.", "score": 0}]})}
    return {"content": REPLY}


def _llm(srv: FakeOpenAI, tmp: Path, **kw):
    cfg = {"model": "answer-model", "base_url": srv.base_url, "api_key": "k", "timeout_s": 5.0, "max_retries": 1,
           "backoff_base_s": 0.01, "backoff_max_s": 0.02, "cache": False}
    return build_llm(LLMSettings(**{**cfg, **kw}), tmp).llm


def _user(req: dict) -> str:
    return req["messages"][-1]["content"]


@pytest.fixture(scope="module")
def bn(tmp_path_factory) -> Banyan:
    """The sample corpus with its graph (no communities)."""
    b = Banyan(tmp_path_factory.mktemp("ans") / "idx", {**HASH, **NO_LLM})
    b.index([sample_corpus_dir()])
    yield b
    b.close()


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> Banyan:
    """The sample corpus indexed with --no-graph."""
    b = Banyan(tmp_path_factory.mktemp("plain") / "idx", {**NO_GRAPH, **NO_LLM})
    b.index([sample_corpus_dir()])
    yield b
    b.close()


@pytest.fixture(scope="module")
def server():
    with FakeOpenAI(_reply) as s:
        yield s


@pytest.fixture
def srv(server):
    """The module's server with a fresh script and request log."""
    server.script.clear()
    server.requests.clear()
    return server


# -- modes ------------------------------------------------------------------------------------------
def test_each_mode_sends_the_sections_it_needs(bn, srv, tmp_path):
    llm = _llm(srv, tmp_path)
    expect = {"naive": ["## Passages"], "mix": ["## Entities", "## Relations", "## Passages"],
              "local": ["## Entities", "## Relations", "## Passages"], "full": ["## Documents"]}
    for mode, sections in expect.items():
        before = len(srv.requests)
        a = bn.ask(Q, mode, llm=llm)
        [req] = srv.requests[before:]
        prompt = _user(req)
        assert a.mode == mode and a.llm_calls == 1 and a.error is None and not a.extractive, mode
        assert [s for s in ("## Entities", "## Relations", "## Passages", "## Documents") if s in prompt] == sections
        assert prompt.index(sections[0]) < prompt.index(Q)
        assert ("Lumen Bridge (" in prompt) == (mode in ("mix", "local"))  # the linked entity's line
        assert a.text == REPLY and [e.n for e in a.citations] == [1] and a.citations[0].citation.title
        assert a.tokens_in > 0 and a.tokens_out == len(REPLY.split()) and a.context_tokens > 0
        assert req["messages"][0]["role"] == "system" and "[1]" in req["messages"][0]["content"]
    local = bn.answer_context(Q, "local")
    assert local.evidence[0].citation.title == "Lumen Bridge" and local.evidence[0].routes == ("home",)
    full = bn.answer_context(Q, "full")
    assert len({e.citation.doc_id for e in full.evidence}) == 8 and not full.notes


def test_auto_reads_the_whole_corpus_when_it_fits_else_mix(bn, plain):
    assert bn.answer_context(Q).mode == "full"
    small = bn.answer_context(Q, budget=400)
    assert small.mode == "mix" and small.tokens <= 400 and small.section_tokens["passages"] > 0
    assert bn.answer_context("青石桥的设计者是谁？", budget=300).mode == "mix"
    full = bn.answer_context(Q, "full", budget=400)  # the corpus does not fit: the linked documents do
    assert full.mode == "full" and "linked document" in full.notes[0] and full.tokens <= 400
    assert full.evidence[0].citation.title == "Lumen Bridge"
    assert plain.answer_context(Q, budget=400).mode == "naive"


def test_graph_modes_degrade_without_a_graph_or_communities(bn, plain):
    for mode in ("mix", "local", "global"):
        ctx = plain.answer_context(Q, mode)
        assert ctx.evidence and any("no knowledge graph" in n for n in ctx.notes), mode
    ctx = bn.answer_context(Q, "global")
    assert ctx.mode == "global" and "banyan communities build" in ctx.notes[0] and ctx.evidence
    assert bn.answer_context("Qui a construit le pont?", "local").notes[0].startswith("local: the question names no")
    with pytest.raises(ConfigError):
        bn.answer_context(Q, "bogus")  # agent is a mode now (#10)
    with pytest.raises(ValueError):
        bn.ask("  ")


# -- citations, reject and open modes ----------------------------------------------------------------
def test_citations_not_in_the_context_are_removed_and_counted(bn, srv, tmp_path):
    srv.script = [{"content": "Ada Whitcombe designed it [1][42]. She studied at Northfield [2, 17]."}]
    a = bn.ask(Q, "naive", llm=_llm(srv, tmp_path))
    assert a.text == "Ada Whitcombe designed it [1]. She studied at Northfield [2]."
    assert a.removed_citations == 2 and [e.n for e in a.citations] == [1, 2]
    assert any("removed 2 citation" in n for n in a.notes)
    c = a.citations[1].citation
    doc = Path(c.source).read_text(encoding="utf-8")
    assert doc[c.start:c.end] == a.citations[1].text


def test_reject_mode_says_insufficient_evidence(bn, srv, tmp_path):
    llm = _llm(srv, tmp_path)
    srv.script = [{"content": "Insufficient evidence."}]
    a = bn.ask("What is the capital of Mongolia?", "naive", reject=True, llm=llm)
    assert a.insufficient and not a.citations and a.evidence and a.llm_calls == 1
    assert "reply exactly: insufficient evidence" in srv.requests[-1]["messages"][0]["content"]
    extractive = bn.ask("What is the capital of Mongolia?", "naive", reject=True)
    assert extractive.insufficient and extractive.extractive and extractive.text == "insufficient evidence"
    assert not bn.ask(Q, "naive", reject=True).insufficient


def test_open_mode_marks_what_is_uncited(bn, srv, tmp_path):
    srv.script = [{"content": "Ada Whitcombe designed it [1]. Mongolia's capital is Ulaanbaatar (uncited)."}]
    a = bn.ask(Q, "naive", llm=_llm(srv, tmp_path))
    assert a.uncited == ("Mongolia's capital is Ulaanbaatar (uncited).",) and not a.insufficient
    assert any("cite no passage" in n for n in a.notes)
    assert "(uncited)" in srv.requests[-1]["messages"][0]["content"]


def test_chinese_questions_get_chinese_prompts(bn, srv, tmp_path):
    bn.ask("青石桥的设计者是谁？", "naive", llm=_llm(srv, tmp_path))
    req = srv.requests[-1]
    assert "资料" in req["messages"][0]["content"] and _user(req).startswith("资料：\n## 段落")


# -- no LLM, streaming, failures ----------------------------------------------------------------------
def test_without_an_llm_the_answer_is_extractive_and_cited(bn):
    a = bn.ask("Who designed the Lumen Bridge, and where did she study?")
    assert a.extractive and a.llm_calls == 0 and a.mode == "full"
    assert "designed by the engineer Ada Whitcombe" in a.text and "Northfield Institute" in a.text
    assert {e.citation.title for e in a.citations} == {"Lumen Bridge", "Ada Whitcombe"}
    assert any(n.startswith("no LLM configured") and "BANYAN_LLM_MODEL" in n for n in a.notes)
    streamed = list(bn.ask_stream(Q, "naive"))
    assert isinstance(streamed[-1], Answer) and streamed[0] == streamed[-1].text


def test_streaming_yields_pieces_then_the_answer(bn, srv, tmp_path):
    items = list(bn.ask_stream(Q, "mix", llm=_llm(srv, tmp_path)))
    *pieces, last = items
    assert len(pieces) > 1 and all(isinstance(p, str) for p in pieces) and isinstance(last, Answer)
    assert "".join(pieces) == last.text == REPLY and last.llm_calls == 1 and last.tokens_out > 0
    assert srv.requests[-1]["stream"] is True


def test_budget_stop_returns_the_evidence(bn, srv, tmp_path):
    a = bn.ask(Q, "mix", llm=_llm(srv, tmp_path, budget_tokens=50))
    assert a.error and "budget" in a.error and a.evidence and a.extractive and "[" in a.text
    assert a.llm_calls == 0 and srv.requests == []
    *_, last = bn.ask_stream(Q, "mix", llm=_llm(srv, tmp_path, budget_tokens=50))
    assert last.error and last.evidence


def test_llm_failures_return_the_evidence_and_are_not_retried_forever(bn, tmp_path):
    with FakeOpenAI(lambda req: {"status": 500}) as srv:
        a = bn.ask(Q, "naive", llm=_llm(srv, tmp_path, max_retries=2))
        assert len(srv.requests) == 3 and a.llm_calls == 1
    assert "500" in a.error and a.evidence and a.citations and a.extractive
    assert any("LLM failed" in n for n in a.notes)
    with FakeOpenAI(lambda req: {"sleep": 1.5}) as srv:
        a = bn.ask(Q, "naive", llm=_llm(srv, tmp_path, timeout_s=0.2, max_retries=0))
    assert "timed out" in a.error and a.evidence


# -- global: map-reduce with dynamic community selection ----------------------------------------------
@pytest.fixture(scope="module")
def tree_dir(bn, tmp_path_factory) -> Path:
    """A copy of the index with a two-level community tree: R1 {A: Harrow & Vale, B: Ada}, R2 {C, D: Chinese}."""
    out = tmp_path_factory.mktemp("tree") / "idx"
    shutil.copytree(bn.index_dir, out)
    chunks = {title: (cid, text) for cid, title, text in bn.store.iter_chunks()}

    def com(cid, level, parent, title, about):
        chunk, text = chunks[about]
        sentence = text.split("\n\n")[1].split(". ")[0] if "\n\n" in text else text[:60]
        return Community(cid, level, parent, 2, title, (title,),
                         CommunityReport((title, about), 2, (ReportEvidence(chunk, sentence),)))

    tree = [com("r1", 1, None, "Eastport bridges and Harrow", "Harrow & Vale Construction"),
            com("r2", 1, None, "临江市", "临江市"),
            com("a", 0, "r1", "Harrow & Vale Construction", "Harrow & Vale Construction"),
            com("b", 0, "r1", "Ada Whitcombe", "Ada Whitcombe"),
            com("c", 0, "r2", "青石桥", "青石桥"), com("d", 0, "r2", "林文远", "林文远")]
    with Banyan(out, HASH) as b, b.store.writing():
        b.store.replace_communities(tree, "test-tree")
    return out


def _kinds(requests: list[dict]) -> dict[str, int]:
    out = {"rate": 0, "map": 0, "answer": 0}
    for r in requests:
        text = "\n".join(m["content"] for m in r["messages"])
        out["rate" if "Rate it from 0" in text else "map" if "list the points" in text else "answer"] += 1
    return out


def test_global_map_reduce_with_and_without_community_selection(tree_dir, srv, tmp_path):
    question = "What did Harrow & Vale Construction build?"
    with Banyan(tree_dir, {**HASH, **NO_LLM}) as b:
        a = b.ask(question, "global", llm=_llm(srv, tmp_path))
    kinds = _kinds(srv.requests)
    assert kinds == {"rate": 4, "map": 1, "answer": 1} and a.llm_calls == 6  # r1, r2, then r1's children a, b
    s = a.selection
    assert (s.selection, s.reports_total, s.reports_rated, s.reports_mapped, s.rating_calls, s.map_calls) == \
        (True, 6, 4, 1, 4, 1)
    assert a.text == REPLY and a.citations[0].citation.title == "Harrow & Vale Construction"
    assert a.removed_citations == 1  # the map step's [99]
    reduce_prompt = _user(srv.requests[-1])
    assert "Key points from community reports" in reduce_prompt and "(80) Harrow & Vale" in reduce_prompt
    assert "Nothing useful" not in reduce_prompt
    map_prompt = next(_user(r) for r in srv.requests if "list the points" in r["messages"][1]["content"])
    assert "### Harrow & Vale Construction" in map_prompt and "Ada Whitcombe" not in map_prompt

    srv.requests.clear()
    with Banyan(tree_dir, {**HASH, **NO_LLM, "answer": {"global_selection": False, "global_map_tokens": 100}}) as b:
        static = b.ask(question, "global", llm=_llm(srv, tmp_path))
        ctx = b.answer_context(question, "global")
    t = static.selection
    assert _kinds(srv.requests) == {"rate": 0, "map": t.map_calls, "answer": 1} and t.map_calls >= 2
    assert (t.selection, t.reports_rated, t.reports_mapped) == (False, 0, 4)
    assert static.llm_calls == t.map_calls + 1
    assert s.report_tokens_static == t.report_tokens_static == t.report_tokens_used
    assert ctx.mode == "global" and "## Community reports" in ctx.text and ctx.reports


def test_global_without_communities_answers_from_passages_within_the_budget(bn, srv, tmp_path):
    a = bn.ask(Q, "global", budget=400, llm=_llm(srv, tmp_path))
    assert a.mode == "global" and "banyan communities build" in a.notes[0] and a.llm_calls == 1
    assert 0 < a.context_tokens <= 400 and _kinds(srv.requests) == {"rate": 0, "map": 0, "answer": 1}


def test_global_context_without_an_llm_selects_by_question_words(tree_dir):
    with Banyan(tree_dir, {**HASH, **NO_LLM}) as b:
        ctx = b.answer_context("What did Harrow & Vale Construction build?", "global")
        a = b.ask("What did Harrow & Vale Construction build?", "global")
        none = b.answer_context("Where is Mongolia?", "global")
    assert [r.community_id for r in ctx.reports] == ["a"] and ctx.selection.reports_rated == 4
    assert a.extractive and a.citations and a.citations[0].citation.title == "Harrow & Vale Construction"
    assert "no community report was rated relevant" in none.notes[0]


# -- the command ----------------------------------------------------------------------------------
def test_cli_ask_without_an_llm_and_json(bn):
    idx = str(bn.index_dir)
    res = runner.invoke(app, ["ask", "Who designed the Lumen Bridge?", "--index", idx])
    assert res.exit_code == 0, res.output
    assert "Ada Whitcombe" in res.output and "Sources" in res.output and "no LLM configured" in res.output
    res = runner.invoke(app, ["ask", Q, "--index", idx, "--json", "--mode", "naive", "--budget", "300"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["mode"] == "naive" and data["extractive"] and data["citations"] and data["context_tokens"] <= 300
    assert {"doc_id", "source", "chunk", "start", "end"} <= set(data["evidence"][0]["citation"])
    res = runner.invoke(app, ["ask", Q, "--index", idx, "--mode", "hybrid"])
    assert res.exit_code != 0


def test_cli_ask_streams_from_the_configured_llm_and_reports_failures(bn, srv, monkeypatch):
    monkeypatch.setenv("BANYAN_LLM_BASE_URL", srv.base_url)
    monkeypatch.setenv("BANYAN_LLM_API_KEY", "k")
    monkeypatch.setenv("BANYAN_LLM__CACHE", "false")
    idx = str(bn.index_dir)
    res = runner.invoke(app, ["ask", Q, "--index", idx, "--llm", "answer-model", "--mode", "mix"])
    assert res.exit_code == 0, res.output
    assert REPLY in res.output and "[1] Lumen Bridge" in res.output and "1 LLM call" in res.output
    assert srv.requests[-1]["stream"] is True and srv.requests[-1]["model"] == "answer-model"
    monkeypatch.setenv("BANYAN_LLM__MAX_RETRIES", "0")
    srv.script = [{"status": 400}]
    res = runner.invoke(app, ["ask", "Where was Thomas Harrow born?", "--index", idx, "--llm", "answer-model",
                              "--no-stream"])
    assert res.exit_code == 1 and "LLM failed" in res.output and "Kelby" in res.output


def test_quickstart_ends_with_a_cited_answer(tmp_path, monkeypatch):
    res = runner.invoke(app, ["quickstart", "--index", str(tmp_path / "q"), "--embedder", "hash"])
    assert res.exit_code == 0, res.output
    tail = res.output[res.output.index("banyan ask"):]
    assert "Ada Whitcombe" in tail and "[" in tail and "Sources" in tail and "no LLM configured" in tail
