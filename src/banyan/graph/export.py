"""Export the knowledge graph: GraphML (Gephi, yEd, networkx) or CSV for neo4j-admin import."""

from __future__ import annotations

import csv
from pathlib import Path
from xml.sax.saxutils import quoteattr

from banyan.store import GraphStore


def _edges(store: GraphStore) -> list[tuple[str, str, str, str, str]]:
    """(head id, tail id, type, phrase, chunk id) with triples mapped to resolved entities."""
    by_norm = store.alias_index()
    out = []
    for t in store.load_triples():
        a, b = by_norm.get(t.head), by_norm.get(t.tail)
        if a and b and a != b:
            out.append((a, b, t.type, t.phrase, t.chunk_id))
    return out


def export_graphml(store: GraphStore, path: Path) -> tuple[int, int]:
    ents = store.load_entities()
    edges = _edges(store)
    with path.open("w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n'
                 '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n'
                 '<key id="name" for="node" attr.name="name" attr.type="string"/>\n'
                 '<key id="type" for="node" attr.name="type" attr.type="string"/>\n'
                 '<key id="chunks" for="node" attr.name="n_chunks" attr.type="int"/>\n'
                 '<key id="rel" for="edge" attr.name="type" attr.type="string"/>\n'
                 '<key id="phrase" for="edge" attr.name="phrase" attr.type="string"/>\n'
                 '<key id="chunk" for="edge" attr.name="chunk_id" attr.type="string"/>\n'
                 '<graph id="banyan" edgedefault="directed">\n')
        for e in ents:
            fh.write(f'<node id={quoteattr(e.id)}><data key="name">{_esc(e.name)}</data>'
                     f'<data key="type">{_esc(e.type)}</data><data key="chunks">{e.n_chunks}</data></node>\n')
        for i, (a, b, kind, phrase, chunk) in enumerate(edges):
            fh.write(f'<edge id="e{i}" source={quoteattr(a)} target={quoteattr(b)}><data key="rel">{_esc(kind)}</data>'
                     f'<data key="phrase">{_esc(phrase)}</data><data key="chunk">{_esc(chunk)}</data></edge>\n')
        fh.write("</graph>\n</graphml>\n")
    return len(ents), len(edges)


def _esc(s: str) -> str:
    return quoteattr(s)[1:-1]


def export_neo4j_csv(store: GraphStore, directory: Path) -> tuple[int, int]:
    """``entities.csv`` and ``relations.csv`` with neo4j-admin import headers."""
    directory.mkdir(parents=True, exist_ok=True)
    ents = store.load_entities()
    edges = _edges(store)
    with (directory / "entities.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id:ID", "name", "n_chunks:int", ":LABEL"])
        for e in ents:
            w.writerow([e.id, e.name, e.n_chunks, f"Entity;{e.type.capitalize()}"])
    with (directory / "relations.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([":START_ID", ":END_ID", ":TYPE", "phrase", "chunk_id"])
        for a, b, kind, phrase, chunk in edges:
            w.writerow([a, b, kind.upper(), phrase, chunk])
    return len(ents), len(edges)
