"""Reranking (issue #10): the ``Reranker`` hook with the /rerank HTTP, LLM listwise and cross-encoder backends."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import pytest

from banyan import Banyan
from banyan.answer.rerank import CrossEncoderRerank, HTTPRerank, RerankError, make_reranker
from banyan.cli import sample_corpus_dir
from banyan.errors import ConfigError
from banyan.llm import build_llm
from banyan.settings import AnswerSettings, LLMSettings
from conftest import HASH
from fake_openai import FakeOpenAI

NO_LLM = {"llm": {"model": ""}}
Q = "Who designed the Lumen Bridge?"


class RerankServer:
    """``POST /v1/rerank``: scores each document by whether it contains ``favour`` (status 500 when ``fail``)."""

    def __init__(self, favour: str, fail: bool = False) -> None:
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                outer.requests.append({"path": self.path, **body})
                status = 500 if fail else 200
                payload = json.dumps({"results": [
                    {"index": i, "relevance_score": 1.0 if favour in d else 0.0}
                    for i, d in enumerate(body["documents"])]}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory) -> Iterator[Path]:
    where = tmp_path_factory.mktemp("rr") / "idx"
    with Banyan(where, {**HASH, **NO_LLM}) as b:
        b.index([sample_corpus_dir()])
    return where


def _open(index_dir: Path, **answer: Any) -> Banyan:
    return Banyan(index_dir, {**HASH, **NO_LLM, "answer": answer}, create=False)


def test_reranking_is_off_by_default(index_dir):
    assert AnswerSettings().reranker == "none"
    assert make_reranker(AnswerSettings(), LLMSettings(), None, "en") is None
    with _open(index_dir) as bn:
        ctx = bn.answer_context(Q, "naive")
    assert not any("rerank" in r for e in ctx.evidence for r in e.routes)


def test_http_rerank_reorders_every_passage_list(index_dir):
    with RerankServer("Northfield") as srv, _open(index_dir, reranker="http", rerank_model="rr",
                                                  rerank_url=srv.base_url) as bn:
        plain = _open(index_dir)
        before = plain.answer_context(Q, "naive")
        plain.close()
        after = bn.answer_context(Q, "naive")
        req = srv.requests[0]
    assert req["path"] == "/v1/rerank" and req["model"] == "rr" and req["query"] == Q and req["documents"]
    assert "Northfield" in after.evidence[0].text and "Northfield" not in before.evidence[0].text
    assert all("http-rerank" in e.routes for e in after.evidence)
    assert {e.chunk_id for e in after.evidence} == {e.chunk_id for e in before.evidence}


def test_a_failing_reranker_keeps_the_retrieval_order_and_says_so(index_dir):
    with RerankServer("x", fail=True) as srv, _open(index_dir, reranker="http", rerank_model="rr",
                                                    rerank_url=srv.base_url) as bn:
        ctx = bn.answer_context(Q, "naive")
    assert ctx.evidence and any(n.startswith("http-rerank: failed") for n in ctx.notes)
    with pytest.raises(RerankError):
        HTTPRerank("http://127.0.0.1:9", "rr", timeout_s=0.5).scores(Q, ["a"])


def test_llm_listwise_rerank_is_one_call_per_passage_list(index_dir, tmp_path):
    def reply(req: dict) -> dict:
        text = "\n".join(str(m.get("content", "")) for m in req["messages"])
        if "Order the numbered passages" in text:
            return {"content": json.dumps({"order": [3, 1]})}
        return {"content": "Ada Whitcombe [1]."}
    with FakeOpenAI(reply) as srv, _open(index_dir, reranker="llm") as bn:
        llm = build_llm(LLMSettings(model="m", base_url=srv.base_url, api_key="k", max_retries=0, cache=False),
                        tmp_path).llm
        plain = bn.answer_context(Q, "naive")  # no LLM here: retrieval order
        a = bn.ask(Q, "naive", llm=llm)
        assert len(srv.requests) == 2 and a.llm_calls == 2
    assert a.evidence[0].chunk_id == plain.evidence[2].chunk_id and a.evidence[1].chunk_id == plain.evidence[0].chunk_id
    assert "llm-rerank" in a.evidence[0].routes
    with _open(index_dir, reranker="llm") as bn:
        assert any("reranker = llm needs an LLM" in n for n in bn.ask(Q, "naive").notes)


def test_cross_encoder_backend_scores_pairs_and_needs_a_model():
    class Fake:
        def predict(self, pairs):
            return [float(len(t)) for _, t in pairs]
    ce = CrossEncoderRerank("folder", _encoder=Fake())
    assert ce.scores(Q, ["ab", "abcd"]) == [2.0, 4.0]
    with pytest.raises(ConfigError, match="rerank_model"):
        make_reranker(AnswerSettings(reranker="cross-encoder"), LLMSettings(), None, "en")
    with pytest.raises(ConfigError, match="rerank_model"):
        make_reranker(AnswerSettings(reranker="http"), LLMSettings(), None, "en")
    with pytest.raises(ValueError, match="answer.reranker"):
        AnswerSettings(reranker="magic")


def test_cross_encoder_through_sentence_transformers(tmp_path):
    pytest.importorskip("sentence_transformers", reason="sentence-transformers is not installed")
    with pytest.raises(ConfigError, match="cannot load a cross-encoder"):
        CrossEncoderRerank(str(tmp_path / "missing")).scores(Q, ["a"])
