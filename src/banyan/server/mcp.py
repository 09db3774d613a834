"""The MCP server: search, cited answers and the knowledge graph as tools for MCP clients.

Claude Desktop, IDE agents and any other Model Context Protocol client can use one Banyan index
through six tools (``search``, ``ask``, ``entity``, ``neighbours``, ``communities``,
``index_status``), each a thin call into ``banyan.Banyan`` that returns the records' ``to_dict()``.
Every call carries the caller's ``Access``: over stdio the one given at start (``--as``, default
everything); over streamable HTTP the API key's (``server.keys``), checked on every request by
``KeyGate`` before the SDK sees it. A Banyan error becomes an MCP tool error with its message.
Built on the official MCP Python SDK (``mcp`` 2.x, ``MCPServer``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Protocol

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from banyan import __version__
from banyan.errors import BanyanError
from banyan.server.answers import passages
from banyan.server.auth import AuthError, authenticate, is_loopback, presented_secret
from banyan.types import Access

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from banyan.api import Banyan
    from banyan.server.keys import KeyRing

ACCESS_SCOPE_KEY = "banyan.access"
"""Where ``KeyGate`` leaves the caller's ``Access`` in the ASGI scope of an HTTP request."""
MCP_PATH = "/mcp"
INSTRUCTIONS = (
    "Banyan answers from an indexed document collection (English and Chinese) with cited passages. "
    "Use `search` for ranked passages, `ask` for a short cited answer, `entity` and `neighbours` to "
    "explore the knowledge graph by name, `communities` for topic summaries, `index_status` for what "
    "the index holds. Every passage names its document (title, source) and character offsets."
)
READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)


# -- who is calling -----------------------------------------------------------------------------
class AccessSource(Protocol):
    """What a tool call may read, from its MCP request context."""

    def __call__(self, ctx: Context) -> Access: ...


@dataclass(frozen=True, slots=True)
class FixedAccess:
    """One identity for every call (stdio: the local user, ``--as`` principals or everything)."""

    access: Access

    def __call__(self, ctx: Context) -> Access:
        return self.access


@dataclass(frozen=True, slots=True)
class GateAccess:
    """The identity ``KeyGate`` checked on this HTTP request; a request it did not see is refused."""

    def __call__(self, ctx: Context) -> Access:
        scope = getattr(ctx.request_context.request, "scope", None)
        access = scope.get(ACCESS_SCOPE_KEY) if isinstance(scope, dict) else None
        if not isinstance(access, Access):
            raise ToolError("this request carries no caller identity (it did not pass the API-key check)")
        return access



# -- the tools, as plain functions of (Banyan, Access, arguments) --------------------------------
def search_tool(bn: Banyan, access: Access, query: str, mode: str, k: int) -> dict[str, Any]:
    results = bn.search(query, mode, _bounded(k, 1, 50, "k"), access=access)
    return {"query": query, "mode": bn.resolve_mode(query, mode, access=access),
            "results": [r.to_dict() for r in results]}


def ask_tool(bn: Banyan, access: Access, question: str, mode: str) -> dict[str, Any]:
    if not question.strip():
        raise ValueError("empty question")
    answer = bn.ask(question, mode, access=access)
    return {"question": question, "answer": answer.text, "mode": answer.mode, "extractive": answer.extractive,
            "insufficient": answer.insufficient, "passages": passages(answer), "model": answer.model,
            "error": answer.error, "notes": list(answer.notes)}


def entity_tool(bn: Banyan, access: Access, name: str) -> dict[str, Any]:
    return bn.entity(name, access=access).to_dict()


def neighbours_tool(bn: Banyan, access: Access, name: str, depth: int, limit: int) -> dict[str, Any]:
    graph = bn.neighbourhood(name, _bounded(depth, 0, 3, "depth"), _bounded(limit, 1, 500, "limit"),
                             access=access).to_dict()
    names = {n["id"]: n["name"] for n in graph["nodes"]}
    for edge in graph["edges"]:  # readable for a model: names beside the node ids
        edge["source_name"], edge["target_name"] = names.get(edge["source"]), names.get(edge["target"])
    return {"entity": name, "depth": depth, **graph}


def communities_tool(bn: Banyan, access: Access, level: int | None, limit: int) -> dict[str, Any]:
    found = bn.communities(level, _bounded(limit, 1, 200, "limit"), access=access)
    return {"communities": [c.to_dict() for c in found]}


def status_tool(bn: Banyan, access: Access) -> dict[str, Any]:
    """What the caller can search: its documents and chunks; the whole index's state for everything."""
    docs = bn.documents(access=access)
    out: dict[str, Any] = {
        "index": str(bn.index_dir.resolve()) if access.all_documents else bn.index_dir.name,
        "documents": len(docs), "chunks": sum(d.chunks for d in docs),
        "embedder": bn.settings.embedding.backend, "default_mode": bn.settings.retrieval.default_mode,
        "graph": bn.settings.graph.enabled, "llm": bn.settings.llm.model or None,
        "principals": ["*"] if access.all_documents else sorted(access.principals),
    }
    if access.all_documents:
        stats, pending = bn.stats(), bn.pending()
        out.update(files=stats.files, languages=stats.languages, embeddings=stats.embeddings,
                   graph_stats=bn.graph_stats(), writer=pending.writer,
                   incomplete=pending.incomplete(bn.settings.graph.enabled))
    return out


def _bounded(value: int, low: int, high: int, what: str) -> int:
    if not low <= value <= high:
        raise ValueError(f"{what} must be between {low} and {high}, got {value}")
    return value


def _guarded(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one tool call; Banyan's own errors (not found, bad mode, empty query) become tool errors."""
    try:
        return call()
    except (BanyanError, ValueError) as exc:
        raise ToolError(str(exc)) from exc


# -- the MCP server -------------------------------------------------------------------------------
Text = Annotated[str, Field(description="natural-language text (English or Chinese)")]
SearchMode = Annotated[str, Field(description="auto (default), graph, hybrid+graph, hybrid+facts, hybrid+ppr, hybrid, "
                                              "bm25 or dense")]
AnswerMode = Annotated[str, Field(description="auto (default), naive, mix, local, global, full or agent")]
EntityName = Annotated[str, Field(description="an entity's name or one of its aliases, e.g. a person or place")]


def build_server(bn: Banyan, access_of: AccessSource) -> MCPServer:
    """An MCP server whose tools read ``bn`` as ``access_of(ctx)`` allows. Tools run in worker
    threads (the SDK runs sync tools with ``anyio.to_thread``), so HTTP clients are served concurrently."""
    server: MCPServer = MCPServer("banyan", title="Banyan GraphRAG", instructions=INSTRUCTIONS,
                                  version=__version__, log_level="WARNING")

    @server.tool(annotations=READ_ONLY)
    def search(ctx: Context, query: Text, mode: SearchMode = "auto",
               k: Annotated[int, Field(description="number of passages (1-50)")] = 5) -> dict[str, Any]:
        """Ranked passages for a query, each with its score, the retrieval routes that found it and a
        citation (document id, title, source path, chunk, character offsets)."""
        return _guarded(lambda: search_tool(bn, access_of(ctx), query, mode, k))

    @server.tool(annotations=READ_ONLY)
    def ask(ctx: Context, question: Text, mode: AnswerMode = "auto") -> dict[str, Any]:
        """A short answer whose [n] markers cite the passages listed with it. Without a configured
        LLM the answer is extractive: the best evidence sentences, cited."""
        return _guarded(lambda: ask_tool(bn, access_of(ctx), question, mode))

    @server.tool(annotations=READ_ONLY)
    def entity(ctx: Context, name: EntityName) -> dict[str, Any]:
        """An entity of the knowledge graph: type, aliases, relations, attributes and the chunks that say so."""
        return _guarded(lambda: entity_tool(bn, access_of(ctx), name))

    @server.tool(annotations=READ_ONLY)
    def neighbours(ctx: Context, name: EntityName,
                   depth: Annotated[int, Field(description="relation hops to follow (0-3)")] = 1,
                   limit: Annotated[int, Field(description="most entities to return (1-500)")] = 50,
                   ) -> dict[str, Any]:
        """The entity and the entities its relations reach within ``depth`` hops: nodes (name, type,
        community) and edges (relation phrase, weight)."""
        return _guarded(lambda: neighbours_tool(bn, access_of(ctx), name, depth, limit))

    @server.tool(annotations=READ_ONLY)
    def communities(ctx: Context,
                    level: Annotated[int | None, Field(description="0 = finest; omit for every level")] = None,
                    limit: Annotated[int, Field(description="most communities to return (1-200)")] = 20,
                    ) -> dict[str, Any]:
        """Topic communities of the graph, largest first: title, keywords, members and a cited report
        (a tool error until `banyan communities build` has run)."""
        return _guarded(lambda: communities_tool(bn, access_of(ctx), level, limit))

    @server.tool(annotations=READ_ONLY)
    def index_status(ctx: Context) -> dict[str, Any]:
        """What the index holds for this caller: documents, chunks, embedder, default mode, and (for a
        caller who sees everything) files, languages, graph sizes and unfinished indexing work."""
        return _guarded(lambda: status_tool(bn, access_of(ctx)))

    return server


# -- streamable HTTP: API keys checked before the SDK sees a request --------------------------------
class KeyGate:
    """ASGI middleware: a request with no valid API key (when the index has keys) gets 401 and never
    reaches the MCP session; an accepted one carries its ``Access`` in the scope for ``GateAccess``.
    With no active key, every caller is ``default`` (the ``--as`` principals, else everything)."""

    def __init__(self, app: ASGIApp, ring: KeyRing | None, default: Access, *, require_keys: bool) -> None:
        self.app, self.ring, self.default, self.require_keys = app, ring, default, require_keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        try:
            caller = authenticate(self.ring, presented_secret(headers), require_keys=self.require_keys)
        except AuthError as exc:
            await _json_response(send, 401, {"error": {"type": "AuthError", "message": str(exc)}},
                                 [(b"www-authenticate", b"Bearer")])
            return
        await self.app({**scope, ACCESS_SCOPE_KEY: caller.access if caller.key else self.default}, receive, send)


async def _json_response(send: Send, status: int, body: dict[str, Any], extra: list[tuple[bytes, bytes]]) -> None:
    payload = json.dumps(body).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                            *extra]})
    await send({"type": "http.response.body", "body": payload})


def http_app(bn: Banyan, ring: KeyRing | None, default: Access, *, host: str) -> ASGIApp:
    """The streamable-HTTP MCP endpoint at ``/mcp`` behind ``KeyGate``. Binding beyond loopback needs
    an active API key (ConfigError otherwise), as for ``banyan serve``."""
    from banyan.errors import ConfigError

    loopback = is_loopback(host)
    if not loopback and (ring is None or not ring.has_active()):
        raise ConfigError(f"refusing to serve MCP on {host} without API keys: anyone who can reach it could read "
                          "the index. Create a key with `banyan keys add NAME`, or bind to 127.0.0.1")
    server = build_server(bn, GateAccess())
    return KeyGate(server.streamable_http_app(streamable_http_path=MCP_PATH, host=host), ring, default,
                   require_keys=not loopback)
