"""The PostgreSQL store (#15): dialect, migrations, connection errors, the writer lock, the URL in
banyan.toml, the same content as SQLite, and four concurrent writer processes ending as one."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from banyan import Banyan
from banyan.cli import app
from banyan.errors import ConfigError, IndexBusyError, IndexNotFoundError, StoreError
from banyan.ingest import chunk_document
from banyan.settings import load_settings, redact_url
from banyan.store import open_store
from banyan.store.dialect import pg_schema, translate
from banyan.types import Document
from conftest import HASH
from pg_server import create_database, unavailable
from test_reliability_concurrency import _VOLATILE_META, canonical_dump

PG_ONLY_TABLES = {"schema_migrations", "banyan_writers"}


def pg_canonical_dump(url: str) -> dict[str, list[tuple]]:
    """``canonical_dump`` of a PostgreSQL store: the same tables and rows (without PostgreSQL's own
    bookkeeping: the migration ledger, the writer registry, the ``rowid`` columns)."""
    import psycopg

    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
            "ORDER BY table_name")]
        out: dict[str, list[tuple]] = {}
        for table in tables:
            if table in PG_ONLY_TABLES:
                continue
            cols = [r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = %s AND column_name <> 'rowid' ORDER BY ordinal_position", (table,))]
            rows = conn.execute(f"SELECT {', '.join(f'{c!r}'.replace(chr(39), chr(34)) for c in cols)} "
                                f"FROM {table}").fetchall()
            if table == "files":
                rows = [r[:3] for r in rows]
            elif table == "meta":
                rows = [r for r in rows if r[0] not in _VOLATILE_META]
            rows = [tuple(hashlib.sha1(v).hexdigest() if isinstance(v, bytes) else v for v in r) for r in rows]
            out[table] = sorted(rows, key=repr)
        return out


def _without_schema_version(dump: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """The two backends number their schemas apart (SQLite 4, PostgreSQL migration 1)."""
    return {**dump, "meta": [r for r in dump["meta"] if r[0] != "schema_version"]}


# -- no server needed ---------------------------------------------------------------------------
def test_dialect_translates_the_store_sql() -> None:
    assert translate("SELECT id FROM chunks WHERE id IN (?,?)") == "SELECT id FROM chunks WHERE id IN (%s,%s)"
    assert translate("INSERT OR IGNORE INTO doc_sources VALUES (?,?,?)") == (
        "INSERT INTO doc_sources VALUES (%s,%s,%s) ON CONFLICT DO NOTHING")
    assert translate("INSERT OR REPLACE INTO meta VALUES ('embedder', ?)") == (
        "INSERT INTO meta VALUES ('embedder', %s) ON CONFLICT (key) DO UPDATE SET value=EXCLUDED.value")
    assert translate("UPDATE triples SET type=? WHERE source NOT LIKE ? AND x = '50%?'") == (
        "UPDATE triples SET type=%s WHERE source NOT LIKE %s AND x = '50%%?'")
    assert translate("SELECT 1 FROM t ORDER BY id LIMIT -1") == "SELECT 1 FROM t ORDER BY id LIMIT ALL"
    assert translate("SELECT 1 FROM t WHERE a IN ()") == "SELECT 1 FROM t WHERE a IN (NULL)"
    with pytest.raises(StoreError, match="UPSERT_KEYS"):
        translate("INSERT OR REPLACE INTO nowhere VALUES (?)")
    assert pg_schema("CREATE TABLE IF NOT EXISTS mentions (a TEXT NOT NULL, s REAL, v BLOB)") == (
        'CREATE TABLE IF NOT EXISTS mentions (a TEXT COLLATE "C" NOT NULL, s DOUBLE PRECISION, v BYTEA, '
        "rowid BIGSERIAL)")


def test_store_url_setting_and_redaction(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert redact_url("postgresql://bob:s3cret@db:5432/idx") == "postgresql://bob@db:5432/idx"
    assert redact_url("postgresql://bob:${PGPW}@db/idx") == "postgresql://bob:${PGPW}@db/idx"
    assert redact_url("postgresql://db/idx") == "postgresql://db/idx"
    with pytest.raises(ConfigError, match="not a store URL"):
        load_settings(None, {"store": {"url": "mysql://x:pw@h/db"}})
    monkeypatch.setenv("BANYAN_STORE__URL", "postgresql://u@h/db")
    assert load_settings(None).store.url == "postgresql://u@h/db"
    monkeypatch.delenv("BANYAN_STORE__URL")
    with pytest.raises(ConfigError, match=r"\$\{BANYAN_NO_SUCH_VAR\}"):
        open_store("postgresql://u:${BANYAN_NO_SUCH_VAR}@h/db", tmp_path)


# -- against a throwaway server -----------------------------------------------------------------
def test_migrations_are_versioned(pg_url: str, tmp_path: Path) -> None:
    from banyan.store.postgres_schema import LATEST, MIGRATIONS, applied_version, migrate

    with pytest.raises(IndexNotFoundError, match="banyan index PATH --store"):
        open_store(pg_url, tmp_path, create=False)  # an empty database is no index, and stays empty
    st = open_store(pg_url, tmp_path)
    raw = st._db.raw
    assert applied_version(raw) == LATEST == len(MIGRATIONS)
    assert st.get_meta("schema_version") == str(LATEST)
    assert migrate(raw, create=True, where="x") == 0  # up to date: nothing to do
    assert st._db.execute("SELECT '50%' || ?", ["?"]).fetchone() == ("50%?",)  # the dialect's % and ? escapes
    raw.execute("INSERT INTO schema_migrations (version, description) VALUES (%s, 'from the future')", (LATEST + 1,))
    st.close()
    with pytest.raises(StoreError, match="newer Banyan"):
        open_store(pg_url, tmp_path)


def test_without_postgresql_tests_skip_locally_and_fail_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no initdb"):
        unavailable("no initdb")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="cannot run in CI"):
        unavailable("no initdb")


def test_unreachable_server_says_where_and_what_to_check(tmp_path: Path) -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("psycopg is not installed")
    url = f"postgresql://nobody:pw@/banyan?host={tmp_path}/no-server-here"
    with pytest.raises(StoreError) as exc:
        open_store(url, tmp_path)
    message = str(exc.value)
    assert "cannot connect to the PostgreSQL store" in message and "pg_isready" in message
    assert redact_url(url) in message and ":pw@" not in message


def test_same_content_graph_and_communities_as_sqlite(pg_url: str, tmp_path: Path, sample_dir: Path) -> None:
    with Banyan(tmp_path / "lite", HASH) as lite, Banyan(tmp_path / "pg", {**HASH, "store": {"url": pg_url}}) as pg:
        lite.index([sample_dir])
        pg.index([sample_dir])
        lite.build_communities()
        pg.build_communities()
        assert _without_schema_version(pg_canonical_dump(pg_url)) == _without_schema_version(
            canonical_dump(tmp_path / "lite"))
        for mode in ("hybrid", "graph"):
            q = "Where was the founder of Harrow & Vale Construction born?"
            assert [r.to_dict() for r in pg.search(q, mode=mode, k=5)] == [
                r.to_dict() for r in lite.search(q, mode=mode, k=5)]
        assert pg.graph_stats() == lite.graph_stats()
        assert pg.communities(limit=100) == lite.communities(limit=100) and pg.communities()
        assert pg.entity("Thomas Harrow") == lite.entity("Thomas Harrow")
        assert [replace(d, indexed_at=0.0) for d in pg.documents()] == [
            replace(d, indexed_at=0.0) for d in lite.documents()]
        assert pg.pending().incomplete() == [] and pg.pending().writer is None
        assert not (tmp_path / "pg" / "banyan.sqlite").exists()


def test_writer_lock_shared_exclusive_and_upgrade(pg_url: str, tmp_path: Path) -> None:
    a, b = open_store(pg_url, tmp_path), open_store(pg_url, tmp_path)
    try:
        with a.writing(shared=True), b.writing(shared=True, wait=False):  # per-file work side by side
            assert a.writer() == b.writer() and a.writer().count("process") == 2
            with pytest.raises(IndexBusyError, match="being written by"), b.writing(wait=False):
                pass  # a global stage needs the index alone
            assert b.writer().count("process") == 2  # the failed upgrade kept b's shared lock
        upgraded = threading.Event()

        def upgrade() -> None:
            with b.writing(shared=True), b.writing():
                upgraded.set()

        with a.writing(shared=True):
            t = threading.Thread(target=upgrade)
            t.start()
            assert not upgraded.wait(0.5)  # waits for a's per-file work to end
        t.join(10)
        assert upgraded.is_set()
        with a.writing(), pytest.raises(IndexBusyError), b.writing(shared=True, wait=False):
            pass  # exclusive: a shared writer is refused (wait=False)
        assert a.writer() is None and a.get_meta("unfinished_run") is None
    finally:
        a.close()
        b.close()


def test_killed_writer_leaves_no_lock_and_status_tells(pg_url: str, tmp_path: Path) -> None:
    code = ("import os, sys\nfrom banyan.store import open_store\nst = open_store(sys.argv[1], sys.argv[2])\n"
            "with st.writing():\n    print('locked', flush=True)\n    sys.stdin.readline()\n    os._exit(9)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, pg_url, str(tmp_path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    st = open_store(pg_url, tmp_path)
    assert "process" in (st.writer() or "")
    with pytest.raises(IndexBusyError), st.writing(wait=False):
        pass
    proc.kill()  # like kill -9: the server drops its session and the lock with it
    proc.wait(10)
    assert "process" in (st.pending_work(None).unfinished_run or "")  # the killed run's mark stays for `status`
    with st.writing(wait=False):  # the next writer gets in at once (and finishes the work)
        assert st.writer() is not None
    assert st.writer() is None and st.pending_work(None).unfinished_run is None
    st.close()


def test_cli_records_the_store_without_its_password(pg_url: str, tmp_path: Path, sample_dir: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BANYAN_EMBEDDING__BACKEND", "hash")
    runner = CliRunner()
    idx = str(tmp_path / "idx")
    with_password = pg_url.replace("postgresql://postgres@", "postgresql://postgres:not-written@")  # trust: ignored
    res = runner.invoke(app, ["index", str(sample_dir / "thomas_harrow.md"), "--index", idx, "--store", with_password])
    assert res.exit_code == 0, res.output
    toml = (tmp_path / "idx" / "banyan.toml").read_text()
    assert "not-written" not in toml and redact_url(with_password) in toml
    assert "password in --store is not written" in res.output
    res = runner.invoke(app, ["search", "Thomas Harrow", "--index", idx, "--json"])  # finds the store by itself
    assert res.exit_code == 0 and json.loads(res.stdout)["results"]
    res = runner.invoke(app, ["status", "--index", idx, "--json"])
    assert json.loads(res.stdout)["documents"] == 1
    res = runner.invoke(app, ["index", str(sample_dir), "--index", idx, "--store", pg_url + "&application_name=x"])
    assert isinstance(res.exception, ConfigError) and "already uses the store" in str(res.exception)


WRITER = (
    "import os, sys, time\nfrom banyan import Banyan\nimport banyan.embed.others as o\n"
    "real = o.HashEmbedder.embed_documents\n"
    "def slow(self, texts):  # a slower embedder, so that the writers' per-file work overlaps\n"
    "    t0 = time.time()\n"
    "    time.sleep(0.5 if not texts[0].startswith('text:') else 0)\n"
    "    print('embedded', os.getpid(), t0, time.time(), flush=True)\n"
    "    return real(self, texts)\n"
    "o.HashEmbedder.embed_documents = slow\n"
    "with Banyan(sys.argv[1], {'embedding': {'backend': 'hash'}, 'store': {'url': sys.argv[2]}}) as bn:\n"
    "    r = bn.index(sys.argv[3:])\n"
    "    print(r.files_indexed, r.chunks_embedded, flush=True)\n"
)


def test_four_concurrent_writers_end_as_one(pg_server: str, tmp_path: Path) -> None:
    """Four processes index four parts of one corpus into one PostgreSQL store at the same time
    (one index directory: the BM25 index is shared too); the store ends exactly as one writer
    leaves it, graph included, and searches on it answer as on the single writer's."""
    corpus = tmp_path / "c"
    corpus.mkdir()
    people, towns = ["Mara Quill", "Tobias Wren", "Ilse Varga"], ["Dunmore", "Castlereagh", "Ebbsfleet", "Pellow"]
    for i in range(48):  # entities shared across files: resolution merges what different writers stored
        (corpus / f"note{i:03d}.txt").write_text(
            f"Station {i} stands on the Orrin River. Engineer {people[i % 3]} inspected Station {i} in {1900 + i}. "
            f"{people[(i + 1) % 3]} founded {people[i % 3].split()[1]} Works {i} in {towns[i % 4]}.", encoding="utf-8")
    files = sorted(str(p) for p in corpus.iterdir())
    one_url, many_url = create_database(pg_server), create_database(pg_server)
    with Banyan(tmp_path / "one", {**HASH, "store": {"url": one_url}}) as one:
        one.index([corpus])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "many"), many_url, *files[i::4]],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for i in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    lines = [line.split() for out, _ in outs for line in out.splitlines()]
    assert sum(int(w[0]) for w in lines if w[0] != "embedded") == 48  # every file read by exactly one writer
    windows = [(w[1], float(w[2]), float(w[3])) for w in lines if w[0] == "embedded"]
    assert any(p != q and a0 < b1 and b0 < a1 for p, a0, a1 in windows for q, b0, b1 in windows), windows
    many = pg_canonical_dump(many_url)
    assert many == pg_canonical_dump(one_url)
    assert len(many["chunks"]) == 48 and len(many["embeddings"]) == 48 and many["entities"] and many["triples"]
    with Banyan(tmp_path / "many", {"store": {"url": many_url}}) as bn, \
            Banyan(tmp_path / "one", {"store": {"url": one_url}}) as ref:
        assert bn.pending().incomplete() == [] and bn.pending().writer is None
        q = "Who inspected station 7?"
        assert [r.to_dict() for r in bn.search(q, k=5)] == [r.to_dict() for r in ref.search(q, k=5)]


def test_two_indexes_in_one_database_by_schema(pg_url: str, tmp_path: Path) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA team_a")
        conn.execute("CREATE SCHEMA team_b")
    a = open_store(pg_url + "&options=-csearch_path%3Dteam_a", tmp_path / "a")
    b = open_store(pg_url + "&options=-csearch_path%3Dteam_b", tmp_path / "b")
    try:
        doc = Document.create("/f.txt", "T", "Alpha beta.")
        a.replace_file("/f.txt", "h", [doc], chunk_document(doc, 50, 5))
        assert (a.stats().documents, b.stats().documents) == (1, 0)
        with a.writing(), b.writing(wait=False):  # separate indexes, separate writer locks
            assert a.writer().count("process") == b.writer().count("process") == 1
    finally:
        a.close()
        b.close()
    with pytest.raises(StoreError, match="no schema"):
        open_store(pg_url + "&options=-csearch_path%3Dnowhere", tmp_path / "c")


def test_llm_cache_and_ledger_live_in_the_server_database(pg_url: str, tmp_path: Path) -> None:
    """With a PostgreSQL store, every machine shares one LLM cache and ledger: a second process (here a
    second store object and LLM stack) gets the first one's replies from cache, and `banyan llm usage`
    reads the same ledger."""
    from banyan.app.llm_ops import llm_usage
    from banyan.llm import CallParams, build_llm, user
    from banyan.settings import LLMSettings
    from fake_openai import FakeOpenAI

    with FakeOpenAI(lambda req: {"content": "shared reply"}) as srv:
        cfg = LLMSettings(model="test-model", base_url=srv.base_url, api_key="k", timeout_s=2.0)
        with Banyan(tmp_path / "a", {**HASH, "store": {"url": pg_url}}) as first:
            stack = build_llm(cfg, first.index_dir, database=first.store.llm_database())
            assert stack.llm.complete([user("hello")], CallParams(stage="answer")).text == "shared reply"
        with Banyan(tmp_path / "b", {**HASH, "store": {"url": pg_url}}) as second:
            stack = build_llm(cfg, second.index_dir, database=second.store.llm_database())
            again = stack.llm.complete([user("hello")], CallParams(stage="answer"))
            assert again.cached and again.text == "shared reply"
        assert len(srv.requests) == 1
        assert not (tmp_path / "a" / "llm.sqlite").exists() and not (tmp_path / "b" / "llm.sqlite").exists()
    report = llm_usage(load_settings(tmp_path / "b", {"store": {"url": pg_url}}))
    [row] = report.stages
    assert (row.stage, row.calls, row.cached_calls) == ("answer", 2, 1)
