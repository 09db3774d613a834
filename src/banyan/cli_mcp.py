"""`banyan mcp`: serve one index to MCP clients (Claude Desktop, IDE agents) over stdio or streamable HTTP."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from banyan.cli_common import AsOpt, ExitCode, IndexOpt, access_of, err
from banyan.cli_common import open_index as _open
from banyan.types import Access


class Transport(StrEnum):
    stdio = "stdio"
    http = "http"


def mcp(
    index: IndexOpt = None,
    transport: Annotated[Transport, typer.Option(help="stdio (an MCP client starts this command) or http "
                                                      "(streamable HTTP at http://HOST:PORT/mcp)")] = Transport.stdio,
    host: Annotated[str, typer.Option(help="http: address to bind (beyond loopback needs API keys)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="http: port")] = 8001,
    as_: AsOpt = None,
) -> None:
    """Serve the index's search, answers and graph as MCP tools (search, ask, entity, neighbours,
    communities, index_status). Over http with API keys (`banyan keys add`), each key's principals
    apply instead of --as. Client set-up: docs/mcp.md."""
    import anyio

    from banyan.server.keys import KeyRing
    from banyan.server.mcp import FixedAccess, build_server, http_app, is_loopback

    access = access_of(as_) or Access.everything()
    with _open(index) as bn:
        if transport is Transport.stdio:
            anyio.run(build_server(bn, FixedAccess(access)).run_stdio_async)
            return
        import uvicorn

        ring = KeyRing.at(bn.index_dir)
        if not is_loopback(host) and not ring.has_active():
            err.print(f"[red]error:[/] refusing to serve MCP on {host} without an API key: anyone who can reach it "
                      f"would read the index. Create one with `banyan keys add NAME` (or bind to 127.0.0.1).",
                      highlight=False)
            raise typer.Exit(ExitCode.USAGE)
        app = http_app(bn, ring, access, host=host)
        keys = "an API key is required" if ring.has_active() else "no API keys"
        err.print(f"banyan MCP (streamable HTTP) at http://{host}:{port}/mcp; {keys}", highlight=False)
        uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning")).run()
