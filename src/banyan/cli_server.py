"""`banyan serve` (the HTTP server and web UI) and `banyan keys add|list|revoke` (its API keys)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from banyan.cli_common import ExitCode, IndexOpt, console, err
from banyan.cli_common import open_index as _open

if TYPE_CHECKING:  # the server loads only when a command needs it
    from banyan.server.keys import KeyRing

keys_app = typer.Typer(no_args_is_help=True, help="API keys of `banyan serve`: each key acts as a user and groups.")



def _index_dir(index: Path | None) -> Path:
    from banyan.settings import load_settings

    return Path(index or load_settings(None).index.dir)


def _ring(index: Path | None) -> KeyRing:
    from banyan.server.keys import KeyRing

    return KeyRing.at(_index_dir(index))


def serve(host: Annotated[str, typer.Option(help="address to bind; anything but loopback needs an API key")]
          = "127.0.0.1",
          port: Annotated[int, typer.Option(help="TCP port")] = 8000,
          index: IndexOpt = None,
          max_upload_mb: Annotated[float, typer.Option("--max-upload-mb", help="largest upload request, MB")] = 50.0,
          embedder: Annotated[str | None, typer.Option("--embedder", help="for a new index (default onnx)")] = None,
          log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info") -> None:
    """Serve the REST API, OpenAI/Ollama-compatible chat and the web UI (OpenAPI docs at /docs).
    Exit code 2 if asked to bind beyond loopback with no active API key."""
    from banyan.server.auth import is_loopback

    ring = _ring(index)
    loopback = is_loopback(host)
    if not loopback and not ring.has_active():
        err.print(f"[red]error:[/] refusing to serve on {host} without an API key: anyone who can reach it would "
                  f"read every document. Create one with `banyan keys add NAME"
                  f"{f' --index {index}' if index else ''}` (or bind to 127.0.0.1).", highlight=False)
        raise typer.Exit(ExitCode.USAGE)
    if max_upload_mb <= 0:
        err.print("[red]error:[/] --max-upload-mb must be positive")
        raise typer.Exit(ExitCode.USAGE)
    import uvicorn

    from banyan.server import ServerConfig, create_app

    with _open(index, embedder, create=True) as bn:
        app = create_app(bn, ring, ServerConfig(max_upload_bytes=int(max_upload_mb * 2**20), require_keys=not loopback))
        auth = f"{len(ring.active())} active API key(s)" if ring.has_active() else "no API keys (loopback only)"
        console.print(f"[bold]banyan serve[/] {bn.index_dir.resolve()} on http://{host}:{port} ({auth}); "
                      f"API docs at /docs", highlight=False)
        uvicorn.run(app, host=host, port=port, log_level=log_level)


@keys_app.command("add")
def keys_add(name: Annotated[str, typer.Argument(help="a label for the key, e.g. who holds it")],
             user: Annotated[str | None, typer.Option(help="the user it acts as [default: NAME]")] = None,
             groups: Annotated[str, typer.Option(help="comma-separated groups, e.g. legal,finance")] = "",
             admin: Annotated[bool, typer.Option("--admin", help="sees every document, whatever its allow-list")]
             = False,
             index: IndexOpt = None) -> None:
    """Create a key and print its secret: it is shown this once (only its SHA-256 is stored)."""
    made = _ring(index).add(name, user=user, groups=groups.split(","), admin=admin)
    k = made.key
    who = "admin (every document)" if k.admin else ", ".join(k.principals)
    err.print(f"created key {k.id} ({k.name}) for {who}; the secret is shown only now:", highlight=False)
    print(made.secret)


@keys_app.command("list")
def keys_list(index: IndexOpt = None, show_revoked: Annotated[bool, typer.Option("--all")] = False,
              as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The keys (never their secrets): id, name, user, groups, admin, created, revoked."""
    keys = [k for k in _ring(index).all_keys() if show_revoked or k.active]
    if as_json:
        print(json.dumps([k.to_dict() for k in keys], indent=2))
        return
    table = Table("id", "name", "user", "groups", "admin", "created", "revoked")
    for k in keys:
        table.add_row(k.id, k.name, k.user, ",".join(k.groups), "yes" if k.admin else "",
                      _when(k.created), _when(k.revoked) if k.revoked else "")
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key: Annotated[str, typer.Argument(help="key id or name")], index: IndexOpt = None) -> None:
    """Revoke a key; a running server refuses it from its next request."""
    k = _ring(index).revoke(key)
    console.print(f"revoked {k.id} ({k.name})", highlight=False)


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def register(app: typer.Typer) -> None:
    """Add `serve` and `keys` to the `banyan` command."""
    app.command()(serve)
    app.add_typer(keys_app, name="keys")
