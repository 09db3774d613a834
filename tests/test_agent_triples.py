"""Triple filtering (issue #10, HippoRAG 2's recognition memory): the LLM keeps facts, their entities seed the walk."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from banyan import Banyan
from banyan.answer.triple_filter import candidate_triples
from banyan.cli import sample_corpus_dir
from banyan.llm import build_llm
from banyan.settings import LLMSettings
from conftest import HASH
from fake_openai import FakeOpenAI

Q = "Where did the designer of the Lumen Bridge study?"
OVER = {**HASH, "llm": {"model": ""}}


def _text(req: dict) -> str:
    return "\n".join(str(m.get("content", "")) for m in req["messages"])


def _llm(srv: FakeOpenAI, tmp: Path):
    return build_llm(LLMSettings(model="m", base_url=srv.base_url, api_key="k", max_retries=0, cache=False), tmp).llm


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory) -> Path:
    where = tmp_path_factory.mktemp("tf") / "idx"
    with Banyan(where, OVER) as b:
        b.index([sample_corpus_dir()])
    return where


def _keep_designer(req: dict) -> dict:
    """Keeps the facts that name Ada Whitcombe."""
    text = _text(req)
    if "Which of these facts help answer" in text:
        facts = re.findall(r"^\[(\d+)\] (.*)$", text.split("Facts:")[1], re.MULTILINE)
        return {"content": json.dumps({"keep": [int(n) for n, line in facts if "Ada Whitcombe" in line]})}
    return {"content": "Northfield [1]."}


def test_kept_facts_seed_the_graph_routes(index_dir, tmp_path):
    with Banyan(index_dir, {**OVER, "answer": {"triple_filter": True}}, create=False) as bn:
        assert bn.view.query(Q).links
        with FakeOpenAI(_keep_designer) as srv:
            a = bn.ask(Q, "mix", llm=_llm(srv, tmp_path))
            assert len(srv.requests) == 2 and "Lumen Bridge" in _text(srv.requests[0])
        plain = bn.ask(Q, "mix")  # no LLM: no filter, links as entity linking found them
    assert a.llm_calls == 2 and a.error is None
    [note] = [n for n in a.notes if n.startswith("triple filter: kept")]
    assert "Ada Whitcombe" in note.split("start from")[1]
    assert not any(n.startswith("triple filter") for n in plain.notes)


def test_a_failed_or_empty_filter_keeps_the_links(index_dir, tmp_path):
    with Banyan(index_dir, {**OVER, "answer": {"triple_filter": True}}, create=False) as bn:
        with FakeOpenAI(lambda req: {"content": json.dumps({"keep": []})}
                        if "Which of these facts" in _text(req) else {"content": "x [1]."}) as srv:
            a = bn.ask(Q, "local", llm=_llm(srv, tmp_path))
        with FakeOpenAI(lambda req: {"status": 500} if "Which of these facts" in _text(req)
                        else {"content": "x [1]."}) as srv:
            b = bn.ask(Q, "agent", llm=_llm(srv, tmp_path))
    assert any(n.startswith("triple filter: none of") for n in a.notes) and a.evidence
    assert any(n.startswith("triple filter: the call failed") for n in b.notes) and b.evidence and b.trace


def test_candidate_triples_come_from_the_linked_entities(index_dir):
    with Banyan(index_dir, OVER, create=False) as bn:
        reader = bn._answers().reader
        triples = candidate_triples(reader, bn.view.query(Q), 5)
        assert 0 < len(triples) <= 5
        assert candidate_triples(reader, bn.view.query("nothing linked here"), 5) == []
