"""Everyday reliability (#13), part 2: one writer at a time, and searches that never fail while a
writer runs. ``canonical_dump`` is shared with the other reliability tests."""

from __future__ import annotations

import hashlib
import logging
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from banyan import Banyan
from banyan.cli import main
from banyan.cli_common import ExitCode
from banyan.embed.others import HashEmbedder
from banyan.errors import IndexBusyError
from conftest import HASH

_VOLATILE_META = {"version", "graph_changes", "vectors_changes", "resolved_at", "communities_at", "graph_finished"}


def canonical_dump(index_dir: Path) -> dict[str, list[tuple]]:
    """Every table of an index as sorted rows, without what only says *when* (timestamps, counters)."""
    db = sqlite3.connect(index_dir / "banyan.sqlite")
    try:
        out: dict[str, list[tuple]] = {}
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        for table in tables:
            rows = db.execute(f"SELECT * FROM {table}").fetchall()
            if table == "files":
                rows = [r[:3] for r in rows]  # drop indexed_at
            elif table == "meta":
                rows = [r for r in rows if r[0] not in _VOLATILE_META]
            rows = [tuple(hashlib.sha1(v).hexdigest() if isinstance(v, bytes) else v for v in r) for r in rows]
            out[table] = sorted(rows, key=repr)
        return out
    finally:
        db.close()


def _corpus(root: Path, n: int, start: int = 0) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        (root / f"note{i:03d}.txt").write_text(
            f"Station {i} stands on the Orrin River. Engineer Mara Quill{i} inspected station {i} in {1900 + i}.",
            encoding="utf-8")
    return root


class _CountingEmbedder:
    """Counts the texts every HashEmbedder embeds (all threads)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.texts: list[str] = []
        self._lock = threading.Lock()
        real = HashEmbedder.embed_documents

        def counted(emb: HashEmbedder, texts):  # type: ignore[no-untyped-def]
            with self._lock:
                self.texts.extend(texts)
            time.sleep(0.01)  # a slower embedder: the two writers overlap
            return real(emb, texts)

        monkeypatch.setattr(HashEmbedder, "embed_documents", counted)


def test_two_concurrent_writers_do_the_work_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    corpus = _corpus(tmp_path / "c", 60)
    over = {**HASH, "graph": {"enabled": False}}
    with Banyan(tmp_path / "ref", over) as ref:
        ref.index([corpus])
    counter = _CountingEmbedder(monkeypatch)
    reports = []

    def run() -> None:
        with Banyan(tmp_path / "idx", over) as bn:
            reports.append(bn.index([corpus]))

    with caplog.at_level(logging.WARNING, logger="banyan.store.lock"):
        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(r.files_indexed for r in reports) == [0, 60]
    assert sorted(r.files_unchanged for r in reports) == [0, 60]
    chunk_texts = [t for t in counter.texts if not t.startswith("text:")]
    n_chunks = len(canonical_dump(tmp_path / "idx")["chunks"])
    assert len(chunk_texts) == n_chunks  # every chunk embedded exactly once
    assert canonical_dump(tmp_path / "idx") == canonical_dump(tmp_path / "ref")
    assert any("waiting for it to finish" in r.message for r in caplog.records)


def test_no_wait_fails_fast_with_exit_code_4(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    corpus = _corpus(tmp_path / "c", 3)
    with Banyan(tmp_path / "idx", HASH) as holder:
        holder.index([corpus])
        with holder.store.writing():  # another writer is mid-run
            with Banyan(tmp_path / "idx") as other:
                with pytest.raises(IndexBusyError, match=r"being written by process \d+"):
                    other.index([corpus], wait=False)
                assert other.store.writer() is not None and "process" in other.pending().writer
                assert other.search("Orrin River", mode="hybrid", k=3)  # readers go on
            monkeypatch.setattr(sys, "argv", ["banyan", "index", str(corpus), "--index", str(tmp_path / "idx"),
                                              "--no-wait"])
            with pytest.raises(SystemExit) as exc:
                main()
            assert exc.value.code == ExitCode.BUSY
            assert "only one writer at a time" in capsys.readouterr().err
        with Banyan(tmp_path / "idx") as other:
            assert other.store.writer() is None
            assert other.index([corpus], wait=False).files_unchanged == 3


def test_second_process_waits_for_the_first(tmp_path: Path) -> None:
    """Two real `banyan index` processes: the store ends as after one, each chunk embedded once."""
    corpus = _corpus(tmp_path / "c", 40)
    log = tmp_path / "embedded.txt"
    code = (
        "import sys, banyan.embed.others as o\n"
        "real = o.HashEmbedder.embed_documents\n"
        "def counted(self, texts):\n"
        "    open(sys.argv[3], 'a').write(''.join(t.replace(chr(10), ' ') + chr(10) for t in texts))\n"
        "    return real(self, texts)\n"
        "o.HashEmbedder.embed_documents = counted\n"
        "from banyan import Banyan\n"
        "with Banyan(sys.argv[1], {'embedding': {'backend': 'hash'}, 'graph': {'enabled': False}}) as bn:\n"
        "    print(bn.index([sys.argv[2]]).files_indexed)\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "idx"), str(corpus), str(log)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert sorted(int(o[0].strip()) for o in outs) == [0, 40]
    embedded = log.read_text(encoding="utf-8").splitlines()
    assert len(embedded) == len(set(embedded)) == len(canonical_dump(tmp_path / "idx")["chunks"])


def test_searches_never_fail_during_an_incremental_index(tmp_path: Path, sample_dir: Path) -> None:
    """A search loop while 200 files are added: no error, and every result is committed content."""
    idx = tmp_path / "idx"
    with Banyan(idx, HASH) as bn:
        bn.index([sample_dir])
    corpus = _corpus(tmp_path / "new", 200)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with Banyan(idx) as writer:
                writer.index([corpus])
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    thread = threading.Thread(target=write)
    searches = 0
    seen_new = False
    with Banyan(idx) as reader:
        thread.start()
        modes = ["hybrid", "dense", "bm25", "auto", "graph", "hybrid+graph"]
        while thread.is_alive() or searches < len(modes):
            mode = modes[searches % len(modes)]
            results = reader.search("Who designed the Lumen Bridge on the Orrin River?", mode=mode, k=5)
            assert results, mode
            for r in results:  # consistent with a committed state: the chunk and its text are stored
                passage = reader.store.citations([r.citation.chunk_id]).get(r.citation.chunk_id)
                assert passage is not None and passage.text == r.text and passage.citation == r.citation
            seen_new = seen_new or any("note" in r.citation.source for r in results)
            searches += 1
        thread.join()
        assert not errors, errors
        assert searches >= len(modes), searches
        after = reader.search("Engineer Mara Quill150 inspected station 150", mode="bm25", k=1)
        assert after and after[0].citation.title == "note150"  # everything visible once committed


_INDEX_CODE = (  # small blocks: many commit points to be killed between
    "import sys; import banyan.index.pipeline as p, banyan.graph.build as g\n"
    "p.EMBED_BLOCK = 16; g.EXTRACT_BLOCK = 40\n"
    "from banyan import Banyan\n"
    "with Banyan(sys.argv[1], {'embedding': {'backend': 'hash'}}) as bn:\n"
    "    bn.index([sys.argv[2]])\n"
)


def _stage_left(idx: Path) -> str:
    """Which stage a killed run left unfinished."""
    if not (idx / "banyan.sqlite").is_file():
        return "nothing stored"
    with Banyan(idx, create=False) as bn:
        files, pending = bn.stats().files, bn.store.pending_work(None)
    if files < 300:
        return "ingest"
    if pending.chunks_without_vector:
        return "embed"
    if pending.chunks_unextracted:
        return "extract"
    if pending.graph_stale or not pending.graph_built:
        return "resolve"
    return "bm25 or done"


def _kill_corpus(root: Path) -> Path:
    root.mkdir(parents=True)
    towns = ["Eastport", "Northfield", "Grey Harbour", "Lindale", "Copperton"]
    for i in range(300):
        town = towns[i % len(towns)]
        body = " ".join(
            f"Engineer Mara Quill{i} built the Orrin Bridge {i} in {town} in {1850 + i}. It was designed by "
            f"the Harrow Works and crosses the River Tane{i % 7}. Inspector Joel Brand{j} visited it in {1900 + j}."
            for j in range(i % 5 + 1))
        (root / f"note{i:03d}.md").write_text(f"# Orrin Bridge {i}\n\n{body}\n", encoding="utf-8")
    return root


def _progress(db: Path) -> tuple[int, int, int]:
    """(files, vectors, extracted chunks) committed so far, read as any reader would."""
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1.0)
        try:
            return tuple(con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]  # type: ignore[return-value]
                         for t in ("files", "embeddings", "extracted"))
        finally:
            con.close()
    except sqlite3.OperationalError:  # not created yet
        return (0, 0, 0)


@pytest.mark.slow
def test_kill_9_at_20_random_points_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    """Each of 20 runs is killed at a random commit point of one stage (ingest, embed, extract,
    resolve and later), then resumed; every resumed index equals the uninterrupted one."""
    import random

    corpus = _kill_corpus(tmp_path / "c")
    subprocess.run([sys.executable, "-c", _INDEX_CODE, str(tmp_path / "ref"), str(corpus)], check=True)
    expected = canonical_dump(tmp_path / "ref")
    n_chunks = len(expected["chunks"])
    rng = random.Random(13)
    hit = []
    for i in range(20):
        stage = ("ingest", "embed", "extract", "resolve")[i % 4]
        target = (300, n_chunks, n_chunks)[min(i % 4, 2)] * rng.uniform(0.05, 0.95)
        idx = tmp_path / f"idx{i}"
        proc = subprocess.Popen([sys.executable, "-c", _INDEX_CODE, str(idx), str(corpus)])
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            files, vectors, extracted = _progress(idx / "banyan.sqlite")
            done = {"ingest": files, "embed": vectors, "extract": extracted}.get(stage, extracted)
            if (stage != "resolve" and done >= target) or (stage == "resolve" and extracted >= n_chunks):
                time.sleep(rng.uniform(0.0, 0.4) if stage == "resolve" else 0.0)
                break
            time.sleep(0.005)
        proc.kill()  # SIGKILL: no cleanup, no finally blocks
        proc.wait()
        hit.append(_stage_left(idx))
        subprocess.run([sys.executable, "-c", _INDEX_CODE, str(idx), str(corpus)], check=True)
        assert canonical_dump(idx) == expected, (i, hit[-1])
        shutil.rmtree(idx)
    assert len(set(hit) - {"nothing stored", "bm25 or done"}) >= 3, hit
