"""Everyday reliability (#13), part 1: encodings, honest reports, exit codes, no accidental indexes,
`remove` of unknown paths, `status` of half-built indexes, progress as log lines."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from rich.console import Console

from banyan import Banyan
from banyan.cli import main
from banyan.cli_common import ExitCode, RichProgress
from banyan.errors import IndexNotFoundError, IngestError, NotIndexedError
from banyan.ingest.encoding import decode_bytes
from conftest import HASH

GBK_TEXT = "青石桥的设计者是林文远，他毕业于北方理工学院。这座桥建于一九二零年，横跨清河。"
LATIN_TEXT = "Café society: the naïve résumé of Zoë Müller, née Straße, and Señor Núñez's façade."


def _cli(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["banyan", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    return int(exc.value.code or 0)


@pytest.mark.parametrize("text,encoding,detected", [
    (GBK_TEXT, "gbk", "gb18030"),
    (GBK_TEXT, "gb18030", "gb18030"),
    ("青石橋的設計者是林文遠，他畢業於北方理工學院。這座橋建於一九二零年。", "big5", "big5"),
    ("東京は日本の首都です。多くの人がここに住んでいます。", "shift_jis", "cp932"),
    (LATIN_TEXT, "latin-1", "cp1252"),
    ("He said \u201cgood morning\u201d \u2014 it costs 5\u20ac. Caf\u00e9 cr\u00e8me.", "cp1252", "cp1252"),
    ("Hello 世界 café", "utf-16", "utf-16"),
    ("plain ascii", "utf-8", "utf-8"),
])
def test_legacy_encodings_are_detected(text: str, encoding: str, detected: str) -> None:
    decoded = decode_bytes(text.encode(encoding))
    assert decoded.text == text and decoded.encoding == detected


def test_binaries_are_refused() -> None:
    with pytest.raises(IngestError, match="binary"):
        decode_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(IngestError, match="not text"):
        decode_bytes(bytes(range(1, 256)) * 64)


def test_gbk_and_latin1_files_are_indexed_intact(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "bridge_zh.txt").write_bytes(GBK_TEXT.encode("gbk"))
    (docs / "cafe.md").write_bytes(LATIN_TEXT.encode("latin-1"))
    with Banyan(tmp_path / "idx", HASH) as bn:
        report = bn.index([docs])
        assert report.files_indexed == 2 and not report.failures
        assert any("gb18030" in n and "bridge_zh.txt" in n for n in report.notes)
        assert any("cp1252" in n and "cafe.md" in n for n in report.notes)
        texts = {r.citation.title: r.text for r in bn.search("青石桥 Café résumé", mode="bm25", k=5)}
    assert texts["bridge zh"] == GBK_TEXT and texts["cafe"] == LATIN_TEXT


def _mixed_folder(tmp_path: Path) -> Path:
    d = tmp_path / "mixed"
    d.mkdir()
    (d / "good1.txt").write_text("The Lumen Bridge crosses the river.", encoding="utf-8")
    (d / "good2.md").write_text("# Ada\nAda Whitcombe designed it.", encoding="utf-8")
    (d / "empty.txt").write_bytes(b"")
    (d / "blank.md").write_text("   \n\n")
    (d / "bin1.txt").write_bytes(b"\x00\x01binary")
    (d / "bin2.txt").write_bytes(b"\x00" * 64)
    (d / "broken.json").write_text("{nope", encoding="utf-8")
    return d


def test_report_counts_and_exit_code_when_files_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    d = _mixed_folder(tmp_path)
    with Banyan(tmp_path / "api", HASH) as bn:
        report = bn.index([d])
    assert (report.files_seen, report.files_indexed, report.files_unchanged, report.files_failed) == (7, 2, 0, 5)

    monkeypatch.setenv("BANYAN_EMBEDDING__BACKEND", "hash")
    idx = str(tmp_path / "cli")
    assert _cli(monkeypatch, "index", str(d), "--index", idx, "--no-graph") == ExitCode.PARTIAL
    out = capsys.readouterr()
    assert "indexed 2 files, 0 unchanged, 5 failed" in out.out
    assert out.err.count("failed ") >= 5
    assert _cli(monkeypatch, "index", str(d / "good1.txt"), "--index", idx) == ExitCode.OK
    assert "indexed 0 files, 1 unchanged, 0 failed" in capsys.readouterr().out


def test_read_commands_never_create_an_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BANYAN_EMBEDDING__BACKEND", "hash")
    for args in (["search", "bridge"], ["status"], ["graph", "stats"], ["remove", "x.txt"],
                 ["communities", "list"], ["search", "bridge", "--index", "elsewhere"]):
        assert _cli(monkeypatch, *args) == ExitCode.ERROR, args
        assert "no Banyan index in" in capsys.readouterr().err
    assert not (tmp_path / ".banyan").exists() and not (tmp_path / "elsewhere").exists()
    with pytest.raises(IndexNotFoundError, match="banyan index"):
        Banyan(tmp_path / "api", HASH, create=False)
    assert not (tmp_path / "api").exists()


def test_remove_unknown_path_is_an_error_and_folders_work(tmp_path: Path, sample_dir: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    corpus = tmp_path / "corpus"
    shutil.copytree(sample_dir, corpus)
    with Banyan(tmp_path / "idx", {**HASH, "graph": {"enabled": False}}) as bn:
        bn.index([corpus])
        files = bn.stats().files
        with pytest.raises(NotIndexedError, match="indexed files with that name"):
            bn.remove(tmp_path / "thomas_harrow.md")
        with pytest.raises(NotIndexedError, match="not indexed"):
            bn.remove(tmp_path / "never.md")
        assert bn.stats().files == files  # nothing removed
    monkeypatch.setenv("BANYAN_EMBEDDING__BACKEND", "hash")
    idx = str(tmp_path / "idx")
    assert _cli(monkeypatch, "remove", str(tmp_path / "never.md"), "--index", idx) == ExitCode.ERROR
    assert "not indexed" in capsys.readouterr().err
    assert _cli(monkeypatch, "remove", str(corpus), "--index", idx) == ExitCode.OK
    with Banyan(tmp_path / "idx") as bn:
        assert bn.stats().files == 0 and bn.stats().chunks == 0


def test_status_shows_incomplete_stages(tmp_path: Path, sample_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    idx = tmp_path / "idx"
    with Banyan(idx, HASH) as bn, monkeypatch.context() as m:
        m.setattr(Banyan, "build_graph", lambda *a, **k: None)  # a run stopped before embedding and the graph
        bn.index([sample_dir], embed=False)
    monkeypatch.setenv("BANYAN_EMBEDDING__BACKEND", "hash")
    assert _cli(monkeypatch, "status", "--index", str(idx), "--json") == ExitCode.OK
    info = json.loads(capsys.readouterr().out)
    assert info["writer"] is None
    joined = " | ".join(info["incomplete"])
    assert "chunks have no vector" in joined and "not extracted" in joined
    with Banyan(idx) as bn:
        assert bn.search("Lumen Bridge", mode="hybrid", k=3)  # a half-built index still answers
        bn.index([])  # no paths: finish the job
        assert bn.pending().incomplete() == []
    assert _cli(monkeypatch, "status", "--index", str(idx)) == ExitCode.OK
    assert "incomplete:" not in capsys.readouterr().out


def test_progress_is_logged_as_lines_when_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    buf = io.StringIO()
    progress = RichProgress(Console(file=buf, force_terminal=False, width=200), interval=0.0)
    progress.start("embed", 1000)
    for _ in range(4):
        progress.advance(250)
    progress.done()
    progress.start("extract", 0)
    progress.done()
    lines = buf.getvalue().splitlines()
    assert lines[0].endswith("embed: 1,000 to do")
    assert any("embed: 500/1,000 (50%)" in line for line in lines)
    assert "done in" in lines[-1] and len(lines) == 6


def test_status_says_when_a_run_was_stopped(tmp_path: Path, sample_dir: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import banyan.api

    idx = tmp_path / "idx"
    with Banyan(idx, HASH) as bn, monkeypatch.context() as m:
        def killed(*args: object, **kwargs: object) -> None:
            raise KeyboardInterrupt("simulated Ctrl-C")

        m.setattr(banyan.api, "embed_missing", killed)
        with pytest.raises(KeyboardInterrupt):
            bn.index([sample_dir])
    with Banyan(idx, create=False) as bn:
        [first, *_] = bn.pending().incomplete()
        assert "stopped before finishing" in first and "process" in first
        bn.index([sample_dir])
        assert bn.pending().incomplete() == []
