"""`banyan mcp`: a real MCP client session over stdio (the CLI as a subprocess) and streamable HTTP
(uvicorn on a free loopback port), API keys and document access over HTTP."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
import uvicorn
from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from banyan import Banyan
from banyan.errors import ConfigError
from banyan.server.keys import KeyRing
from banyan.server.mcp import MCP_PATH, http_app
from banyan.types import Access
from conftest import HASH

TOOLS = {"search", "ask", "entity", "neighbours", "communities", "index_status"}
SECRET_DOC = "# Project Nightjar\n\nProject Nightjar is a sealed merger plan drafted by Orla Quennell for Harrow & Vale.\n"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from banyan.cli import sample_corpus_dir

    root = tmp_path_factory.mktemp("mcp")
    secret = root / "legal" / "nightjar.md"
    secret.parent.mkdir()
    secret.write_text(SECRET_DOC, encoding="utf-8")
    with Banyan(root / "idx", HASH) as bn:
        bn.index([sample_corpus_dir()])
        bn.index([secret], allow=["legal"])
        bn.build_communities()
    return root / "idx"


Session = Callable[[ClientSession], Awaitable[Any]]


def _titles(result: Any) -> list[str]:
    assert not result.is_error, result.content
    return [r["citation"]["title"] for r in result.structured_content["results"]]


def _error_text(result: Any) -> str:
    assert result.is_error
    return " ".join(getattr(c, "text", "") for c in result.content)


# -- stdio: the command an MCP client (Claude Desktop) starts -------------------------------------
def _over_stdio(index_dir: Path, body: Session, *extra: str) -> Any:
    params = StdioServerParameters(command=sys.executable,
                                   args=["-m", "banyan.cli", "mcp", "--index", str(index_dir), *extra])

    async def main() -> Any:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return await body(session)

    return anyio.run(main)


def test_stdio_lists_tools_and_searches(index_dir: Path) -> None:
    async def body(session: ClientSession) -> dict[str, Any]:
        tools = await session.list_tools()
        search = await session.call_tool("search", {"query": "Who designed the Lumen Bridge?", "k": 3})
        missing = await session.call_tool("entity", {"name": "Zebulon Quarrington"})
        bad_mode = await session.call_tool("search", {"query": "bridge", "mode": "telepathy"})
        ask = await session.call_tool("ask", {"question": "Who designed the Lumen Bridge?"})
        status = await session.call_tool("index_status", {})
        entity = await session.call_tool("entity", {"name": "Thomas Harrow"})
        near = await session.call_tool("neighbours", {"name": "Thomas Harrow", "depth": 1})
        groups = await session.call_tool("communities", {"limit": 5})
        return {"tools": {t.name for t in tools.tools}, "search": search, "missing": missing, "bad_mode": bad_mode,
                "ask": ask, "status": status, "entity": entity, "near": near, "communities": groups}

    out = _over_stdio(index_dir, body)
    assert out["tools"] == TOOLS
    assert out["search"].structured_content["results"][0]["citation"]["source"].endswith("lumen_bridge.md")
    assert "Lumen Bridge" in out["search"].structured_content["results"][0]["text"]
    assert "Zebulon Quarrington" in _error_text(out["missing"])
    assert "telepathy" in _error_text(out["bad_mode"])
    ask = out["ask"].structured_content
    assert not out["ask"].is_error and ask["extractive"] and ask["passages"]
    assert all({"n", "doc_id", "chunk_id", "source", "title", "start", "end", "text"} <= p.keys()
               for p in ask["passages"])
    assert f"[{ask['passages'][0]['n']}]" in ask["answer"]
    status = out["status"].structured_content
    assert status["documents"] == 9 and status["principals"] == ["*"]
    assert out["entity"].structured_content["name"] == "Thomas Harrow"
    near = out["near"].structured_content
    assert any(n["name"] == "Thomas Harrow" for n in near["nodes"]) and len(near["nodes"]) > 1
    assert all(e["source_name"] and e["target_name"] for e in near["edges"])
    groups = out["communities"].structured_content["communities"]
    assert groups and all({"id", "title", "keywords", "report", "members"} <= c.keys() for c in groups)


def test_stdio_as_principals_hides_restricted_documents(index_dir: Path) -> None:
    async def body(session: ClientSession) -> dict[str, Any]:
        return {"search": await session.call_tool("search", {"query": "Project Nightjar merger plan", "k": 10}),
                "entity": await session.call_tool("entity", {"name": "Orla Quennell"}),
                "status": await session.call_tool("index_status", {}),
                "ask": await session.call_tool("ask", {"question": "Who drafted Project Nightjar?"})}

    out = _over_stdio(index_dir, body, "--as", "bob")
    assert "Project Nightjar" not in _titles(out["search"])
    assert "Quennell" not in str(out["ask"].structured_content)
    assert out["entity"].is_error
    assert out["status"].structured_content["documents"] == 8


# -- streamable HTTP ----------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _http_server(index_dir: Path) -> Iterator[str]:
    port = _free_port()
    with Banyan(index_dir) as bn:
        server = uvicorn.Server(uvicorn.Config(http_app(bn, KeyRing.at(index_dir), Access.everything(), host="127.0.0.1"),
                                               host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the MCP HTTP server did not start"
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}{MCP_PATH}"
        finally:
            server.should_exit = True
            thread.join(10)


def _over_http(url: str, body: Session, key: str | None = None) -> Any:
    async def main() -> Any:
        headers = {"Authorization": f"Bearer {key}"} if key else None
        async with (httpx2.AsyncClient(headers=headers, timeout=60) as client,
                    streamable_http_client(url, http_client=client) as (read, write),
                    ClientSession(read, write) as session):
            await session.initialize()
            return await body(session)

    return anyio.run(main)


def test_http_lists_tools_and_searches(index_dir: Path) -> None:
    async def body(session: ClientSession) -> dict[str, Any]:
        tools = await session.list_tools()
        search = await session.call_tool("search", {"query": "Who designed the Lumen Bridge?", "k": 3})
        missing = await session.call_tool("entity", {"name": "Zebulon Quarrington"})
        return {"tools": {t.name for t in tools.tools}, "search": search, "missing": missing}

    with _http_server(index_dir) as url:
        out = _over_http(url, body)
    assert out["tools"] == TOOLS
    assert out["search"].structured_content["results"][0]["citation"]["source"].endswith("lumen_bridge.md")
    assert "Zebulon Quarrington" in _error_text(out["missing"])


def test_http_api_keys_decide_what_each_caller_reads(index_dir: Path, tmp_path: Path) -> None:
    import shutil

    idx = tmp_path / "idx"
    shutil.copytree(index_dir, idx)
    ring = KeyRing.at(idx)
    alice = ring.add("alice", groups=["legal"]).secret
    bob = ring.add("bob").secret

    async def body(session: ClientSession) -> dict[str, Any]:
        return {"search": await session.call_tool("search", {"query": "Project Nightjar merger plan", "k": 10}),
                "entity": await session.call_tool("entity", {"name": "Orla Quennell"})}

    with _http_server(idx) as url:
        for headers in ({}, {"Authorization": "Bearer byn_00000000_" + "x" * 43}, {"X-API-Key": "nope"}):
            r = httpx.post(url, headers=headers, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
            assert r.status_code == 401 and r.json()["error"]["type"] == "AuthError"
        with pytest.raises(ExceptionGroup) as refused:  # the SDK client, refused by the key check
            _over_http(url, body)
        assert refused.group_contains(MCPError, depth=None)
        as_bob = _over_http(url, body, bob)
        as_alice = _over_http(url, body, alice)
    assert "Project Nightjar" not in _titles(as_bob["search"]) and as_bob["entity"].is_error
    assert "Project Nightjar" in _titles(as_alice["search"]) and not as_alice["entity"].is_error


def test_http_refuses_a_public_address_without_keys(index_dir: Path) -> None:
    with Banyan(index_dir) as bn, pytest.raises(ConfigError, match="banyan keys add"):
        http_app(bn, KeyRing.at(index_dir), Access.everything(), host="0.0.0.0")  


def test_cli_refuses_a_public_address_without_keys(index_dir: Path) -> None:
    from typer.testing import CliRunner

    from banyan.cli import app

    result = CliRunner().invoke(app, ["mcp", "--index", str(index_dir), "--transport", "http", "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "banyan keys add" in result.output
