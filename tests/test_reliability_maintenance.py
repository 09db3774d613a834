"""Everyday reliability (#13), part 3: removing or changing a file updates the graph, communities
and exports in the same command; remove-then-readd restores exactly the original."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from banyan import Banyan
from conftest import HASH


def _snapshot(bn: Banyan, tmp: Path, tag: str) -> dict[str, object]:
    graphml = tmp / f"{tag}.graphml"
    csv_dir = tmp / f"{tag}-csv"
    bn.export_graph(graphml)
    bn.export_graph(csv_dir, "neo4j-csv")
    communities = [(c.id, c.level, c.parent, c.size, c.title, c.keywords, c.report.to_dict(), c.members)
                   for c in bn.store.communities(with_members=True)]
    return {
        "stats": bn.graph_stats(),
        "graphml": graphml.read_text(encoding="utf-8"),
        "entities_csv": (csv_dir / "entities.csv").read_text(encoding="utf-8"),
        "relations_csv": (csv_dir / "relations.csv").read_text(encoding="utf-8"),
        "communities": sorted(communities, key=repr),
    }


def _support(db: Path) -> dict[str, set[str]]:
    """Entity id -> the chunks whose mentions carry one of its names."""
    con = sqlite3.connect(db)
    try:
        out: dict[str, set[str]] = {}
        for eid, cid in con.execute("SELECT k.entity_id, m.chunk_id FROM entity_keys k JOIN mentions m ON m.norm = k.norm"):
            out.setdefault(eid, set()).add(cid)
        return out
    finally:
        con.close()


def _chunks_of(db: Path, source_name: str) -> set[str]:
    con = sqlite3.connect(db)
    try:
        return {r[0] for r in con.execute(
            "SELECT c.id FROM chunks c JOIN doc_sources s ON s.doc_id = c.doc_id WHERE s.path LIKE ?",
            (f"%/{source_name}",))}
    finally:
        con.close()


@pytest.fixture
def corpus(tmp_path: Path, sample_dir: Path) -> Path:
    out = tmp_path / "corpus"
    shutil.copytree(sample_dir, out)
    return out


def test_remove_then_readd_restores_graph_exports_and_communities(tmp_path: Path, corpus: Path) -> None:
    idx = tmp_path / "idx"
    with Banyan(idx, HASH) as bn:
        bn.index([corpus])
        bn.build_communities()
        before = _snapshot(bn, tmp_path, "before")
        removed_chunks = _chunks_of(idx / "banyan.sqlite", "lumen_bridge.md")
        assert removed_chunks
        only_there = {e for e, chunks in _support(idx / "banyan.sqlite").items() if chunks <= removed_chunks}
        assert only_there  # some entities are supported by that file alone

        bn.remove(corpus / "lumen_bridge.md")  # one command: no `banyan index` afterwards
        entities = {e.id for e in bn.store.load_entities()}
        assert not entities & only_there  # entities with no remaining support are gone
        support = _support(idx / "banyan.sqlite")
        assert all(support.get(e) for e in entities)  # every entity is still mentioned somewhere
        for c in bn.store.communities(with_members=True):
            assert set(c.members) <= entities
            assert not {e.chunk_id for e in c.report.evidence} & removed_chunks
        after_remove = _snapshot(bn, tmp_path, "removed")
        assert not any(cid in after_remove["graphml"] or cid in after_remove["relations_csv"]
                       for cid in removed_chunks)
        assert after_remove["stats"] != before["stats"]
        assert bn.pending().incomplete() == []

    with Banyan(idx) as bn:
        report = bn.index([corpus])
        assert report.files_indexed == 1 and any("communities recomputed" in n for n in report.notes)
        assert _snapshot(bn, tmp_path, "readded") == before


def test_changing_a_file_updates_the_graph_in_the_same_run(tmp_path: Path, corpus: Path) -> None:
    idx = tmp_path / "idx"
    page = corpus / "lumen_bridge.md"
    with Banyan(idx, HASH) as bn:
        bn.index([corpus])
        bn.build_communities()
        assert bn.store.find_entity("zephyrine okonkwo") is None
        page.write_text(page.read_text(encoding="utf-8").replace("Ada Whitcombe", "Zephyrine Okonkwo"),
                        encoding="utf-8")
        bn.index([corpus])
        assert bn.store.find_entity("zephyrine okonkwo") is not None
        assert bn.pending().incomplete() == []
        members = {m for c in bn.store.communities(with_members=True) for m in c.members}
        assert members <= {e.id for e in bn.store.load_entities()}


def test_exports_have_no_duplicates_and_match_graph_stats(tmp_path: Path, corpus: Path) -> None:
    import csv
    import xml.etree.ElementTree as ET

    (corpus / "echo.md").write_text(  # the same relation stated in several chunks and files
        "# Echo\n\n" + "\n\n".join(["The Lumen Bridge was designed by Ada Whitcombe."] * 3), encoding="utf-8")
    with Banyan(tmp_path / "idx", HASH) as bn:
        bn.index([corpus])
        stats = bn.graph_stats()
        assert stats["triples"] > stats["relations"] > 0  # repeated triples merge into one relation
        assert bn.export_graph(tmp_path / "g.graphml").relations == stats["relations"]
        rep = bn.export_graph(tmp_path / "neo", "neo4j-csv")
    assert (rep.entities, rep.relations) == (stats["entities"], stats["relations"])
    ns = "{http://graphml.graphdrawing.org/xmlns}"
    root = ET.parse(tmp_path / "g.graphml").getroot()
    nodes = [n.get("id") for n in root.iter(f"{ns}node")]
    edges = [(e.get("source"), e.get("target"), e.find(f"{ns}data[@key='rel']").text) for e in root.iter(f"{ns}edge")]
    assert len(nodes) == len(set(nodes)) == stats["entities"]
    assert len(edges) == len(set(edges)) == stats["relations"]
    with (tmp_path / "neo" / "relations.csv").open(encoding="utf-8") as fh:
        rows = [tuple(r[:3]) for r in csv.reader(fh)][1:]
    assert len(rows) == len(set(rows)) == stats["relations"]
    assert sum(stats["relation_types"].values()) == stats["relations"]
