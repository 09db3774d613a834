"""Adaptive schema expansion: which proposed types to show, and the schema with accepted types added.

The LLM proposes types (or uses types the schema lacks); the store counts each proposal over the
chunks that support it. Accepted types are kept in the index, never written into the user's
schema file: ``extend_schema`` adds them to the loaded schema, so they apply from the next run
(the extraction key changes, and ``banyan index`` says what it re-extracts).
"""

from __future__ import annotations

from collections.abc import Sequence

from banyan.errors import ConfigError
from banyan.extract.schema import EntityType, RelationType, Schema
from banyan.types import TypeProposal

KINDS = ("entity", "relation")


def listed(proposals: Sequence[TypeProposal], min_chunks: int, *, include_all: bool = False) -> list[TypeProposal]:
    """Pending proposals supported by at least ``min_chunks`` chunks (everything with ``include_all``)."""
    if include_all:
        return list(proposals)
    return [p for p in proposals if p.status == "pending" and p.n_chunks >= min_chunks]


def due_for_auto_accept(proposals: Sequence[TypeProposal], min_chunks: int) -> list[TypeProposal]:
    """Pending proposals that ``graph.auto_accept_min_chunks`` accepts (none when it is 0)."""
    return [p for p in proposals if min_chunks and p.status == "pending" and p.n_chunks >= min_chunks]


def describe(p: TypeProposal) -> str:
    """A description for an accepted type that came with none: its name and examples from the corpus."""
    if p.description:
        return p.description
    words = p.name.replace("_", " ")
    return f"{words}, e.g. {'; '.join(p.examples)}" if p.examples else words


def find(proposals: Sequence[TypeProposal], name: str, kind: str | None = None) -> TypeProposal:
    """The proposal called ``name`` (of ``kind`` when given); ConfigError naming the candidates otherwise."""
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"unknown kind {kind!r}: use entity or relation")
    found = [p for p in proposals if p.name == name and (kind is None or p.kind == kind)]
    if not found:
        known = ", ".join(sorted({f"{p.kind}:{p.name}" for p in proposals})[:20]) or "none yet"
        raise ConfigError(f"no proposed type {name!r}{f' of kind {kind}' if kind else ''}; proposals: {known} "
                          "(see `banyan schema proposals --all`)")
    if len(found) > 1:
        raise ConfigError(f"{name!r} is proposed both as an entity and a relation type: add --kind entity|relation")
    return found[0]


def extend_schema(schema: Schema, accepted: Sequence[TypeProposal]) -> Schema:
    """``schema`` plus the accepted types it does not already have (a new Schema; nothing is written)."""
    entities = list(schema.entity_types)
    relations = list(schema.relation_types)
    have = {("entity", t.name) for t in entities} | {("relation", t.name) for t in relations}
    for p in accepted:
        if p.status != "accepted" or (p.kind, p.name) in have:
            continue
        if p.kind == "entity":
            entities.append(EntityType(name=p.name, description=describe(p)))
        elif p.kind == "relation":
            relations.append(RelationType(name=p.name, description=describe(p)))
        have.add((p.kind, p.name))
    if len(entities) == len(schema.entity_types) and len(relations) == len(schema.relation_types):
        return schema
    return schema.model_copy(update={"entity_types": tuple(entities), "relation_types": tuple(relations)})
