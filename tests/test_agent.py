"""Agent mode (issue #10) against the scripted OpenAI-compatible server: decomposition, bridge steps,
the max-steps stop, a failing step, Chinese prompts, and the graph-native hop without an LLM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from banyan import Banyan
from banyan.answer.agent import graph_bridge, substitute
from banyan.cli import app, sample_corpus_dir
from banyan.llm import build_llm
from banyan.settings import LLMSettings
from conftest import HASH
from fake_openai import FakeOpenAI

NO_LLM = {"llm": {"model": ""}}
Q = "Where did the designer of the Lumen Bridge study?"
S1, S2 = "Which person designed the Lumen Bridge?", "Which organization did #1 study at?"
FINAL = "Ada Whitcombe studied at the Northfield Institute of Technology [1]."
runner = CliRunner()


def _text(req: dict) -> str:
    return "\n".join(str(m.get("content", "")) for m in req["messages"])


def _bridge_reply(req: dict) -> dict:
    """Decomposition: two steps; step 1 -> Ada Whitcombe; step 2 (which must name her) -> sufficient."""
    text = _text(req)
    if "Split the question" in text:
        return {"content": json.dumps({"sub_questions": [S1, S2]})}
    if "Current sub-question: Which person designed" in text:
        return {"content": json.dumps({"answer": "Ada Whitcombe", "sufficient": False, "bridge": "Ada Whitcombe",
                                       "next_question": ""})}
    if "Current sub-question: Which organization did Ada Whitcombe study at?" in text:
        return {"content": json.dumps({"answer": "Northfield Institute of Technology", "sufficient": True,
                                       "bridge": "", "next_question": ""})}
    if "Current sub-question" in text:
        return {"content": json.dumps({"answer": "unknown", "sufficient": False, "bridge": "",
                                       "next_question": "What else?"})}
    return {"content": FINAL}


def _llm(srv: FakeOpenAI, tmp: Path, **kw):
    cfg = {"model": "agent-model", "base_url": srv.base_url, "api_key": "k", "timeout_s": 5.0, "max_retries": 0,
           "backoff_base_s": 0.01, "backoff_max_s": 0.02, "cache": False}
    return build_llm(LLMSettings(**{**cfg, **kw}), tmp).llm


@pytest.fixture(scope="module")
def bn(tmp_path_factory) -> Banyan:
    b = Banyan(tmp_path_factory.mktemp("agent") / "idx", {**HASH, **NO_LLM})
    b.index([sample_corpus_dir()])
    yield b
    b.close()


def _kinds(srv: FakeOpenAI) -> list[str]:
    out = []
    for req in srv.requests:
        text = _text(req)
        out.append("decompose" if ("Split the question" in text or "子问题（最多" in text)
                   else "reflect" if ("Current sub-question" in text or "当前子问题" in text) else "answer")
    return out


def test_two_step_bridge_question_uses_the_answer_of_step_one(bn, tmp_path):
    with FakeOpenAI(_bridge_reply) as srv:
        a = bn.ask(Q, "agent", llm=_llm(srv, tmp_path))
        kinds = _kinds(srv)
        answer_prompt = _text(srv.requests[-1])
    assert a.error is None and a.mode == "agent" and a.text == FINAL and not a.extractive
    assert kinds == ["decompose", "reflect", "reflect", "answer"] and a.llm_calls == 4
    one, two = a.trace
    assert one.sub_question == S1 and one.verdict == "continue" and one.answer == "Ada Whitcombe"
    assert two.sub_question == "Which organization did Ada Whitcombe study at?" and two.verdict == "sufficient"
    assert all(s.evidence and s.tokens > 0 and s.seconds >= 0 and "auto" in s.routes for s in a.trace)
    assert "Northfield Institute of Technology" in answer_prompt and "Intermediate findings" in answer_prompt
    ids = {e.chunk_id for e in a.evidence}
    assert ids <= set(one.evidence) | set(two.evidence) and a.citations
    d = a.to_dict()
    assert [s["verdict"] for s in d["trace"]] == ["continue", "sufficient"] and d["trace"][1]["evidence"]


def test_a_question_needing_no_decomposition_stays_whole_and_skips_reflection(bn, tmp_path):
    def reply(req: dict) -> dict:
        if "Split the question" in _text(req):
            return {"content": json.dumps({"sub_questions": ["Who designed the Lumen Bridge?"]})}
        return {"content": FINAL}
    with FakeOpenAI(reply) as srv:
        a = bn.ask("Who designed the Lumen Bridge?", "agent", llm=_llm(srv, tmp_path))
        assert _kinds(srv) == ["decompose", "answer"]
    [step] = a.trace
    assert step.verdict == "graph" and step.sub_question == "Who designed the Lumen Bridge?"
    assert "Ada Whitcombe" in step.bridge  # the graph resolves the bridge from the first hop's passages


def test_max_steps_stops_the_loop(tmp_path, bn):
    capped = Banyan(bn.index_dir, {**HASH, **NO_LLM, "answer": {"agent_max_steps": 2}}, create=False)
    try:
        def reply(req: dict) -> dict:
            text = _text(req)
            if "Split the question" in text:
                return {"content": json.dumps({"sub_questions": ["A?", "B?", "C?", "D?"]})}
            if "Current sub-question" in text:
                return {"content": json.dumps({"answer": "x", "sufficient": False, "next_question": ""})}
            return {"content": FINAL}
        with FakeOpenAI(reply) as srv:
            a = capped.ask(Q, "agent", llm=_llm(srv, tmp_path))
            assert _kinds(srv).count("reflect") == 2
    finally:
        capped.close()
    assert [s.verdict for s in a.trace] == ["continue", "max-steps"]
    assert any("agent_max_steps = 2" in n for n in a.notes) and a.text == FINAL


def test_a_failing_sub_question_keeps_the_others(bn, tmp_path):
    def reply(req: dict) -> dict:
        if "Current sub-question: Which person designed" in _text(req):
            return {"status": 500}
        return _bridge_reply(req)
    with FakeOpenAI(reply) as srv:
        a = bn.ask(Q, "agent", llm=_llm(srv, tmp_path))
    one, two, *_ = a.trace
    assert one.verdict == "error" and "500" in (one.error or "") and one.evidence
    # the step's answer is lost, so #1 falls back to the bridge entity the graph linked from its passages
    assert "#1" not in two.sub_question and two.evidence and two.verdict != "error"
    assert a.error is None and a.text == FINAL and any("1 step(s) failed" in n for n in a.notes)
    assert set(one.evidence) & {e.chunk_id for e in a.evidence}  # the failed step's evidence is kept


def test_decomposition_failure_asks_the_question_whole(bn, tmp_path):
    def reply(req: dict) -> dict:
        return {"content": "not json"} if "Split the question" in _text(req) else {"content": FINAL}
    with FakeOpenAI(reply) as srv:
        a = bn.ask(Q, "agent", llm=_llm(srv, tmp_path))
    assert [s.sub_question for s in a.trace] == [Q] and a.text == FINAL
    assert any("decomposition failed" in n for n in a.notes)


def test_chinese_questions_get_chinese_prompts_and_sub_questions(bn, tmp_path):
    def reply(req: dict) -> dict:
        text = _text(req)
        if "子问题（最多" in text:
            return {"content": json.dumps({"sub_questions": ["哪个人设计了青石桥？", "#1 在哪个机构学习？"]})}
        if "当前子问题" in text:
            return {"content": json.dumps({"answer": "林文远", "sufficient": "在哪个机构" in text})}
        return {"content": "林文远设计了青石桥 [1]。"}
    with FakeOpenAI(reply) as srv:
        a = bn.ask("青石桥的设计者在哪里学习？", "agent", llm=_llm(srv, tmp_path))
        assert _kinds(srv) == ["decompose", "reflect", "reflect", "answer"]
        assert "资料" in srv.requests[-1]["messages"][0]["content"] and "中间结论" in _text(srv.requests[-1])
    assert [s.sub_question for s in a.trace] == ["哪个人设计了青石桥？", "林文远 在哪个机构学习？"]


def test_without_an_llm_agent_context_runs_the_graph_native_hop(bn):
    mix = bn.answer_context(Q, mode="mix", budget=600)
    agent = bn.answer_context(Q, mode="agent", budget=600)
    assert agent.mode == "agent" and agent.tokens <= 600
    assert any(n.startswith("agent: graph-native bridge hop via") and "Ada Whitcombe" in n for n in agent.notes)
    titles = {e.citation.title for e in agent.evidence}
    assert {"Lumen Bridge", "Ada Whitcombe"} <= titles and len(agent.evidence) >= len(mix.evidence)
    a = bn.ask(Q, "agent")
    assert a.extractive and a.mode == "agent" and a.trace == () and a.llm_calls == 0


def test_graph_bridge_skips_the_questions_own_entities(bn):
    reader = bn._answers().reader
    q = bn.view.query("Who designed the Lumen Bridge?")
    top = reader.search(q, "auto", 3)
    names, chunks = graph_bridge(reader, q, top, 3, 4)
    assert "Lumen Bridge" not in names and "Ada Whitcombe" in names and chunks
    assert graph_bridge(reader, q, top, 0, 4) == ([], [])
    assert substitute("Where did #1 study, and #3?", ["Ada"]) == "Where did Ada study, and #3?"


def test_cli_ask_agent_json_holds_the_trace(bn, tmp_path, monkeypatch):
    with FakeOpenAI(_bridge_reply) as srv:
        monkeypatch.setenv("BANYAN_LLM_BASE_URL", srv.base_url)
        monkeypatch.setenv("BANYAN_LLM_API_KEY", "k")
        monkeypatch.setenv("BANYAN_LLM__CACHE", "false")
        res = runner.invoke(app, ["ask", Q, "--mode", "agent", "--json", "--llm", "agent-model",
                                  "--index", str(bn.index_dir)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["mode"] == "agent" and [s["verdict"] for s in out["trace"]] == ["continue", "sufficient"]
    assert {"sub_question", "routes", "evidence", "verdict", "bridge", "tokens", "seconds"} <= set(out["trace"][0])


def test_bench_qa_measures_agent_next_to_mix_without_an_llm(tmp_path):
    from banyan.eval.qa import run_qa_bench
    from test_bench_qa import CORPUS, QUESTIONS

    data = tmp_path / "data"
    data.mkdir()
    for name, rows in (("corpus.jsonl", CORPUS), ("dev.jsonl", QUESTIONS)):
        (data / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    out = run_qa_bench(data, Path("dev.jsonl"), ["mix", "agent"], tmp_path / "idx", budget=300, overrides=HASH)
    mix, agent = out["modes"]["mix"], out["modes"]["agent"]
    assert out["answers"] == "extractive" and out["answer_options"]["reranker"] == "none"
    assert agent["answer_in_context"] >= mix["answer_in_context"] > 0
    assert agent["llm_calls_per_question"] == mix["llm_calls_per_question"] == 0 and not agent["errors"]


def test_cli_ask_agent_prints_the_steps(bn, monkeypatch):
    with FakeOpenAI(_bridge_reply) as srv:
        monkeypatch.setenv("BANYAN_LLM_BASE_URL", srv.base_url)
        monkeypatch.setenv("BANYAN_LLM_API_KEY", "k")
        monkeypatch.setenv("BANYAN_LLM__CACHE", "false")
        res = runner.invoke(app, ["ask", Q, "--mode", "agent", "--no-stream", "--llm", "agent-model",
                                  "--index", str(bn.index_dir)])
    assert res.exit_code == 0, res.output
    assert f"step 1: {S1} → Ada Whitcombe · continue" in res.output and "step 2:" in res.output
