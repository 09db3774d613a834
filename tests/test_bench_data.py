"""The benchmark data we ship or derive: the everyday-documents set and GraphRAG-Bench labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from banyan.eval.bench import load_questions
from banyan.eval.graphrag_bench import PassageAligner, make_passages, prepare_graphrag_bench

EVERYDAY = Path(__file__).resolve().parents[1] / "benchmarks" / "everyday"


def _jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="module")
def corpus() -> list[dict]:
    return _jsonl(EVERYDAY / "corpus.jsonl")


@pytest.mark.parametrize("name", ["questions.jsonl", "questions_en.jsonl", "questions_zh.jsonl"])
def test_everyday_questions_are_well_formed(corpus: list[dict], name: str) -> None:
    titles = {d["title"] for d in corpus}
    questions = _jsonl(EVERYDAY / name)
    assert questions
    ids = [q["id"] for q in questions]
    assert len(ids) == len(set(ids))
    for q in questions:
        assert set(q) >= {"id", "question", "answers", "gold_titles", "gold_complete", "type"}
        assert q["question"].strip() and q["answers"]
        assert len(q["gold_titles"]) >= 1
        assert len(set(q["gold_titles"])) == len(q["gold_titles"])
        missing = [t for t in q["gold_titles"] if t not in titles]
        assert not missing, (q["id"], missing)
        if q["type"].endswith(("two-hop", "comparison")):
            assert len(q["gold_titles"]) == 2, q["id"]
    # the benchmark's own loader reads it and keeps every question
    assert len(load_questions(EVERYDAY / name)) == len(questions)


def test_everyday_corpus_is_well_formed(corpus: list[dict]) -> None:
    ids = [d["id"] for d in corpus]
    titles = [d["title"] for d in corpus]
    assert len(ids) == len(set(ids))
    assert len(titles) == len(set(titles))
    assert all(d["text"].strip() for d in corpus)
    assert 150 <= len(corpus) <= 230
    all_q = _jsonl(EVERYDAY / "questions.jsonl")
    assert {q["type"] for q in all_q} >= {"one-hop", "two-hop", "comparison", "zh-one-hop", "zh-two-hop"}


# -- GraphRAG-Bench label derivation on a hand-made example ---------------------------------

DOC = (
    "Basal cell carcinoma is the most common type of skin cancer. It grows slowly and rarely spreads. "
    "Most cases are treated with surgery. "
    "\n\n"
    "Melanoma starts in the pigment cells called melanocytes. It can spread to lymph nodes early. "
    "Sun exposure and fair skin raise the risk of melanoma. "
    "\n\n"
    "Bladder cancer is usually found because of blood in the urine. A cystoscopy looks inside the bladder. "
    "Smoking is the largest risk factor for bladder cancer."
)


def _write_source(tmp: Path, questions: list[dict]) -> Path:
    src = tmp / "src"
    src.mkdir()
    (src / "medical.json").write_text(json.dumps([{"corpus_name": "Medical", "context": DOC}]), encoding="utf-8")
    (src / "medical_questions.json").write_text(json.dumps(questions), encoding="utf-8")
    return src


def test_aligner_picks_the_passage_that_states_the_evidence() -> None:
    passages = make_passages([("Medical", DOC)], max_tokens=24, overlap_tokens=0)
    assert len(passages) >= 3
    aligner = PassageAligner(passages, min_overlap=0.6)
    idx, outcome = aligner.align_sentence("Smoking is the biggest risk factor for bladder cancer.")
    assert outcome == "aligned"
    assert "Smoking is the largest risk factor" in passages[idx[0]].text
    idx, outcome = aligner.align_sentence("Melanoma begins in melanocytes, the pigment cells.")
    assert "melanocytes" in passages[idx[0]].text
    assert aligner.align_sentence("Quantum chromodynamics explains how quarks bind.")[1] == "none"
    assert aligner.align_sentence("It spreads.")[1] == "short"


def test_prepare_keeps_alignable_questions_and_drops_the_rest(tmp_path: Path) -> None:
    questions = [
        {"id": "q1", "source": "Medical", "question": "What is the main risk factor for bladder cancer?",
         "answer": "Smoking.", "question_type": "Fact Retrieval",
         "evidence": ["Smoking is the largest risk factor for bladder cancer."]},
        {"id": "q2", "source": "Medical", "question": "How is basal cell carcinoma treated, and where does melanoma start?",
         "answer": "Surgery; melanocytes.", "question_type": "Complex Reasoning",
         "evidence": ["Most basal cell carcinoma cases are treated with surgery.",
                      "Melanoma starts in pigment cells called melanocytes.",
                      "The moon is made of green cheese and old socks."]},
        {"id": "q3", "source": "Medical", "question": "Who won the 1998 World Cup?", "answer": "France.",
         "question_type": "Fact Retrieval", "evidence": ["France won the 1998 football World Cup final in Paris."]},
    ]
    src = _write_source(tmp_path, questions)
    out = tmp_path / "out"
    prepared = prepare_graphrag_bench(src, "medical", out, max_tokens=24, overlap_tokens=0, min_overlap=0.6)
    assert (prepared.n_questions, prepared.n_kept, prepared.n_dropped) == (3, 2, 1)
    assert prepared.dropped_by_type == {"fact-retrieval": 1}

    corpus = _jsonl(out / "corpus.jsonl")
    by_title = {d["title"]: d["text"] for d in corpus}
    assert len(by_title) == len(corpus) == prepared.n_passages
    assert all(t.startswith("Medical #") for t in by_title)
    kept = {q["id"]: q for q in _jsonl(out / "questions.jsonl")}
    assert set(kept) == {"q1", "q2"}

    q1 = kept["q1"]
    assert q1["gold_complete"] is True and q1["type"] == "fact-retrieval" and q1["answers"] == ["Smoking."]
    assert len(q1["gold_titles"]) == 1
    assert "Smoking is the largest risk factor" in by_title[q1["gold_titles"][0]]

    q2 = kept["q2"]
    assert q2["gold_complete"] is False  # the third evidence sentence aligns nowhere
    texts = [by_title[t] for t in q2["gold_titles"]]
    assert any("treated with surgery" in t for t in texts) and any("melanocytes" in t for t in texts)
    assert len(load_questions(out / "questions.jsonl")) == 2
    assert json.loads((out / "prepared.json").read_text())["n_kept"] == 2
