"""The knowledge graph's array cache: a fresh process loads the graph without rebuilding it, gets
the same answers, and never reads a stale or broken cache."""

from __future__ import annotations

from pathlib import Path

from banyan import Banyan
from banyan.graph import kg_cache
from conftest import HASH

QUESTIONS = ["Where was the founder of the company that built the Lumen Bridge born?",
             "Who designed the Lumen Bridge?", "青石桥的设计者毕业于哪所大学？"]


def _ranked(bn: Banyan) -> list[list[str]]:
    return [[r.citation.chunk_id for r in bn.search(q, mode="graph", k=5)] for q in QUESTIONS]


def _caches(index: Path) -> list[Path]:
    return sorted((index / kg_cache.CACHE_DIR).glob("graph-*"))


def test_cache_is_written_once_and_gives_the_same_results(tmp_path: Path, sample_dir: Path, monkeypatch) -> None:
    index = tmp_path / "idx"
    with Banyan(index, HASH) as bn:
        bn.index([sample_dir])
        first = _ranked(bn)
    assert len(_caches(index)) == 1

    def no_rebuild(*args, **kwargs):
        raise AssertionError("the graph was rebuilt from the store although a cache exists")

    with monkeypatch.context() as m:
        m.setattr("banyan.graph.kg.KnowledgeGraph.load", no_rebuild)
        with Banyan(index, HASH, create=False) as bn:
            assert _ranked(bn) == first


def test_a_changed_index_gets_a_new_cache_and_the_old_one_goes(tmp_path: Path, sample_dir: Path) -> None:
    index = tmp_path / "idx"
    with Banyan(index, HASH) as bn:
        bn.index([sample_dir])
        bn.search(QUESTIONS[0], mode="graph")
        before = _caches(index)
        extra = tmp_path / "extra.md"
        extra.write_text("# Mira Holt\n\nMira Holt was born in Kelby and founded the Kelby Rowing Club.\n")
        bn.index([extra])
        hits = bn.search("Where was Mira Holt born?", mode="graph", k=3)
    assert hits[0].citation.source.endswith("extra.md")
    after = _caches(index)
    assert len(after) == 1 and after != before


def test_a_broken_cache_is_rebuilt_not_an_error(tmp_path: Path, sample_dir: Path) -> None:
    index = tmp_path / "idx"
    with Banyan(index, HASH) as bn:
        bn.index([sample_dir])
        first = _ranked(bn)
    (cache,) = _caches(index)
    (cache / "names.txt").write_text("only one line", encoding="utf-8")
    (cache / "adjacency_data.npy").write_bytes(b"garbage")
    with Banyan(index, HASH, create=False) as bn:
        assert _ranked(bn) == first
    assert len(_caches(index)) == 1
