"""End to end on the bundled sample corpus, through the Python API and the CLI."""

import json
import shutil
import sqlite3

import pytest
from typer.testing import CliRunner

from banyan import Banyan
from banyan.cli import app
from banyan.errors import IndexMismatchError
from conftest import HASH, NO_GRAPH


def test_index_and_search_with_citations(hash_index):
    s = hash_index.stats()
    assert s.files == 8 and s.documents == 8 and s.chunks >= 8
    assert set(s.languages) == {"en", "zh"}
    for mode in ("bm25", "dense", "hybrid"):
        results = hash_index.search("Who founded Harrow & Vale Construction?", mode=mode, k=3)
        assert results, mode
        top = results[0]
        assert top.rank == 1 and top.citation.title
        doc_text = hash_index.store.citations([top.citation.chunk_id])[top.citation.chunk_id].text
        assert doc_text == top.text
    assert hash_index.search("Who founded Harrow & Vale Construction?", mode="bm25")[0].citation.title \
        == "Harrow & Vale Construction"
    zh = hash_index.search("青石桥的设计者是谁", mode="bm25", k=2)
    assert zh[0].citation.title in {"青石桥", "林文远"}


def test_the_quickstart_three_hop_question_finds_its_answer_in_the_top_3(hash_index):
    # bridge -built by-> company -founded by-> founder -born in-> Kelby: a fact path that explains the
    # whole question votes in graph mode, which auto picks for this entity-titled corpus
    question = "Where was the founder of the company that built the Lumen Bridge born?"
    assert hash_index.resolve_mode(question, "auto") == "graph"
    hits = hash_index.search(question, k=3)
    assert "Thomas Harrow" in [h.citation.title for h in hits]
    assert "facts" in next(h.routes for h in hits if h.citation.title == "Thomas Harrow")


def test_offsets_point_into_the_document(hash_index):
    for r in hash_index.search("Lumen Bridge", k=5):
        c = r.citation
        [(doc_text,)] = hash_index.store._db.execute("SELECT text FROM documents WHERE id=?", (c.doc_id,))
        assert doc_text[c.start:c.end] == r.text


def test_reindex_is_a_no_op_and_changes_replace(tmp_path, sample_dir):
    corpus = tmp_path / "corpus"
    shutil.copytree(sample_dir, corpus)
    with Banyan(tmp_path / "idx", HASH) as bn:
        first = bn.index([corpus])
        assert first.documents_added == 8 and not first.failures
        again = bn.index([corpus])
        assert again.files_unchanged == 8 and again.documents_added == 0 and again.chunks_embedded == 0
        (corpus / "thomas_harrow.md").write_text("# Thomas Harrow\n\nThomas Harrow was born in Dunmore.")
        changed = bn.index([corpus])
        assert (changed.documents_added, changed.documents_removed) == (1, 1)
        assert bn.stats().documents == 8
        assert "Dunmore" in bn.search("where was Thomas Harrow born", mode="bm25", k=1)[0].text
        assert bn.remove(corpus / "thomas_harrow.md") == 1
        assert bn.stats().documents == 7
        assert all(r.citation.title != "Thomas Harrow" for r in bn.search("Thomas Harrow Dunmore", k=10))


def test_bad_inputs_are_reported_and_the_rest_indexed(tmp_path):
    from fpdf import FPDF

    d = tmp_path / "bad"
    d.mkdir()
    (d / "good.txt").write_text("A readable file about the Lumen Bridge.", encoding="utf-8")
    (d / "empty.txt").write_bytes(b"")
    (d / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (d / "latin1.md").write_bytes("Caf\xe9 cr\xe8me".encode("latin-1"))
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, "truncated")
    data = bytes(pdf.output())
    (d / "truncated.pdf").write_bytes(data[: len(data) // 3])
    line = "The quick brown fox jumps over the lazy dog near the old stone bridge. "
    big = (line * (50 * 1024 * 1024 // len(line) + 1))[: 50 * 1024 * 1024]
    (d / "big.txt").write_text(big, encoding="ascii")
    with Banyan(tmp_path / "idx", NO_GRAPH) as bn:
        report = bn.index([d], embed=False)
        assert {f.path.rsplit("/", 1)[1] for f in report.failures} == {  # latin1.md is decoded as cp1252
            "empty.txt", "binary.txt", "truncated.pdf"}
        for f in report.failures:
            assert "\n" not in str(f) and str(f).startswith(str(d))
        assert report.documents_added == 3
        assert bn.stats().chunks > 1000
        assert bn.search("Lumen Bridge readable", mode="bm25", k=1)[0].citation.title == "good"


def _consistent(db_path):
    db = sqlite3.connect(db_path)
    one = lambda q: db.execute(q).fetchone()[0]
    assert one("PRAGMA integrity_check") == "ok"
    assert one("SELECT COUNT(*) FROM chunks WHERE doc_id NOT IN (SELECT id FROM documents)") == 0
    assert one("SELECT COUNT(*) FROM documents WHERE id NOT IN (SELECT doc_id FROM chunks)") == 0
    assert one("SELECT COUNT(*) FROM documents WHERE id NOT IN (SELECT doc_id FROM doc_sources)") == 0
    assert one("SELECT COUNT(*) FROM embeddings WHERE chunk_id NOT IN (SELECT id FROM chunks)") == 0
    counts = (one("SELECT COUNT(*) FROM documents"), one("SELECT COUNT(*) FROM chunks"))
    db.close()
    return counts


def test_crash_midway_then_rerun_completes_without_duplicates(tmp_path, monkeypatch):
    corpus = tmp_path / "c"
    corpus.mkdir()
    for i in range(40):
        (corpus / f"doc{i:02d}.txt").write_text(f"Document number {i}. " * 200, encoding="utf-8")
    with Banyan(tmp_path / "ref", NO_GRAPH) as ref:
        ref.index([corpus])
        expected = (ref.stats().documents, ref.stats().chunks)

    from banyan.store.sqlite import SQLiteStore

    real = SQLiteStore.replace_file
    calls = {"n": 0}

    def crash_on_21st(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 21:
            raise KeyboardInterrupt("simulated kill")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SQLiteStore, "replace_file", crash_on_21st)
    bn = Banyan(tmp_path / "idx", NO_GRAPH)
    with pytest.raises(KeyboardInterrupt):
        bn.index([corpus])
    bn.close()
    assert _consistent(tmp_path / "idx" / "banyan.sqlite")[0] == 20
    monkeypatch.setattr(SQLiteStore, "replace_file", real)
    with Banyan(tmp_path / "idx", NO_GRAPH) as bn:
        report = bn.index([corpus])
        assert report.files_unchanged == 20 and report.documents_added == 20
    assert _consistent(tmp_path / "idx" / "banyan.sqlite") == expected


def test_sigkill_during_indexing_leaves_a_consistent_index(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    corpus = tmp_path / "c"
    corpus.mkdir()
    for i in range(300):
        (corpus / f"doc{i:03d}.txt").write_text(f"Passage {i} about bridges and rivers. " * 300, encoding="utf-8")
    idx = tmp_path / "idx"
    code = ("import sys; from banyan import Banyan; "
            "Banyan(sys.argv[1], {'embedding': {'backend': 'hash'}, 'graph': {'enabled': False}})"
            ".index([sys.argv[2]])")
    proc = subprocess.Popen([sys.executable, "-c", code, str(idx), str(corpus)])
    db = idx / "banyan.sqlite"
    deadline = time.monotonic() + 120
    killed = False
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists():
            try:
                con = sqlite3.connect(db, timeout=0.1)
                try:
                    n = con.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
                finally:
                    con.close()
            except sqlite3.OperationalError:
                n = 0
            if n >= 30:
                os.kill(proc.pid, signal.SIGKILL)
                killed = True
                break
        time.sleep(0.02)
    proc.wait()
    assert killed, "indexing finished before it could be killed"
    docs, _ = _consistent(db)
    assert 30 <= docs <= 300
    with Banyan(idx, HASH) as bn:
        bn.index([corpus])
        assert bn.stats().documents == 300
        assert len(bn.store.chunks_without_embedding(bn.embedder().name)) == 0
    assert _consistent(db)[0] == 300


def test_switching_embedder_is_detected(tmp_path, sample_dir):
    with Banyan(tmp_path / "idx", HASH) as bn:
        bn.index([sample_dir])
    with Banyan(tmp_path / "idx", {"embedding": {"backend": "hash"}}) as bn:
        bn.store.put_embeddings("hash:256", [], __import__("numpy").zeros((0, 256)))
        assert bn.search("bridge", mode="dense")
    toml = (tmp_path / "idx" / "banyan.toml").read_text()
    assert 'backend = "hash"' in toml
    with Banyan(tmp_path / "idx", {"embedding": {"backend": "hash"}}) as bn:
        bn.store._db.execute("DELETE FROM embeddings WHERE rowid IN (SELECT rowid FROM embeddings LIMIT 1)")
        bn.store._bump()
        # a chunk without a vector (a stopped run) is left out of dense search, with a warning (#13)
        assert bn.search("bridge", mode="dense")
    with Banyan(tmp_path / "idx", {"embedding": {"backend": "hash"}}) as bn:
        bn.store._db.execute("UPDATE embeddings SET model='onnx:other'")
        bn.store._bump()
        with pytest.raises(IndexMismatchError, match="banyan index"):
            bn.search("bridge", mode="dense")


runner = CliRunner()


def test_cli_index_search_status(tmp_path, sample_dir, monkeypatch):
    monkeypatch.setenv("BANYAN_EMBEDDING__BACKEND", "hash")
    idx = str(tmp_path / "idx")
    res = runner.invoke(app, ["index", str(sample_dir), "--index", idx])
    assert res.exit_code == 0, res.output
    assert "+8 documents" in res.output
    res = runner.invoke(app, ["search", "Lumen Bridge designer", "--index", idx, "--json", "--k", "2"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert len(data["results"]) == 2
    assert {"doc_id", "title", "chunk", "start", "end", "source"} <= set(data["results"][0]["citation"])
    res = runner.invoke(app, ["status", "--index", idx, "--json"])
    assert json.loads(res.stdout)["documents"] == 8
    assert json.loads(res.stdout)["graph_walk"].startswith(("push (compiled)", "power: the compiled push loop"))
    res = runner.invoke(app, ["search", "x", "--index", idx, "--mode", "nonsense"])
    assert res.exit_code != 0


def test_cli_quickstart(tmp_path, monkeypatch):
    monkeypatch.setenv("BANYAN_EMBEDDING__BACKEND", "hash")
    res = runner.invoke(app, ["quickstart", "--index", str(tmp_path / "q")])
    assert res.exit_code == 0, res.output
    assert "Thomas Harrow" in res.output and "林文远" in res.output


def test_a_question_in_a_language_the_embedder_does_not_read_is_never_embedded(hash_index):
    """An English-only model says nothing useful about a Chinese question: no route embeds one (dense
    skips it, and so do the graph's bridge, community, relation weights and name linking), and `auto`
    lets the PageRank walk stand in for the dense route. Which languages the model reads comes from
    the settings (``embedding.languages``): choosing the mode loads no model."""
    bn = Banyan(hash_index.index_dir, {"embedding": {"backend": "hash", "languages": ["en"]}})
    question = "青石桥的设计者是谁"
    assert bn.resolve_mode(question, "auto") == "hybrid+ppr"
    assert bn._embedder is None  # the mode was chosen without loading the model
    emb = bn.embedder()
    assert emb.languages == {"en"}
    embedded: list[str] = []
    real_query, real_documents = emb.embed_query, emb.embed_documents

    def embed_query(text):
        embedded.append(text)
        return real_query(text)

    def embed_documents(texts):
        embedded.extend(texts)
        return real_documents(texts)

    emb.embed_query, emb.embed_documents = embed_query, embed_documents
    for mode in ("graph", "hybrid+graph", "hybrid+facts", "hybrid+ppr", "auto"):
        hits = bn.search(question, mode=mode, k=3)
        assert hits and hits[0].citation.title in {"青石桥", "林文远"}, mode
    assert embedded == []
    bn.search("Who designed the Lumen Bridge?", mode="graph", k=3)
    assert embedded  # an English question still is
    bn.close()


def test_extracted_rows_record_the_extractor_that_found_them(hash_index):
    from banyan.extract.chinese import JiebaExtractor
    from banyan.extract.english import SpacyExtractor

    nlp = {SpacyExtractor.name, JiebaExtractor.name}
    mentions = hash_index.store.load_mentions()
    assert {m.source for m in mentions} == nlp | {"title"}  # document titles are aliases of their topic
    assert all(m.source == "title" for m in mentions if m.start < 0)
    assert {t.source for t in hash_index.store.load_triples()} <= nlp
    assert {a.source for a in hash_index.store.load_attributes()} <= nlp
