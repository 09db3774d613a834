"""Export the knowledge graph: GraphML (Gephi, yEd, networkx) or CSV for neo4j-admin import.

Both write exactly what ``graph stats`` counts: every resolved entity once, and one relation per
(head entity, tail entity, type) with the phrases and chunks of every triple behind it, in a
stable order (the same graph always exports to the same bytes).
"""

from __future__ import annotations

import csv
from pathlib import Path
from xml.sax.saxutils import quoteattr

from banyan.store import GraphStore

ARRAY_SEP = ";"
"""neo4j-admin's default array delimiter, also used for the GraphML list attributes"""


def export_graphml(store: GraphStore, path: Path) -> tuple[int, int]:
    ents = store.load_entities()
    edges = store.relation_edges()
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n'
                 '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n'
                 '<key id="name" for="node" attr.name="name" attr.type="string"/>\n'
                 '<key id="type" for="node" attr.name="type" attr.type="string"/>\n'
                 '<key id="chunks" for="node" attr.name="n_chunks" attr.type="int"/>\n'
                 '<key id="rel" for="edge" attr.name="type" attr.type="string"/>\n'
                 '<key id="phrase" for="edge" attr.name="phrases" attr.type="string"/>\n'
                 '<key id="chunk" for="edge" attr.name="chunk_ids" attr.type="string"/>\n'
                 '<key id="weight" for="edge" attr.name="weight" attr.type="int"/>\n'
                 '<graph id="banyan" edgedefault="directed">\n')
        for e in ents:
            fh.write(f'<node id={quoteattr(e.id)}><data key="name">{_esc(e.name)}</data>'
                     f'<data key="type">{_esc(e.type)}</data><data key="chunks">{e.n_chunks}</data></node>\n')
        for i, r in enumerate(edges):
            fh.write(f'<edge id="e{i}" source={quoteattr(r.head)} target={quoteattr(r.tail)}>'
                     f'<data key="rel">{_esc(r.type)}</data>'
                     f'<data key="phrase">{_esc(ARRAY_SEP.join(p.replace(ARRAY_SEP, ",") for p in r.phrases))}</data>'
                     f'<data key="chunk">{_esc(ARRAY_SEP.join(r.chunk_ids))}</data>'
                     f'<data key="weight">{r.count}</data></edge>\n')
        fh.write("</graph>\n</graphml>\n")
    tmp.replace(path)
    return len(ents), len(edges)


def _esc(s: str) -> str:
    return quoteattr(s)[1:-1]


def export_neo4j_csv(store: GraphStore, directory: Path) -> tuple[int, int]:
    """``entities.csv`` and ``relations.csv`` with neo4j-admin import headers."""
    directory.mkdir(parents=True, exist_ok=True)
    ents = store.load_entities()
    edges = store.relation_edges()
    with (directory / "entities.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id:ID", "name", "n_chunks:int", ":LABEL"])
        for e in ents:
            w.writerow([e.id, e.name, e.n_chunks, f"Entity;{e.type.capitalize()}"])
    with (directory / "relations.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([":START_ID", ":END_ID", ":TYPE", "phrases:string[]", "chunk_ids:string[]", "weight:int"])
        for r in edges:
            w.writerow([r.head, r.tail, r.type.upper(), ARRAY_SEP.join(p.replace(ARRAY_SEP, ",") for p in r.phrases),
                        ARRAY_SEP.join(r.chunk_ids), r.count])
    return len(ents), len(edges)
