"""The application core: typed operations, thread safety, pinned settings, schema versions, layering."""

from __future__ import annotations

import ast
import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from typer.testing import CliRunner

from banyan import Banyan
from banyan.cli import app
from banyan.errors import BanyanError, ConfigError
from banyan.retrieve.linking import exact_links
from banyan.types import Community, EntityView
from conftest import HASH

QUESTIONS = [
    "Who designed the Lumen Bridge?",
    "Where was the founder of Harrow & Vale Construction born?",
    "Who founded Harrow & Vale?",
    "What did Ada Whitcombe study at the Northfield Institute?",
    "青石桥的设计者毕业于哪所大学？",
    "林文远是谁",
    "bridge engineering",
]
MODES = ["dense", "bm25", "hybrid", "graph", "hybrid+graph", "hybrid+facts", "auto"]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from banyan.cli import sample_corpus_dir

    idx = tmp_path_factory.mktemp("core") / "idx"
    with Banyan(idx, HASH) as bn:
        bn.index([sample_corpus_dir()])
    return idx


def _signature(results: list) -> list[tuple]:
    return [(r.rank, r.citation.chunk_id, round(r.score, 9), r.routes) for r in results]


def test_concurrent_searches_equal_sequential(index_dir: Path) -> None:
    jobs = [(QUESTIONS[i % len(QUESTIONS)], MODES[(i // len(QUESTIONS)) % len(MODES)]) for i in range(100)]
    with Banyan(index_dir) as bn:
        expected = {job: _signature(bn.search(job[0], mode=job[1], k=5)) for job in set(jobs)}

    with Banyan(index_dir) as bn:  # a fresh instance: components load under concurrency too

        def worker(offset: int) -> list[tuple[tuple[str, str], list[tuple]]]:
            order = jobs[offset:] + jobs[:offset]
            return [(job, _signature(bn.search(job[0], mode=job[1], k=5))) for job in order]

        with ThreadPoolExecutor(max_workers=16) as pool:
            outputs = list(pool.map(worker, range(0, 160, 10)))
    assert len(outputs) == 16
    for out in outputs:
        assert len(out) == 100
        for job, got in out:
            assert got == expected[job], job


def test_reopen_uses_the_embedder_the_index_was_built_with(index_dir: Path) -> None:
    with Banyan(index_dir) as bn:  # no overrides
        assert bn.settings.embedding.backend == "hash"
        assert bn.embedder().name.startswith("hash")
        assert bn.search("Lumen Bridge", mode="dense", k=1)
    pinned = (index_dir / "banyan.toml").read_text()
    assert "[embedding]" in pinned and "[chunking]" in pinned and "modes" not in pinned


def test_typed_operations_and_thin_cli(index_dir: Path) -> None:
    runner = CliRunner()
    with Banyan(index_dir) as bn:
        view = bn.entity("Thomas Harrow")
        assert isinstance(view, EntityView) and view.entity.type == "person"
        assert view.provenance and all(p.chunk_id for p in view.provenance)
        with pytest.raises(BanyanError, match="no entity named"):
            bn.entity("Nobody Atall")
        expected = view.to_dict()
    shown = runner.invoke(app, ["graph", "show", "Thomas Harrow", "--index", str(index_dir), "--json"])
    assert shown.exit_code == 0 and json.loads(shown.stdout) == expected

    with Banyan(index_dir) as bn:
        rep = bn.build_communities()
        assert rep.communities > 0 and rep.levels >= 1 and rep.algorithm == "dual"
        found = bn.communities(level=0)
        assert found and all(isinstance(c, Community) for c in found)
        one = bn.community(found[0].id[:8])
        assert one.id == found[0].id and one.report.entities
    listed = runner.invoke(app, ["communities", "list", "--index", str(index_dir), "--json", "--level", "0"])
    assert listed.exit_code == 0 and json.loads(listed.stdout)[0]["id"] == found[0].id


def test_modes_come_from_settings(index_dir: Path) -> None:
    custom = {"retrieval": {"modes": {"lexical-graph": {"routes": {"bm25": 1.0, "ppr": 1.0}}}}}
    with Banyan(index_dir, custom) as bn:
        hits = bn.search("Who designed the Lumen Bridge?", mode="lexical-graph", k=5)
        assert hits and {r for h in hits for r in h.routes} <= {"bm25", "ppr"}
        assert bn.search("Lumen Bridge", mode="graph", k=3)  # built-in modes remain
        with pytest.raises(ConfigError, match="unknown search mode"):
            bn.search("Lumen Bridge", mode="nope")
    with pytest.raises(ConfigError, match="unknown mode"):
        Banyan(index_dir, {"retrieval": {"default_mode": "nope"}})


def test_function_words_never_link() -> None:
    norm_index = {"the who": 0, "harrow": 1, "lumen bridge": 2, "of": 3}
    tokens = ["Who", "designed", "The", "Who", "and", "Lumen", "Bridge", "Of"]
    assert exact_links(tokens, norm_index) == {2: 1.0}


def test_schema_change_reextracts_and_says_so(tmp_path: Path, sample_dir: Path) -> None:
    from importlib import resources

    corpus = tmp_path / "corpus"
    shutil.copytree(sample_dir, corpus)
    schema = json.loads((resources.files("banyan.extract") / "default_schema.json").read_text("utf-8"))
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema), encoding="utf-8")
    over = {**HASH, "graph": {"schema_path": str(path)}}
    with Banyan(tmp_path / "idx", over) as bn:
        bn.index([corpus])
        entities = bn.graph_stats()["entities"]
        assert not bn.index([corpus]).notes  # nothing changed: nothing redone

    schema["relation_types"].append({"name": "sponsored_by", "description": "an organization that paid for it"})
    path.write_text(json.dumps(schema), encoding="utf-8")
    with Banyan(tmp_path / "idx", over) as bn:
        notes = bn.index([corpus]).notes
        assert any("re-typing relations" in n for n in notes) and not any("re-extracting" in n for n in notes)
        assert bn.graph_stats()["entities"] == entities

    schema["entity_types"][0]["description"] += " (edited)"
    path.write_text(json.dumps(schema), encoding="utf-8")
    with Banyan(tmp_path / "idx", over) as bn:
        notes = bn.index([corpus]).notes
        n_chunks = bn.stats().chunks
        assert any(f"re-extracting {n_chunks} chunks" in n for n in notes)


# -- layering ----------------------------------------------------------------------------------
FOUNDATION = {"errors", "types", "text", "settings", "progress"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(), "types": set(), "text": set(), "progress": set(), "settings": {"errors"},
    "llm": FOUNDATION, "ingest": FOUNDATION, "extract": FOUNDATION, "embed": FOUNDATION,
    "store": FOUNDATION,
    "index": FOUNDATION | {"ingest", "embed", "store"},
    "graph": FOUNDATION | {"extract", "embed", "store", "llm"},
    "retrieve": FOUNDATION | {"graph", "index", "embed", "extract", "store"},
    "answer": FOUNDATION | {"retrieve", "graph", "index", "embed", "extract", "store", "llm"},
    "app": FOUNDATION | {"retrieve", "graph", "index", "embed", "extract", "store", "llm", "answer", "ingest"},
}
"""Which packages each stage may import: never a later stage, never the API or a shell."""


def _imports() -> list[tuple[str, str, str]]:
    root = Path(__file__).resolve().parents[1] / "src" / "banyan"
    out = []
    for f in sorted(root.rglob("*.py")):
        parts = f.relative_to(root).with_suffix("").parts
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("banyan."):
                for alias in node.names:
                    out.append((".".join(parts), node.module, alias.name))
    return out


def test_no_private_names_across_packages() -> None:
    bad = [(m, t, n) for m, t, n in _imports()
           if n.startswith("_") and t.split(".")[1] != m.split(".")[0]]
    assert not bad, bad


def test_stages_import_only_earlier_stages() -> None:
    bad = []
    for mod, target, _ in _imports():
        pkg, dep = mod.split(".")[0], target.split(".")[1]
        if pkg in ALLOWED and dep != pkg and dep not in ALLOWED[pkg]:
            bad.append(f"{mod} imports {target}")
    assert not bad, bad
