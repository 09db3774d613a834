"""`banyan bench serve`: a short run (5 clients x 5 s) against the real server process: no errors, and
every endpoint kind gets requests. No timing asserts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from banyan.cli import app
from banyan.eval.serve_bench import ServeBenchConfig, percentile


def test_short_run_has_no_errors_and_covers_every_endpoint(tmp_path: Path) -> None:
    out = tmp_path / "serve.json"
    result = CliRunner().invoke(app, ["bench", "serve", "--clients", "5", "--duration", "5", "--embedder", "hash",
                                      "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "requests/s" in result.output and "p95 ms" in result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["errors"] == 0 and not data["hard_stopped"] and data["requests"] > 0
    rows = {e["endpoint"]: e for e in data["endpoints"]}
    assert set(rows) == {"search auto", "search hybrid", "search graph", "ask", "graph entities?q=",
                         "graph neighbors", "graph entity"}
    assert all(e["requests"] > 0 and e["errors"] == 0 and e["direct_calls"] >= 3 for e in rows.values())
    assert {e["kind"] for e in rows.values()} == {"search", "ask", "graph"}


def test_config_rejects_unknown_kinds_and_empty_load() -> None:
    with pytest.raises(ValueError, match="--mix"):
        ServeBenchConfig(kinds=("search", "teleport"))
    with pytest.raises(ValueError, match="--clients"):
        ServeBenchConfig(clients=0)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0 and percentile(values, 95) == 95.0 and percentile(values, 100) == 100.0
    assert percentile([], 50) == 0.0 and percentile([7.0], 95) == 7.0
