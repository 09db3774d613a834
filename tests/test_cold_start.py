"""A fresh `banyan search` process loads only what its mode needs (issue #13): the API and the CLI
import no heavy library, the CLI builds only the command it runs, pydantic-settings loads only when
a settings variable is set, and the graph and the vectors load while the embedding model does."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from banyan import Banyan
from banyan.cli_common import LazyCommands, one_shot
from banyan.embed import create_embedder, embedder_name
from banyan.errors import ConfigError
from banyan.graph import kg_cache
from banyan.graph.ppr import transition
from banyan.settings import EmbeddingSettings
from conftest import HASH

HEAVY = {"scipy", "onnxruntime", "tokenizers", "pydantic_settings", "rich", "bm25s", "spacy", "jieba", "torch"}
LATER = ("banyan.answer", "banyan.llm", "banyan.ingest", "banyan.graph", "banyan.extract", "banyan.server",
         "banyan.eval", "banyan.cli_answer", "banyan.cli_bench", "banyan.cli_cost", "banyan.cli_graph",
         "banyan.cli_llm", "banyan.cli_mcp", "banyan.cli_schema", "banyan.cli_server", "banyan.app.documents",
         "banyan.app.explore", "banyan.app.graph_ops", "banyan.app.schema_ops")


def _modules(code: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    code += "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in HEAVY or m.startswith(LATER)}


def test_importing_the_api_and_the_cli_loads_no_heavy_library() -> None:
    assert _heavy(_modules("import banyan, banyan.api, banyan.cli; banyan.Banyan")) == set()


def test_a_bm25_search_from_the_command_line_loads_no_model_graph_or_rich(hash_index: Banyan) -> None:
    code = ("import sys\nfrom banyan.cli import main\n"
            f"sys.argv = ['banyan', 'search', 'Who designed the Lumen Bridge?', '--index', {str(hash_index.index_dir)!r},"
            " '--mode', 'bm25', '--json']\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n")
    loaded = _modules(code)
    assert {m.split(".")[0] for m in loaded} & {"scipy", "onnxruntime", "rich", "pydantic_settings"} == set()
    assert "banyan.cli_bench" not in loaded and "banyan.retrieve.graph_routes" not in loaded


def test_the_cli_builds_a_command_only_when_it_is_used() -> None:
    code = ("import typer\nfrom banyan.cli import app\n"
            "group = typer.main.get_command(app)\n"
            "assert 'banyan.cli_bench' not in __import__('sys').modules\n"
            "print(json.dumps(list(group.commands)))\n"
            "group.commands['bench']\n")
    code = "import json\n" + code
    done = subprocess.run([sys.executable, "-c", code + "import sys\nprint('banyan.cli_bench' in sys.modules)"],
                          capture_output=True, text=True, check=True)
    names, built = done.stdout.strip().splitlines()
    assert json.loads(names) == ["usage", "ask", "mcp", "serve", "index", "search", "remove", "status", "quickstart",
                                 "bench", "graph", "communities", "llm", "schema", "keys"]
    assert built == "True"


def test_lazy_commands_build_each_command_once_and_list_without_building() -> None:
    built: list[str] = []

    def make(name: str):  # type: ignore[no-untyped-def]
        return lambda: built.append(name) or f"<{name}>"

    commands = LazyCommands({"b": "<b>"}, {"a": make("a"), "c": make("c")}, order=("a", "b", "c"))
    assert list(commands) == ["a", "b", "c"] and len(commands) == 3 and built == []
    assert commands.get("c") == "<c>" and commands["c"] == "<c>" and built == ["c"]
    assert commands.get("nope") is None and "nope" not in commands
    commands["d"] = "<d>"
    del commands["a"]
    assert list(commands) == ["b", "c", "d"] and built == ["c"]


def test_one_shot_turns_the_collector_back_on() -> None:
    assert gc.isenabled()
    with one_shot():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_pydantic_settings_loads_only_for_a_settings_variable() -> None:
    base = {k: v for k, v in __import__("os").environ.items() if not k.startswith("BANYAN_")}
    code = "from banyan.settings import load_settings\ns = load_settings(None)\nprint(s.retrieval.k, s.llm.model)"
    alias_only = _modules(code, {**base, "BANYAN_LLM_MODEL": "m"})
    assert "pydantic_settings" not in alias_only
    with_setting = _modules(code, {**base, "banyan_retrieval__k": "7"})
    assert "pydantic_settings" in with_setting


def test_settings_read_the_environment_below_given_values(monkeypatch: pytest.MonkeyPatch) -> None:
    from banyan.settings import Settings

    monkeypatch.setenv("BANYAN_RETRIEVAL__K", "7")
    monkeypatch.setenv("BANYAN_GRAPH", '{"ppr_damping": 0.3}')
    s = Settings(retrieval={"rrf_k": 5})
    assert (s.retrieval.k, s.retrieval.rrf_k, s.graph.ppr_damping) == (7, 5, 0.3)
    assert Settings(retrieval={"k": 2}).retrieval.k == 2


@pytest.mark.parametrize("cfg", [EmbeddingSettings(backend="hash"), EmbeddingSettings(),
                                 EmbeddingSettings(max_length=128)], ids=["hash", "onnx", "onnx-128"])
def test_the_embedder_name_is_known_before_the_model_loads(cfg: EmbeddingSettings) -> None:
    assert embedder_name(cfg) == create_embedder(cfg).name


def test_unknown_names_are_left_to_the_loaded_model() -> None:
    assert embedder_name(EmbeddingSettings(backend="openai", model="text-embedding-3-small")) is None


def test_the_graph_and_the_vectors_load_before_the_embedder(hash_index: Banyan, monkeypatch: pytest.MonkeyPatch) -> None:
    index = hash_index.index_dir
    question = "Where was the founder of the company that built the Lumen Bridge born?"
    want = [r.to_dict() for r in hash_index.search(question, mode="graph")]
    made: list[EmbeddingSettings] = []
    monkeypatch.setattr("banyan.api.create_embedder", lambda cfg: made.append(cfg) or create_embedder(cfg))
    with Banyan(index, HASH, create=False) as bn:
        bn.view.graph()
        bn.view.vectors()
        assert made == []
        assert [r.to_dict() for r in bn.search(question, mode="graph")] == want
        assert len(made) == 1


def test_a_graph_cache_written_with_crlf_lines_reads_the_same(hash_index: Banyan, tmp_path: Path) -> None:
    kg = hash_index.view.graph().kg
    path = kg_cache.save(kg, tmp_path, "k")
    for name in ("names", "entity_ids"):
        text = (path / f"{name}.txt").read_text(encoding="utf-8")
        (path / f"{name}.txt").write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    again = kg_cache.load(tmp_path, "k")
    assert again is not None and again.names == kg.names and again.entity_ids == kg.entity_ids
    assert again.home == kg.home


def test_the_cache_keeps_the_derived_arrays_and_reads_the_same_without_them(hash_index: Banyan,
                                                                             tmp_path: Path) -> None:
    kg = hash_index.view.graph().kg
    path = kg_cache.save(kg, tmp_path, "k")
    kept = kg_cache.load(tmp_path, "k")
    for name in ("trans_t_data", "trans_t_indices", "trans_t_indptr", "walk_dead", "walk_order"):
        (path / f"{name}.npy").unlink()  # as a cache written before the prepared walk was kept:
    legacy = transition(kg.adjacency)  # its transitions in node order
    for part in ("data", "indices", "indptr"):
        (path / f"trans_{part}.npy").unlink()  # a new file: ``kept`` maps the old one
        np.save(path / f"trans_{part}.npy", getattr(legacy, part))
    without_walk = kg_cache.load(tmp_path, "k")
    for name in ("trans_data", "trans_indices", "trans_indptr", "neighbors_indptr", "neighbors_values"):
        (path / f"{name}.npy").unlink()  # as a cache written before they were kept
    derived = kg_cache.load(tmp_path, "k")
    assert kept is not None and without_walk is not None and derived is not None
    for label, got in (("kept", kept), ("without_walk", without_walk), ("derived", derived)):
        for part in ("data", "indices", "indptr"):
            assert np.array_equal(getattr(got.walk.trans, part), getattr(kg.walk.trans, part)), (label, part)
            assert np.array_equal(getattr(got.walk.trans_t, part), getattr(kg.walk.trans_t, part))
        assert np.array_equal(got.walk.dead, kg.walk.dead)
        assert np.array_equal(got.walk.order, kg.walk.order)
        assert np.array_equal(got.entity_neighbors.indptr, kg.entity_neighbors.indptr)
        assert np.array_equal(got.entity_neighbors.values, kg.entity_neighbors.values)


def test_a_search_that_fails_fast_exits_with_its_code_while_the_model_loads(tmp_path: Path, sample_dir: Path) -> None:
    """The ONNX model loads in a thread while a search starts; a search that fails before it is
    loaded must still exit with its own code (not abort inside the runtime at interpreter exit)."""
    idx = tmp_path / "idx"
    with Banyan(idx) as bn:  # the default ONNX embedder: its model takes a moment to load
        bn.index([sample_dir])
    with Banyan(idx) as bn, pytest.raises(ConfigError):  # a fresh instance: the model starts loading with the search
        bn.search("x", mode="nonsense")
    assert bn._embedder_loader is not None and not bn._embedder_loader.is_alive()  # close() waited for it
    for _ in range(3):
        done = subprocess.run([sys.executable, "-m", "banyan.cli", "search", "x", "--index", str(idx),
                               "--mode", "nonsense"], capture_output=True, text=True, check=False)
        assert done.returncode == 1, done.stderr[-500:]
        assert "unknown search mode" in done.stderr
