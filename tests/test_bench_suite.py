"""`banyan bench suite`: every data set found is run with its baselines, the rest are skipped with a
reason, and the gap of `auto` to the best fixed mode is reported."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from banyan.cli import app

PASSAGES = [
    ("Lumen Bridge", "The Lumen Bridge was designed by Ada Whitcombe and built by Harrow & Vale Construction."),
    ("Ada Whitcombe", "Ada Whitcombe was a structural engineer. She studied at the Northfield Institute."),
    ("Harrow & Vale Construction", "Harrow & Vale Construction was founded in 1902 by Thomas Harrow."),
    ("Thomas Harrow", "Thomas Harrow was born in Kelby, a fishing village on the northern coast."),
]
QUESTIONS = [
    ("Who designed the Lumen Bridge?", ["Lumen Bridge"]),
    ("Where was Thomas Harrow born?", ["Thomas Harrow"]),
    ("Who founded the company that built the Lumen Bridge?", ["Lumen Bridge", "Harrow & Vale Construction"]),
]


def _write(folder: Path, questions_name: str) -> None:
    folder.mkdir(parents=True)
    with (folder / "corpus.jsonl").open("w") as f:
        for i, (title, text) in enumerate(PASSAGES):
            f.write(json.dumps({"id": f"p{i}", "title": title, "text": text}) + "\n")
    with (folder / questions_name).open("w") as f:
        for i, (q, gold) in enumerate(QUESTIONS):
            f.write(json.dumps({"id": f"q{i}", "question": q, "answers": ["x"], "gold_titles": gold,
                                "gold_complete": True, "type": "bridge"}) + "\n")


def test_suite_runs_what_it_finds_and_reports_the_auto_gap(tmp_path: Path) -> None:
    shared, everyday = tmp_path / "shared", tmp_path / "everyday"
    _write(shared / "2wikimultihopqa", "dev.jsonl")
    _write(everyday, "questions_en.jsonl")
    out = tmp_path / "suite.json"
    res = CliRunner().invoke(app, ["bench", "suite", "--shared", str(shared), "--everyday", str(everyday),
                                   "--only", "2wiki,everyday-en,cmrc,medical,novel", "--modes", "bm25,hybrid,graph,auto",
                                   "--embedder", "hash", "--json", str(out)])
    assert res.exit_code == 0, res.output
    result = json.loads(out.read_text())
    assert set(result["runs"]) == {"2wiki", "everyday-en"}
    assert set(result["skipped"]) == {"cmrc", "medical", "novel"}
    for run in result["runs"].values():
        assert set(run["modes"]) == {"bm25", "hybrid", "graph", "auto"}
        assert run["n_questions"] == 3
    gap = result["auto_gap_recall@5"]["2wiki"]
    assert gap["best_fixed"] in {"bm25", "hybrid", "graph"} and gap["gap"] <= 0.0
    assert "auto - best" in res.output and "skipped cmrc" in res.output


def test_suite_rejects_an_unknown_data_set(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["bench", "suite", "--shared", str(tmp_path), "--only", "hotpot"])
    assert res.exit_code == 2 and "hotpot" in res.output


def test_a_graphrag_subset_that_cannot_be_prepared_is_skipped_with_the_reason(tmp_path: Path) -> None:
    from banyan.errors import BanyanError
    from banyan.eval.suite import suite_data

    medical = tmp_path / "medical"
    _write(medical, "questions_sample5.jsonl")

    def prepare(subset: str) -> Path | None:
        if subset == "novel":
            raise BanyanError("reading novel.parquet needs pyarrow (pip install pyarrow)")
        return medical

    found, skipped = suite_data(tmp_path / "shared", tmp_path / "everyday", 10, 5, prepare)
    assert [(d.name, d.questions) for d in found] == [("medical", "questions_sample5.jsonl")]
    assert skipped["novel"] == "reading novel.parquet needs pyarrow (pip install pyarrow)"
    assert {"2wiki", "cmrc", "everyday-en", "everyday-zh"} <= set(skipped)


def test_lowercase_asks_every_question_in_lower_case(tmp_path: Path, monkeypatch) -> None:
    from banyan.api import Banyan
    from banyan.eval.bench import run_retrieval_bench

    asked: list[str] = []
    search = Banyan.search

    def spy(self, question, *args, **kwargs):  # type: ignore[no-untyped-def]
        asked.append(question)
        return search(self, question, *args, **kwargs)

    monkeypatch.setattr(Banyan, "search", spy)
    _write(tmp_path / "data", "dev.jsonl")
    result = run_retrieval_bench(tmp_path / "data", Path("dev.jsonl"), ["bm25", "graph"], tmp_path / "idx",
                                 overrides={"embedding": {"backend": "hash"}}, lowercase=True)
    assert result["n_questions"] == 3
    assert asked and all(q == q.lower() for q in asked)
    assert "where was thomas harrow born?" in asked
