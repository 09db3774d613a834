"""Documents and graph exploration for the server and the web UI: listing and reading documents
(full text with chunk spans and pages), entity search, neighbourhoods and the overview, by names,
with communities, and fast on a graph of tens of thousands of entities."""

from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.sparse as sp

from banyan import Banyan
from banyan.app import explore
from banyan.cli import sample_corpus_dir
from banyan.errors import DocumentNotFoundError, EntityNotFoundError
from banyan.graph.kg import KnowledgeGraph
from banyan.graph.ppr import prepare_walk
from banyan.text import normalize_name
from banyan.types import Access
from conftest import HASH


@pytest.fixture(scope="module")
def bn(tmp_path_factory) -> Banyan:
    b = Banyan(tmp_path_factory.mktemp("explore") / "idx", HASH)
    b.index([sample_corpus_dir()])
    b.build_communities()
    yield b
    b.close()


# -- documents -----------------------------------------------------------------------------------
def test_documents_are_listed_with_their_allow_lists(bn):
    docs = bn.documents()
    assert len(docs) == bn.stats().documents
    assert [(d.source, d.title) for d in docs] == sorted((d.source, d.title) for d in docs)
    for d in docs:
        assert d.chunks > 0 and d.allow == ("public",) and d.indexed_at > 0
        assert set(d.to_dict()) == {"id", "source", "title", "chunks", "allow", "indexed_at"}
    assert bn.documents(access=Access.of("anyone")) == docs


def test_a_document_reads_whole_with_exact_chunk_spans(bn):
    for info in bn.documents():
        doc = bn.document(info.id)
        assert doc.info == info and len(doc.chunks) == info.chunks
        assert [c.ordinal for c in doc.chunks] == list(range(info.chunks))
        passages = bn.store.citations([c.chunk_id for c in doc.chunks])
        for span in doc.chunks:
            assert doc.text[span.start:span.end] == passages[span.chunk_id].text
            assert span.page is None  # markdown and text have no pages
        body = doc.to_dict()
        assert body["text"] == doc.text and body["spans"][0]["chunk_id"] == doc.chunks[0].chunk_id
    with pytest.raises(DocumentNotFoundError):
        bn.document("no-such-document")


def test_pdf_spans_carry_pages(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    for text in ("The Lumen Bridge opened in 1931 after six years of work.",
                 "Ada Whitcombe designed its steel arch and supervised the riveting."):
        pdf.add_page()
        pdf.set_font("Helvetica", size=12)
        pdf.multi_cell(0, 10, " ".join([text] * 40))
    path = tmp_path / "src" / "bridge.pdf"
    path.parent.mkdir()
    pdf.output(str(path))
    with Banyan(tmp_path / "idx", {**HASH, "graph": {"enabled": False}}) as b:
        b.index([path])
        doc = b.document(b.documents()[0].id)
    pages = [c.page for c in doc.chunks]
    assert pages[0] == 1 and pages[-1] == 2 and pages == sorted(pages)


def test_removing_a_document_as_admin(tmp_path):
    (tmp_path / "docs").mkdir()
    for name in ("a", "b"):
        (tmp_path / "docs" / f"{name}.md").write_text(f"# Note {name}\n\nText of note {name}.\n", encoding="utf-8")
    with Banyan(tmp_path / "idx", {**HASH, "graph": {"enabled": False}}) as b:
        b.index([tmp_path / "docs"])
        first = b.documents()[0]
        assert b.remove_document(first.id) == 1
        assert [d.title for d in b.documents()] == ["Note b"]
        assert (tmp_path / "docs" / "a.md").exists()  # forgotten by the index, never deleted from disk
        with pytest.raises(DocumentNotFoundError):
            b.remove_document(first.id)


# -- the graph, by names -------------------------------------------------------------------------
def test_find_entities_exact_then_prefix_then_substring(bn):
    found = bn.find_entities("Lumen Bridge")
    assert found[0].name == "Lumen Bridge" and found[0].id != found[0].name
    assert bn.find_entities("lumen bridge")[0].id == found[0].id  # names, case and punctuation aside
    prefix = bn.find_entities("Harrow")
    assert prefix and all(normalize_name(n.name).startswith("harrow") or "harrow" in normalize_name(n.name)
                          for n in prefix)
    assert len(bn.find_entities("a", limit=3)) == 3
    assert bn.find_entities("   ") == [] and bn.find_entities("zzzz-nothing") == []


def test_nodes_carry_their_finest_community(bn):
    level0 = {c.id for c in bn.communities(level=0, limit=10_000)}
    nodes = bn.graph_overview(500).nodes
    assert level0 and any(n.community for n in nodes)
    assert all(n.community is None or n.community in level0 for n in nodes)


def test_neighbourhood_grows_with_depth_and_respects_the_limit(bn):
    with pytest.raises(EntityNotFoundError):
        bn.neighbourhood("Nobody Anywhere")
    alone = bn.neighbourhood("Lumen Bridge", depth=0)
    assert [n.name for n in alone.nodes] == ["Lumen Bridge"] and not alone.edges
    one, two = bn.neighbourhood("Lumen Bridge", depth=1), bn.neighbourhood("Lumen Bridge", depth=2)
    assert one.nodes[0].name == "Lumen Bridge" and len(one.nodes) > 1
    assert {n.id for n in one.nodes} <= {n.id for n in two.nodes}
    for sub in (one, two):
        ids = [n.id for n in sub.nodes]
        assert len(ids) == len(set(ids))
        assert all(e.source in ids and e.target in ids and e.source != e.target for e in sub.edges)
        assert len({(e.source, e.target) for e in sub.edges}) == len(sub.edges)
    cut = bn.neighbourhood("Lumen Bridge", depth=2, limit=3)
    assert len(cut.nodes) == 3 and cut.truncated and not two.truncated


def test_overview_is_the_best_connected_entities(bn):
    everything = bn.graph_overview(100_000)
    assert not everything.truncated and len(everything.nodes) == bn.graph_stats()["entities"]
    top = bn.graph_overview(10)
    assert len(top.nodes) == 10 and top.truncated
    degree = {n.id: 0 for n in everything.nodes}
    for e in everything.edges:
        degree[e.source] += 1
        degree[e.target] += 1
    chosen = [degree[n.id] for n in top.nodes]
    assert min(chosen) >= sorted(degree.values(), reverse=True)[9]
    ids = {n.id for n in top.nodes}
    assert all(e.source in ids and e.target in ids for e in top.edges)
    body = top.to_dict()
    assert set(body) == {"nodes", "edges", "truncated"} and set(body["nodes"][0]) == {
        "id", "name", "type", "community", "chunks"}


# -- scale -----------------------------------------------------------------------------------------
def synthetic_graph(n: int, edges: int, seed: int = 3) -> KnowledgeGraph:
    """A graph of ``n`` entities with random relations (no chunks): enough for the explorer's reads."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, n, edges), rng.integers(0, n, edges)
    keep = a != b
    upper = sp.coo_matrix((np.ones(int(keep.sum())), (a[keep], b[keep])), shape=(n, n))
    adjacency = (upper + upper.T).tocsr()
    names = [f"Entity {i} of {['Ashford', 'Brill', 'Caddon', 'Dunmore'][i % 4]}" for i in range(n)]
    neighbors = [adjacency.indices[adjacency.indptr[i]:adjacency.indptr[i + 1]] for i in range(n)]
    return KnowledgeGraph([f"e{i}" for i in range(n)], names, ["other"] * n, rng.integers(1, 9, n),
                          {normalize_name(x): i for i, x in enumerate(names)}, [], adjacency, prepare_walk(adjacency),
                          np.zeros((n, 4), np.float32), {}, neighbors, {},
                          {"located_in": sp.triu(adjacency).tocsr()})


def test_exploration_is_fast_on_twenty_thousand_entities():
    kg = synthetic_graph(20_000, 60_000)
    community = {f"e{i}": f"c{i % 50}" for i in range(20_000)}
    t0 = time.perf_counter()
    found = explore.find_entities(kg, "entity 12", 20, community)
    exact = explore.find_entities(kg, "Entity 12 of Ashford", 20, community)
    hood = explore.neighbourhood(kg, "Entity 12 of Ashford", 4, 500, community)
    overview = explore.overview(kg, 2000, community)
    seconds = time.perf_counter() - t0
    assert len(found) == 20 and all(n.name.startswith("Entity 12") for n in found)
    assert exact[0].name == "Entity 12 of Ashford"
    assert len(hood.nodes) == 500 and hood.truncated and hood.nodes[0].community == "c12"
    assert len(overview.nodes) == 2000 and overview.truncated and overview.edges
    assert {e.relation for e in overview.edges} <= {"located_in", "related"}
    assert seconds < 5.0, f"exploring 20,000 entities took {seconds:.1f}s"


def test_restricted_exploration_of_an_all_public_index_is_the_unrestricted_one(bn):
    anyone = Access.of("anyone")
    assert bn.graph_overview(50, access=anyone) == bn.graph_overview(50)
    assert bn.neighbourhood("Lumen Bridge", 2, access=anyone) == bn.neighbourhood("Lumen Bridge", 2)
    assert bn.find_entities("harrow", access=anyone) == bn.find_entities("harrow")

