"""Schema use cases: the effective schema, proposed types, accepting or rejecting them, failed chunks.

The schema file is never rewritten: accepted types live in the index and are added to the loaded
schema (``effective_schema``); ``export_schema`` writes the result only where the user asks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from banyan.errors import ConfigError
from banyan.extract.llm_proposals import describe, extend_schema, find, listed
from banyan.extract.schema import Schema
from banyan.store import IndexStore
from banyan.types import ExtractionFailure, TypeProposal

DECISIONS = ("accepted", "rejected", "pending")


@dataclass(frozen=True, slots=True)
class FailedChunk:
    """A chunk whose LLM extraction failed, with where it comes from."""

    failure: ExtractionFailure
    title: str
    source: str

    def to_dict(self) -> dict[str, object]:
        f = self.failure
        return {"chunk_id": f.chunk_id, "title": self.title, "source": self.source, "error": f.error,
                "attempts": f.attempts, "extractor": f.extractor}


def effective_schema(base: Schema, store: IndexStore) -> Schema:
    """The schema file's types plus the types accepted in this index."""
    return extend_schema(base, [p for p in store.type_proposals() if p.status == "accepted"])


def proposals(store: IndexStore, min_chunks: int, *, include_all: bool = False) -> list[TypeProposal]:
    """Pending proposals supported by ``min_chunks`` chunks, or every proposal and decision."""
    return listed(store.type_proposals(), min_chunks, include_all=include_all)


def decide(store: IndexStore, name: str, status: str, *, kind: str | None = None,
           description: str | None = None) -> TypeProposal:
    """Accept, reject or reset (``pending``) the proposed type ``name``; returns it as decided."""
    if status not in DECISIONS:
        raise ConfigError(f"unknown decision {status!r}: use one of {', '.join(DECISIONS)}")
    found = find(store.type_proposals(), name, kind)
    desc = description or (describe(found) if status == "accepted" else found.description)
    store.set_type_decision(found.kind, found.name, status, desc if status != "pending" else "")
    return find(store.type_proposals(), found.name, found.kind)


def export_schema(schema: Schema, out: Path) -> Path:
    """Write ``schema`` (e.g. the effective one) as JSON to ``out``, which must not exist yet."""
    if out.exists():
        raise ConfigError(f"{out} exists: choose a new file (the schema file is never overwritten)")
    out.write_text(json.dumps(schema.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return out


def failed_chunks(store: IndexStore, limit: int | None = 50) -> list[FailedChunk]:
    """Chunks whose LLM extraction failed (retried by the next ``banyan index``), most recent first."""
    failures = store.extraction_failures(limit)
    where = store.citations([f.chunk_id for f in failures])
    return [FailedChunk(f, where[f.chunk_id].citation.title if f.chunk_id in where else "",
                        where[f.chunk_id].citation.source if f.chunk_id in where else "") for f in failures]
