"""What kind of corpus the graph was built from: a signal for choosing retrieval routes.

Graph mode's strongest routes (an entity's own chunks, two hops through documents) assume documents
that are each about one named entity, like encyclopedia pages: the document's title names the
entity its text talks about. On notes, reports and long manuals titles are dates, topics or
section names, and those routes misfire. ``entity_titled_share`` measures it once per resolution:
the share of documents whose title resolves to an entity that the document's own text mentions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from banyan.types import Mention

ENTITY_TITLED_META = "entity_titled_share"
"""store meta key: the share, written when entities are resolved"""


def entity_titled_share(mentions: Iterable[Mention], chunk_docs: Mapping[str, str], aliases: Mapping[str, str],
                        n_documents: int) -> float:
    """Share of the ``n_documents`` whose title alias (a span-less topic mention) resolves to an entity
    that a spanned mention in the same document also names. ``chunk_docs``: chunk id -> document id;
    ``aliases``: normalized name -> entity id."""
    if n_documents <= 0:
        return 0.0
    titled: dict[str, str] = {}
    named: dict[str, set[str]] = defaultdict(set)
    for m in mentions:
        doc, entity = chunk_docs.get(m.chunk_id), aliases.get(m.norm)
        if doc is None or entity is None:
            continue
        if m.topic and m.start < 0:
            titled[doc] = entity
        elif m.start >= 0:
            named[doc].add(entity)
    return sum(1 for doc, entity in titled.items() if entity in named[doc]) / n_documents
