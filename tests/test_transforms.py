"""Query transforms (issue #10): multi-query with reciprocal-rank fusion, HyDE, step-back, in any mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from banyan import Banyan
from banyan.answer.transforms import HyDE, fuse_candidates, make_transform
from banyan.answer.types import Candidate
from banyan.cli import app, sample_corpus_dir
from banyan.errors import ConfigError
from banyan.llm import build_llm
from banyan.settings import LLMSettings, load_settings
from banyan.types import Citation
from conftest import HASH
from fake_openai import FakeOpenAI

NO_LLM = {"llm": {"model": ""}}
Q = "Who designed the Lumen Bridge?"
REPLY = "Ada Whitcombe designed the Lumen Bridge [1]."


def _text(req: dict) -> str:
    return "\n".join(str(m.get("content", "")) for m in req["messages"])


def _reply(req: dict) -> dict:
    text = _text(req)
    if "different search queries" in text or "不同的中文检索查询" in text:
        return {"content": json.dumps({"queries": ["Lumen Bridge engineer", "Ada Whitcombe bridge design"]})}
    if "encyclopedia passage" in text:
        return {"content": "The Lumen Bridge was designed by the engineer Ada Whitcombe."}
    if "broader, more general question" in text:
        return {"content": json.dumps({"question": "What is the history of the Lumen Bridge?"})}
    return {"content": REPLY}


def _llm(srv: FakeOpenAI, tmp: Path):
    return build_llm(LLMSettings(model="m", base_url=srv.base_url, api_key="k", timeout_s=5.0, max_retries=0,
                                 cache=False), tmp).llm


@pytest.fixture(scope="module")
def bn(tmp_path_factory) -> Banyan:
    b = Banyan(tmp_path_factory.mktemp("tr") / "idx", {**HASH, **NO_LLM})
    b.index([sample_corpus_dir()])
    yield b
    b.close()


@pytest.mark.parametrize(("name", "calls"), [("multi-query", 2), ("hyde", 2), ("step-back", 2)])
def test_each_transform_adds_one_call_and_its_passages_lead_the_context(bn, tmp_path, name, calls):
    with FakeOpenAI(_reply) as srv:
        a = bn.ask(Q, "naive", llm=_llm(srv, tmp_path), transform=name)
        assert len(srv.requests) == calls
    assert a.error is None and a.text == REPLY and a.llm_calls == calls
    assert any(n.startswith(f"{name}:") and "fused by reciprocal rank" in n for n in a.notes)
    assert a.evidence and a.evidence[0].citation.title in {"Lumen Bridge", "Ada Whitcombe"}


def test_transforms_work_in_graph_and_agent_modes(bn, tmp_path):
    def reply(req: dict) -> dict:
        if "Split the question" in _text(req):
            return {"content": json.dumps({"sub_questions": [Q]})}
        return _reply(req)
    with FakeOpenAI(reply) as srv:
        mix = bn.ask(Q, "mix", llm=_llm(srv, tmp_path), transform="multi-query")
        agent = bn.ask(Q, "agent", llm=_llm(srv, tmp_path), transform="step-back")
    assert mix.llm_calls == 2 and any(n.startswith("multi-query:") for n in mix.notes)
    assert agent.llm_calls == 3 and agent.trace and any(n.startswith("step-back:") for n in agent.notes)


def test_a_failed_rewrite_is_noted_and_the_mode_answers_without_it(bn, tmp_path):
    def reply(req: dict) -> dict:
        return {"status": 500} if "different search queries" in _text(req) else {"content": REPLY}
    with FakeOpenAI(reply) as srv:
        a = bn.ask(Q, "naive", llm=_llm(srv, tmp_path), transform="multi-query")
    assert a.error is None and a.text == REPLY and a.evidence
    assert any("multi-query: the rewrite failed" in n and "500" in n for n in a.notes)


def test_chinese_questions_get_chinese_rewrite_prompts(bn, tmp_path):
    with FakeOpenAI(_reply) as srv:
        a = bn.ask("青石桥的设计者是谁？", "naive", llm=_llm(srv, tmp_path), transform="multi-query")
        assert "不同的中文检索查询" in _text(srv.requests[0])
    assert any(n.startswith("multi-query: 2 rewrite(s)") for n in a.notes)


def test_without_an_llm_a_transform_is_noted_not_applied(bn):
    a = bn.ask(Q, "naive", transform="hyde")
    assert a.extractive and any("hyde: a query transform needs an LLM" in n for n in a.notes)


def test_unknown_transforms_are_refused(bn):
    with pytest.raises(ConfigError):
        make_transform("telepathy")
    with pytest.raises(ConfigError, match="answer.transform"):
        load_settings(None, {"answer": {"transform": "telepathy"}})
    res = CliRunner().invoke(app, ["ask", Q, "--transform", "telepathy", "--index", str(bn.index_dir)])
    assert res.exit_code != 0 and "--transform" in res.output
    assert make_transform("none") is None and isinstance(make_transform("hyde"), HyDE)


def test_fuse_candidates_by_reciprocal_rank():
    def c(cid: str, route: str) -> Candidate:
        return Candidate(Citation("d", "s", "t", cid, 0, 0, 1), cid, 0.0, (route,))
    fused = fuse_candidates([[c("a", "x"), c("b", "x")], [c("b", "y"), c("c", "y")]], 60, 10)
    assert [f.citation.chunk_id for f in fused] == ["b", "a", "c"] and fused[0].routes == ("x", "y")
