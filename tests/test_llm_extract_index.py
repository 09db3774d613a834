"""LLM and hybrid extraction through the index, against the scripted OpenAI-protocol server.

Provenance and resolution, schema proposals and decisions, budget stop and kill with resume,
injected malformed replies and errors with no chunk lost, deletion, and `banyan bench cost`.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from banyan import Banyan
from banyan.cli import app
from fake_openai import FakeOpenAI
from test_llm_extract import passages_of, scripted_reply

SRC = Path(__file__).resolve().parents[1] / "src"


def _over(srv: FakeOpenAI, mode: str = "llm", **llm: Any) -> dict[str, Any]:
    graph = {"extractor": mode, **llm.pop("graph", {})}
    return {"embedding": {"backend": "hash"}, "graph": graph,
            "llm": {"model": "test-model", "base_url": srv.base_url, "api_key": "k", "timeout_s": 5.0,
                    "backoff_base_s": 0.01, "backoff_max_s": 0.02, **llm}}


def _corpus(folder: Path, n: int = 24) -> Path:
    """``n`` short people-and-places documents as a JSONL corpus (one chunk each)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"id": str(i), "title": f"Person{i} Holm", "text":
             f"Person{i} Holm was born in Town{i} Vale in {1900 + i}. Person{i} Holm worked for the "
             f"Guild{i % 5} Works in Harbor{i % 3} City and married Spouse{i} Brand."
             + (" Guests included Alma Reed, Boris Lind and Carla Moss." if i % 2 else "")} for i in range(n)]
    path = folder / "corpus.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _llm_requests(srv: FakeOpenAI) -> list[dict[str, Any]]:
    return [r for r in srv.requests if passages_of(r)]


# -- provenance, resolution, proposals -------------------------------------------------------------
def test_llm_mode_provenance_resolution_and_schema_proposals(tmp_path: Path, sample_dir: Path) -> None:
    runner = CliRunner()
    idx = tmp_path / "idx"
    with FakeOpenAI(scripted_reply) as srv, Banyan(idx, _over(srv, graph={"proposal_min_chunks": 3})) as bn:
        report = bn.index([sample_dir])
        s = report.extraction
        assert s is not None and s.mode == "llm" and s.extracted == s.chunks == bn.stats().chunks and not s.failed
        assert s.calls == len(_llm_requests(srv)) < s.chunks and s.prompt_tokens > 0
        assert any("LLM extraction (llm)" in n for n in report.notes)
        view = bn.entity("Ada Whitcombe")
        assert view.entity.type == "person" and view.entity.n_chunks >= 2  # resolved across documents
        assert {r.source for r in view.relations} == {"llm:test-model"}
        assert {r.type for r in view.relations} <= {"member_of", "located_in", "related_to"}
        assert "sponsored_by" not in bn.graph_stats()["relation_types"]  # proposed, never stored as a fact
        zh = bn.entity("青石桥")  # Chinese chunks get the Chinese prompt
        assert any(p.source.startswith("llm:") for p in bn.store.load_mentions() if p.norm == "青石桥") and zh
        assert any("知识图谱" in r["messages"][0]["content"] for r in _llm_requests(srv))
        listed = {p.name: p for p in bn.schema_proposals()}
        assert set(listed) >= {"vehicle", "sponsored_by", "bridge"} and all(p.n_chunks >= 3 for p in listed.values())
        hidden = {p.name for p in bn.schema_proposals(include_all=True)} - set(listed)
        assert all(p.n_chunks < 3 for p in bn.schema_proposals(include_all=True) if p.name in hidden)
        schema_key = bn.schema().extraction_key()

    out = runner.invoke(app, ["schema", "proposals", "--index", str(idx), "--json"])
    assert out.exit_code == 0 and {p["name"] for p in json.loads(out.stdout)} == set(listed)
    assert runner.invoke(app, ["schema", "accept", "bridge", "--index", str(idx)]).exit_code == 0
    assert runner.invoke(app, ["schema", "reject", "vehicle", "--index", str(idx), "--kind", "entity"]).exit_code == 0
    bad = runner.invoke(app, ["schema", "accept", "unicorn", "--index", str(idx)])
    assert bad.exit_code != 0

    with FakeOpenAI(scripted_reply) as srv, Banyan(idx, _over(srv)) as bn:
        assert {p.name for p in bn.schema_proposals()} == set(listed) - {"bridge", "vehicle"}
        assert "bridge" in {t.name for t in bn.schema().entity_types} and bn.schema().extraction_key() != schema_key
        notes = bn.index([sample_dir]).notes  # accepted types apply from the next run: re-extraction
        assert any("re-extracting" in n for n in notes)
        assert "bridge" in json.dumps(srv.requests[0]["messages"][0]["content"])
    exported = tmp_path / "effective.json"
    assert runner.invoke(app, ["schema", "export", str(exported), "--index", str(idx)]).exit_code == 0
    assert "bridge" in exported.read_text()


def test_hybrid_runs_nlp_first_and_merges_llm_triples(tmp_path: Path, sample_dir: Path) -> None:
    # one entity outside every NLP relation sends a chunk to the LLM: at the default (two), NLP links all but
    # a few of the sample's English entities, and only its Chinese chunks would go
    with FakeOpenAI(scripted_reply) as srv, \
            Banyan(tmp_path / "idx", _over(srv, "hybrid", graph={"hybrid_min_unlinked": 1})) as bn:
        s = bn.index([sample_dir]).extraction
        assert s is not None and 0 < s.llm_chunks < s.chunks and s.extracted == s.llm_chunks
        sources = Counter(t.source for t in bn.store.load_triples())
        assert sources["llm:test-model"] and sources["spacy-en-v9"]
        view = bn.entity("Thomas Harrow")
        assert {"spacy-en-v9", "llm:test-model"} <= {r.source for r in view.relations}  # one entity, both extractors
        llm_chunks = {t.chunk_id for t in bn.store.load_triples() if t.source.startswith("llm:")}
        assert len(llm_chunks) <= s.llm_chunks
        sent = sum(len(passages_of(r)) for r in _llm_requests(srv))
        assert sent == s.llm_chunks


# -- budget stop, kill, resume ---------------------------------------------------------------------
def test_budget_stop_resumes_where_it_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from banyan.graph import llm_extraction

    monkeypatch.setattr(llm_extraction, "WINDOW", 5)  # several windows: those after the stop are skipped whole
    corpus = _corpus(tmp_path / "data")
    over = {"max_concurrency": 1, "budget_tokens": 1500, "graph": {"llm_batch_chunks": 4}}
    with FakeOpenAI(scripted_reply) as srv:
        with Banyan(tmp_path / "idx", _over(srv, **over)) as bn:
            report = bn.index([corpus])
            s = report.extraction
            assert s is not None and s.stopped and s.left > 0 and s.extracted > 0 and not s.failed
            assert any("token budget" in n for n in report.notes)
            assert bn.pending().chunks_unextracted == s.left
            first = [tuple(p) for r in _llm_requests(srv) for p in passages_of(r)]
        srv.requests.clear()
        with Banyan(tmp_path / "idx", _over(srv, **{**over, "budget_tokens": 0})) as bn:
            s2 = bn.index([corpus]).extraction
            assert s2 is not None and s2.extracted == s.left and not s2.stopped
            assert bn.pending().chunks_unextracted == 0
            again = [tuple(p) for r in _llm_requests(srv) for p in passages_of(r)]
        assert len(again) == s.left and not set(again) & set(first)  # nothing extracted twice


def test_kill_during_extraction_then_resume(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "data", 12)
    idx = tmp_path / "idx"
    arrived: list[float] = []
    slow = [True]

    def slow_after_three(req: dict[str, Any]) -> dict[str, Any]:
        if passages_of(req):
            arrived.append(time.monotonic())
            if len(arrived) > 3 and slow[0]:
                time.sleep(3)
        return scripted_reply(req)

    with FakeOpenAI(slow_after_three) as srv:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BANYAN_")}
        env.update(PYTHONPATH=str(SRC), BANYAN_EMBEDDING__BACKEND="hash", BANYAN_GRAPH__EXTRACTOR="llm",
                   BANYAN_GRAPH__LLM_BATCH_CHUNKS="1", BANYAN_LLM_MODEL="test-model",
                   BANYAN_LLM_BASE_URL=srv.base_url, BANYAN_LLM_API_KEY="k", BANYAN_LLM__MAX_CONCURRENCY="1")
        proc = subprocess.Popen([sys.executable, "-m", "banyan.cli", "index", str(corpus), "--index", str(idx)],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while len(arrived) < 4 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert len(arrived) >= 4, "the indexer never reached the fourth extraction call"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        slow[0] = False
        with Banyan(idx, _over(srv, graph={"llm_batch_chunks": 1})) as bn:
            done = bn.stats().chunks - bn.pending().chunks_unextracted
            assert done == 3  # the three answered calls were committed, the one in flight was not
            arrived.clear()
            srv.requests.clear()
            s = bn.index([]).extraction  # no paths: finish what the killed run left
            assert s is not None and s.extracted == 12 - done and not s.failed
            assert bn.pending().chunks_unextracted == 0 and len(_llm_requests(srv)) == 12 - done


# -- malformed replies and errors --------------------------------------------------------------------
def test_thirty_percent_malformed_replies_and_errors_lose_no_chunk(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "data", 30)
    seen: Counter[str] = Counter()
    faults = [{"content": '{"1": {"e": [["Person'}, {"content": "Sorry, I can't do JSON today."},
              {"status": 500}, {"content": ""}, {"content": "[1, 2, 3]"}]

    def faulty(req: dict[str, Any]) -> dict[str, Any]:
        key = json.dumps(req["messages"])
        seen[key] += 1
        digest = int(hashlib.sha256(f"{key}#{seen[key]}".encode()).hexdigest(), 16)
        if passages_of(req) and digest % 10 < 3:
            return faults[digest % len(faults)]
        return scripted_reply(req)

    with FakeOpenAI(faulty) as srv:
        over = {"max_retries": 0, "cache": False, "graph": {"llm_batch_chunks": 2}}
        with Banyan(tmp_path / "idx", _over(srv, **over)) as bn:
            s = bn.index([corpus]).extraction
            chunks = bn.store.chunks_without_extraction(lambda lang: "no such key")  # every chunk, with its key
            all_ids = {p.chunk_id for p in chunks}
            done = {p.chunk_id for p in chunks if p.previous is not None}
            failed = {f.failure.chunk_id for f in bn.failed_chunks(None)}
            assert s is not None and s.failed == len(failed) > 0 and s.extracted == len(done) == len(all_ids) - len(failed)
            assert done | failed == all_ids and not done & failed  # every chunk extracted or listed as failed
        status = CliRunner().invoke(app, ["status", "--index", str(tmp_path / "idx"), "--json"])
        assert status.exit_code == 0 and {f["chunk_id"] for f in json.loads(status.stdout)["failed_chunks"]} == failed
        text = CliRunner().invoke(app, ["status", "--index", str(tmp_path / "idx")])
        assert "extraction failed" in text.stdout
        srv.default = scripted_reply  # the next run, without faults, extracts them
        with Banyan(tmp_path / "idx", _over(srv, **over)) as bn:
            s2 = bn.index([]).extraction
            assert s2 is not None and s2.extracted == len(failed) and not s2.failed
            assert not bn.failed_chunks(None) and bn.pending().chunks_unextracted == 0


# -- deletion ----------------------------------------------------------------------------------------
def test_removing_a_document_removes_its_llm_triples_and_entities(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("Ada Whitcombe designed the Lumen Bridge in Eastport.\n")
    (docs / "b.md").write_text("Quentin Marlow founded the Marlow Foundry in Eastport.\n")
    with FakeOpenAI(scripted_reply) as srv, Banyan(tmp_path / "idx", _over(srv)) as bn:
        bn.index([docs])
        assert bn.store.find_entity("quentin marlow") is not None
        assert any(t.head == "quentin marlow" for t in bn.store.load_triples())
        bn.remove(docs / "b.md")
        bn.build_graph()
        assert bn.store.find_entity("quentin marlow") is None and bn.store.find_entity("eastport") is not None
        assert not any("marlow" in t.head or "marlow" in t.tail for t in bn.store.load_triples())
        assert all("Marlow" not in e for p in bn.schema_proposals(include_all=True) for e in p.examples)


# -- bench cost --------------------------------------------------------------------------------------
def test_bench_cost_reports_tokens_per_corpus_token(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _corpus(data, 16)
    out = tmp_path / "cost.json"
    with FakeOpenAI(scripted_reply) as srv:
        env = {"BANYAN_LLM_BASE_URL": srv.base_url, "BANYAN_LLM_API_KEY": "k"}
        res = CliRunner().invoke(app, ["bench", "cost", "--data", str(data), "--limit", "12", "--llm", "test-model",
                                       "--embedder", "hash", "--index", str(tmp_path / "runs"), "--json", str(out)],
                                 env=env)
    assert res.exit_code == 0, res.stdout
    assert "LightRAG" in res.stdout and "HippoRAG 2" in res.stdout
    result = json.loads(out.read_text())
    modes = result["modes"]
    assert set(modes) == {"nlp", "hybrid", "llm"} and result["passages"] == 12
    for key in ("prompt_tokens_per_corpus_token", "completion_tokens_per_corpus_token", "calls_per_chunk"):
        assert all(key in m for m in modes.values())
    assert modes["nlp"]["prompt_tokens_per_corpus_token"] == 0
    assert 0 < modes["hybrid"]["prompt_tokens_per_corpus_token"] < modes["llm"]["prompt_tokens_per_corpus_token"] <= 3
    assert modes["llm"]["calls_per_chunk"] < 1  # batched


def test_llm_mode_needs_a_model(tmp_path: Path, sample_dir: Path) -> None:
    from banyan.errors import LLMNotConfiguredError

    with Banyan(tmp_path / "idx", {"embedding": {"backend": "hash"}, "graph": {"extractor": "llm"}}) as bn, \
            pytest.raises(LLMNotConfiguredError, match="BANYAN_LLM_MODEL"):
        bn.index([sample_dir])


# -- the command line and the store --------------------------------------------------------------------
def test_index_extractor_flag(tmp_path: Path, sample_dir: Path) -> None:
    with FakeOpenAI(scripted_reply) as srv:
        env = {"BANYAN_LLM_BASE_URL": srv.base_url, "BANYAN_LLM_API_KEY": "k", "BANYAN_EMBEDDING__BACKEND": "hash"}
        res = CliRunner().invoke(app, ["index", str(sample_dir), "--index", str(tmp_path / "idx"), "--extractor",
                                       "hybrid", "--llm", "test-model"], env=env)
        assert res.exit_code == 0, res.stdout
        assert "LLM extraction (hybrid)" in res.stdout and _llm_requests(srv)
    bad = CliRunner().invoke(app, ["index", str(sample_dir), "--index", str(tmp_path / "x"), "--extractor", "gpt"],
                             env={"BANYAN_EMBEDDING__BACKEND": "hash"})
    assert bad.exit_code != 0


def test_older_index_gains_the_provenance_column(tmp_path: Path, sample_dir: Path) -> None:
    import sqlite3

    from banyan.store import DB_FILE

    with Banyan(tmp_path / "idx", {"embedding": {"backend": "hash"}}) as bn:
        bn.index([sample_dir])
        n = len(bn.store.load_triples())
        assert {t.source for t in bn.store.load_triples()} == {"spacy-en-v9", "jieba-zh-v4"}
    db = sqlite3.connect(tmp_path / "idx" / DB_FILE)
    for table in ("mentions", "triples", "attributes"):
        db.execute(f"ALTER TABLE {table} DROP COLUMN source")
    db.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
    db.commit()
    db.close()
    with Banyan(tmp_path / "idx") as bn:  # migrated on open: old rows have an empty source
        triples = bn.store.load_triples()
        assert len(triples) == n and {t.source for t in triples} == {""}
        assert bn.entity("Ada Whitcombe").relations
