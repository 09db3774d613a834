"""The knowledge graph as the caller may see it: entity search, entity pages, neighbourhoods,
the overview, communities and their reports."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from banyan.server.state import CallerDep, State

router = APIRouter(prefix="/api/v1/graph", tags=["graph"])


@router.get("/entities")
def find_entities(state: State, caller: CallerDep, q: Annotated[str, Query(max_length=200)] = "",
                  limit: Annotated[int, Query(ge=1, le=500)] = 20) -> dict[str, Any]:
    """Entities whose name or an alias matches ``q``: exact, then prefix, then substring."""
    return {"entities": [n.to_dict() for n in state.bn.find_entities(q, limit, access=caller.access)]}


@router.get("/entities/{name:path}")
def entity(state: State, caller: CallerDep, name: str) -> dict[str, Any]:
    """An entity's type, aliases, relations, attributes and source chunks."""
    return state.bn.entity(name, access=caller.access).to_dict()


@router.get("/neighbors")
def neighbors(state: State, caller: CallerDep, name: Annotated[str, Query(min_length=1, max_length=200)],
              depth: Annotated[int, Query(ge=1, le=4)] = 1,
              limit: Annotated[int, Query(ge=1, le=20_000)] = 200) -> dict[str, Any]:
    """The entity and what its relations reach within ``depth`` hops (at most ``limit`` nodes)."""
    return state.bn.neighbourhood(name, depth, limit, access=caller.access).to_dict()


@router.get("/overview")
def overview(state: State, caller: CallerDep,
             limit: Annotated[int, Query(ge=1, le=50_000)] = 2000) -> dict[str, Any]:
    """The best-connected ``limit`` entities and the relations among them."""
    return state.bn.graph_overview(limit, access=caller.access).to_dict()


@router.get("/communities")
def communities(state: State, caller: CallerDep, level: Annotated[int | None, Query(ge=0)] = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> dict[str, Any]:
    return {"communities": [c.to_dict() for c in state.bn.communities(level, limit, access=caller.access)]}


@router.get("/communities/{community_id}")
def community(state: State, caller: CallerDep, community_id: str) -> dict[str, Any]:
    """One community (id or id prefix) with its report and main members."""
    return state.bn.community(community_id, access=caller.access).to_dict()
