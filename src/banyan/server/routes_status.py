"""Health, status (what the index holds and what is pending), schema and LLM usage."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from banyan.answer import ANSWER_MODES
from banyan.app.llm_ops import llm_usage
from banyan.server.auth import Caller
from banyan.server.state import CallerDep, ServerState, State

health_router = APIRouter(tags=["status"])
router = APIRouter(prefix="/api/v1", tags=["status"])


@health_router.get("/health")
def health() -> dict[str, str]:
    """Liveness; needs no key."""
    return {"status": "ok"}


def index_counts(state: ServerState, caller: Caller) -> dict[str, Any]:
    """Counts over the whole index for an unrestricted caller, over its visible documents otherwise."""
    bn = state.bn
    if caller.admin:
        s = bn.stats()
        return {"files": s.files, "documents": s.documents, "chunks": s.chunks, "languages": s.languages,
                "embeddings": s.embeddings}
    docs = bn.documents(access=caller.access)
    return {"documents": len(docs), "chunks": sum(d.chunks for d in docs)}


@router.get("/status")
def status(state: State, caller: CallerDep) -> dict[str, Any]:
    """What the index holds (as far as the caller may see), unfinished work, jobs, auth and modes."""
    bn = state.bn
    pending = bn.pending()
    ring = state.keys
    return {
        "index": index_counts(state, caller),
        "embedder": bn.settings.embedding.backend,
        "graph": bn.settings.graph.enabled,
        "llm": {"configured": bool(bn.settings.llm.model), "model": bn.settings.llm.model or None},
        # who is writing names the command and its paths: admins only (a path may be a restricted file's)
        "pending": {"incomplete": pending.incomplete(bn.settings.graph.enabled),
                    "writer": pending.writer if caller.admin else (pending.writer is not None or None),
                    "jobs": state.jobs.pending()},
        "auth": {"enabled": bool(ring is not None and ring.has_active()) or state.config.require_keys,
                 "caller": caller.to_dict()},
        "modes": {"search": ["auto", *bn.settings.retrieval.modes], "answer": list(ANSWER_MODES),
                  "default_search": bn.settings.retrieval.default_mode},
        "max_upload_bytes": state.config.max_upload_bytes,
        "extensions": sorted(bn.settings.ingest.extensions),
    }


@router.get("/schema")
def schema(state: State, caller: CallerDep) -> dict[str, Any]:
    """The effective graph schema: entity, relation and attribute types with their descriptions."""
    s = state.bn.schema()
    return {"entity_types": [{"name": t.name, "description": t.description} for t in s.entity_types],
            "relation_types": [{"name": t.name, "description": t.description, "head": list(t.head),
                                "tail": list(t.tail)} for t in s.relation_types],
            "attribute_types": [{"name": t.name, "description": t.description} for t in s.attribute_types]}


@router.get("/usage")
def usage(state: State, caller: CallerDep) -> dict[str, Any]:
    """LLM calls, tokens and cost per stage, from the index's ledger."""
    rep = llm_usage(state.bn.settings)
    return {"found": rep.found, "stages": [asdict(r) for r in rep.stages], "events": rep.events}
