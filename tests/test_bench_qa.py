"""`banyan bench qa`: answer metrics, question loading, the judge, scoring, and the command end to end."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from banyan.errors import BanyanError, BudgetExceededError, LLMFatalError, LLMNotConfiguredError
from banyan.eval.qa import (
    QAModeResult,
    QAOptions,
    QAQuestion,
    judge_answer,
    load_qa_questions,
    parse_modes,
    score_qa_mode,
)
from banyan.eval.qa_metrics import (
    answer_in_context,
    best_exact_match,
    best_f1,
    exact_match,
    f1_score,
    is_yes_no,
    normalize_answer,
)
from banyan.llm import CallParams, build_llm, user
from banyan.settings import LLMSettings
from fake_openai import FakeOpenAI


# -- metrics -------------------------------------------------------------------------------------
def test_normalize_follows_squad():
    assert normalize_answer("The  Eiffel Tower!") == "eiffel tower"
    assert normalize_answer("an Apple, a pear") == "apple pear"
    assert normalize_answer("State Correctional Institution – Chester") == "state correctional institution chester"
    assert normalize_answer("Theatre") == "theatre"  # articles only as whole words
    assert normalize_answer("《战国无双3》，光荣。") == "战国无双3光荣"


def test_exact_match_and_f1_english():
    assert exact_match("the Port of Spain.", "Port of Spain") == 1.0
    assert exact_match("Port of Spain, Trinidad", "Port of Spain") == 0.0
    assert f1_score("Port of Spain, Trinidad", "Port of Spain") == pytest.approx(2 * (3 / 4) * 1 / (3 / 4 + 1))
    assert f1_score("Madrid", "Port of Spain") == 0.0
    assert f1_score("", "Port of Spain") == 0.0
    assert f1_score("the", "a") == 1.0  # both normalize to nothing
    assert best_exact_match("Oxford", ["Cambridge", "oxford"]) == 1.0
    assert best_f1("University of Oxford", ["Oxford", "Cambridge"]) == 0.5
    assert best_f1("x", []) == 0.0


def test_exact_match_and_f1_chinese_are_character_level():
    assert exact_match("光荣和ω-force", "光荣和ω-force") == 1.0
    assert exact_match("光荣 和 ω-force。", "光荣和ω-force") == 1.0  # spaces and punctuation ignored
    # 村雨城 vs 谜之村雨城: 3 shared characters of 3 (gold) and 5 (prediction).
    assert f1_score("谜之村雨城", "村雨城") == pytest.approx(2 * (3 / 5) * 1 / (3 / 5 + 1))
    assert f1_score("任天堂", "村雨城") == 0.0
    # Latin words inside Chinese answers stay whole: "force" is one token, not five.
    assert f1_score("光荣和force", "光荣和ω-force") == pytest.approx(2 * (3 / 4) * (3 / 4) / 1.5)
    assert best_f1("村雨城", ["村雨城", "任天堂游戏谜之村雨城"]) == 1.0


def test_answer_in_context_english():
    ctx = "Lothair II's mother, Ermengarde of Tours, died on 20 March 851. She was born in 804."
    assert answer_in_context(ctx, ["20 March 851"])
    assert answer_in_context(ctx, ["ermengarde of tours"])
    assert answer_in_context(ctx, ["no such thing", "The Ermengarde of Tours"])
    assert not answer_in_context(ctx, ["51"])  # whole words only
    assert not answer_in_context(ctx, ["Tour"])
    assert not answer_in_context(ctx, ["Paris"])
    assert not answer_in_context(ctx, ["the", "!"])  # answers that normalize to nothing never match
    assert answer_in_context("I'll Be Going Now is a song.", ["I'Ll Be Going Now"])
    assert not answer_in_context("", ["Paris"])


def test_answer_in_context_chinese():
    ctx = "《战国无双3》是由光荣和ω-force合作开发的动作游戏。\n村雨城 是 一款游戏"
    assert answer_in_context(ctx, ["光荣和ω-force"])
    assert answer_in_context(ctx, ["村雨城"])  # spaces in the context do not matter
    assert answer_in_context(ctx, ["ω-force"])  # a Latin answer next to Chinese characters is a whole word
    assert not answer_in_context(ctx, ["任天堂"])


def test_yes_no_answers_are_recognized():
    assert is_yes_no(["yes"]) and is_yes_no(["No."])
    assert not is_yes_no(["Norway"]) and not is_yes_no([])


# -- questions -----------------------------------------------------------------------------------
def _write_jsonl(path: Path, records: list[object]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_load_questions_keeps_those_with_answers(tmp_path):
    path = _write_jsonl(tmp_path / "q.jsonl", [
        {"id": 1, "question": "Who?", "answers": ["Ada"], "type": "t"},
        {"id": 2, "question": "None?", "answers": []},
        {"id": 3, "question": "Also none?"},
        {"id": 4, "question": "Blank?", "answers": [" "]},
        {"id": 5, "question": "Where?", "answers": ["Delft", "Leiden"]},
    ])
    qs = load_qa_questions(path)
    assert [q.id for q in qs] == ["1", "5"] and qs[1].answers == ("Delft", "Leiden") and qs[0].type == "t"
    assert [q.id for q in load_qa_questions(path, limit=1)] == ["1"]


@pytest.mark.parametrize("line, message", [
    ('{"id": 1, "question": "Q"', "line 1|:1:"),
    ('["a list"]', "JSON object"),
    ('{"question": "Q", "answers": ["A"]}', "'id'"),
    ('{"id": 1, "question": "Q", "answers": "A"}', "list of strings"),
])
def test_bad_question_records_say_where(tmp_path, line, message):
    path = tmp_path / "q.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(BanyanError, match=message):
        load_qa_questions(path)


def test_missing_question_file_and_bad_modes(tmp_path):
    with pytest.raises(BanyanError, match="not found"):
        load_qa_questions(tmp_path / "nope.jsonl")
    assert parse_modes("naive, mix,naive") == ["naive", "mix"]
    with pytest.raises(BanyanError, match="unknown answer mode.*bm25"):
        parse_modes("naive,bm25")


# -- the judge -------------------------------------------------------------------------------------
def _llm(server: FakeOpenAI, tmp_path: Path, model: str):
    cfg = LLMSettings(model=model, base_url=server.base_url, api_key="k", timeout_s=5.0, backoff_base_s=0.01,
                      backoff_max_s=0.05, max_retries=2)
    return build_llm(cfg, tmp_path).llm


def test_judge_verdicts_and_calls(tmp_path):
    with FakeOpenAI() as srv:
        judge = _llm(srv, tmp_path, "judge")
        srv.script = [{"content": '{"correct": true}'}, {"content": '{"correct": false}'},
                      {"content": "I think so"}, {"content": '{"correct": true}'}]
        assert judge_answer(judge, "Where?", ["Delft"], "In Delft.") .correct
        v = judge_answer(judge, "Where?", ["Delft"], "Leiden")
        assert not v.correct and v.calls == 1 and v.tokens > 0 and v.error is None
        v = judge_answer(judge, "Who?", ["Ada"], "Ada Lovelace")  # invalid reply, one re-ask
        assert v.correct and v.calls == 2
        v = judge_answer(judge, "Who?", ["Ada"], "  ")
        assert (v.correct, v.calls) == (False, 0)
        assert len(srv.requests) == 4
        assert "Gold answers: Ada" in srv.requests[-1]["messages"][-3]["content"]


# -- scoring with a scripted engine ----------------------------------------------------------------
@dataclass(frozen=True)
class FakeContext:
    text: str
    tokens: int


@dataclass(frozen=True)
class FakeAnswer:
    text: str
    insufficient: bool = False
    tokens_in: int = 0
    tokens_out: int = 0
    llm_calls: int = 0
    error: str | None = None


class ScriptedEngine:
    """Contexts and answers by question text; ``mix`` finds more than ``naive``."""

    def __init__(self) -> None:
        self.contexts = {"naive": {"Q1": "Ada was born in London.", "Q2": "Nothing here.", "Q3": "yes"},
                         "mix": {"Q1": "Ada was born in London.", "Q2": "Bo lives in Delft.", "Q3": "yes"}}
        self.answers = {"Q1": FakeAnswer("London", tokens_in=10, tokens_out=2, llm_calls=1),
                        "Q2": FakeAnswer("", insufficient=True, tokens_in=5, llm_calls=1),
                        "Q3": FakeAnswer("", error="boom")}
        self.asked: list[tuple[str, str, int | None, object]] = []

    def answer_context(self, question: str, mode: str = "auto", budget: int | None = None) -> FakeContext:
        text = self.contexts[mode][question]
        return FakeContext(text, len(text.split()))

    def ask(self, question: str, mode: str = "auto", *, budget: int | None = None, reject: bool = False,
            llm: object = None) -> FakeAnswer:
        self.asked.append((question, mode, budget, llm))
        if question == "Q4":
            raise BanyanError("the engine failed")
        return self.answers[question]


QS = [QAQuestion("1", "Q1", ("London",), ""), QAQuestion("2", "Q2", ("Delft",), ""),
      QAQuestion("3", "Q3", ("yes",), "comparison")]


def test_score_mode_counts_everything():
    engine = ScriptedEngine()
    naive = score_qa_mode(engine, QS, "naive", QAOptions(budget=100)).summary()
    mix = score_qa_mode(engine, QS, "mix", QAOptions(budget=100)).summary()
    assert naive["n_answer_in_context"] == 2  # the yes/no question is left out
    assert (naive["answer_in_context"], mix["answer_in_context"]) == (50.0, 100.0)
    assert naive["em"] == pytest.approx(100 / 3, abs=0.01) and naive["f1"] == pytest.approx(100 / 3, abs=0.01)
    assert naive["tokens_per_question"] == pytest.approx(17 / 3, abs=0.01)
    assert naive["llm_calls_per_question"] == pytest.approx(2 / 3, abs=0.01)
    assert naive["insufficient"] == 1 and naive["errors"] == 1 and naive["error_examples"] == ["3: boom"]
    assert naive["judge_accuracy"] is None and naive["judge_calls_per_question"] is None
    assert {a[2] for a in engine.asked} == {100}


def test_engine_errors_count_as_wrong_and_the_run_goes_on(tmp_path):
    engine = ScriptedEngine()
    engine.contexts["naive"]["Q4"] = "Paris"
    with FakeOpenAI(lambda req: {"content": '{"correct": true}'}) as srv:
        res: QAModeResult = score_qa_mode(engine, [*QS, QAQuestion("4", "Q4", ("Paris",), "")], "naive",
                                          QAOptions(judge=_llm(srv, tmp_path, "judge")))
        n_requests = len(srv.requests)
    s = res.summary()
    assert s["errors"] == 2 and res.em[-1] == 0.0 and res.judged == [True, False, False, False]
    assert n_requests == 1  # empty answers and failed questions are not sent to the judge
    assert s["judge_calls_per_question"] == 0.25 and s["judge_accuracy"] == 25.0


def test_run_wide_llm_errors_stop_the_run_but_a_missing_llm_does_not():
    class Failing(ScriptedEngine):
        def __init__(self, exc: Exception) -> None:
            super().__init__()
            self.exc = exc

        def ask(self, question, mode="auto", *, budget=None, reject=False, llm=None):
            raise self.exc

    res = score_qa_mode(Failing(LLMNotConfiguredError("global needs an LLM")), QS, "naive", QAOptions())
    assert res.summary()["errors"] == 3 and res.summary()["answer_in_context"] == 50.0
    with pytest.raises(BudgetExceededError):
        score_qa_mode(Failing(BudgetExceededError("spent")), QS, "naive", QAOptions())
    with pytest.raises(LLMFatalError):
        score_qa_mode(Failing(LLMFatalError("unknown model")), QS, "naive", QAOptions())


# -- the command end to end ------------------------------------------------------------------------
CORPUS = [
    {"id": "p1", "title": "Lumen Bridge", "text": "The Lumen Bridge is a footbridge in Corrowick. It was designed by "
     "Ada Quill and opened in 1998."},
    {"id": "p2", "title": "Ada Quill", "text": "Ada Quill is an engineer. She was born in Port Elwin and studied at "
     "the University of Marrow."},
    {"id": "p3", "title": "Corrowick", "text": "Corrowick is a harbour town on the river Sele, known for its bridges."},
    {"id": "p4", "title": "Harrow & Vale", "text": "Harrow & Vale is a construction company founded by Thomas Harrow "
     "in 1921. It built the Lumen Bridge."},
    {"id": "p5", "title": "青石桥", "text": "青石桥是一座石拱桥，由林文远设计，建于清代。"},
]
QUESTIONS = [
    {"id": "q1", "question": "Who designed the Lumen Bridge?", "answers": ["Ada Quill"], "type": "single"},
    {"id": "q2", "question": "Where was the designer of the Lumen Bridge born?", "answers": ["Port Elwin"],
     "type": "compositional"},
    {"id": "q3", "question": "Who founded the company that built the Lumen Bridge?", "answers": ["Thomas Harrow"],
     "type": "compositional"},
    {"id": "q4", "question": "Is the Lumen Bridge a footbridge?", "answers": ["yes"], "type": "comparison"},
    {"id": "q5", "question": "青石桥是谁设计的？", "answers": ["林文远"], "type": "zh"},
    {"id": "q6", "question": "A question without answers", "answers": []},
]
GOLD = {q["question"]: q["answers"][0] for q in QUESTIONS if q["answers"]}


@pytest.fixture
def qa_data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    _write_jsonl(data / "corpus.jsonl", CORPUS)
    _write_jsonl(data / "dev.jsonl", QUESTIONS)
    return data


def _replies(req: dict) -> dict:
    """The answer model answers with the gold answer of the question it is shown; the judge agrees."""
    if req["model"] == "judge-model":
        return {"content": '{"correct": true}'}
    text = " ".join(str(m.get("content", "")) for m in req["messages"])
    return {"content": next((a for q, a in GOLD.items() if q in text), "unknown")}


def _invoke(args: list[str]):
    from banyan.cli import app

    return CliRunner().invoke(app, ["bench", "qa", *args])


def _check_shape(out: dict, modes: list[str], n_questions: int) -> None:
    assert set(out["modes"]) == set(modes) and out["n_questions"] == n_questions and out["n_yes_no"] == 1
    for m in out["modes"].values():
        for key in ("answer_in_context", "em", "f1", "judge_accuracy", "tokens_per_question",
                    "llm_calls_per_question", "judge_calls_per_question", "latency_ms_p50", "latency_ms_p95",
                    "context_ms_p50", "context_tokens_mean", "errors"):
            assert key in m, key
        assert m["n_answer_in_context"] == n_questions - 1
        assert 0.0 <= m["answer_in_context"] <= 100.0
    assert out["index_seconds"] and out["n_documents"] == len(CORPUS)


def test_bench_qa_with_llm_and_judge_through_the_cli(qa_data, tmp_path, monkeypatch):
    """The real engine: answers without an LLM, then with the fake server as --llm and --judge."""
    pytest.importorskip("banyan.answer", reason="the answer engine (banyan.answer, Banyan.ask) is not there yet")
    base = ["--data", str(qa_data), "--questions", "dev.jsonl", "--modes", "naive,mix", "--embedder", "hash",
            "--budget", "400"]
    res = _invoke([*base, "--json", str(tmp_path / "plain.json")])
    assert res.exit_code == 0, res.output
    assert "answer-in-context mix - naive" in res.output and "extractive" in res.output
    plain = json.loads((tmp_path / "plain.json").read_text(encoding="utf-8"))
    _check_shape(plain, ["naive", "mix"], 5)
    assert plain["answers"] == "extractive" and plain["budget"] == 400 and plain["judge"] is None
    for m in plain["modes"].values():
        assert m["llm_calls_per_question"] == 0 and m["judge_accuracy"] is None

    with FakeOpenAI(_replies) as srv:
        monkeypatch.setenv("BANYAN_LLM_BASE_URL", srv.base_url)
        monkeypatch.setenv("BANYAN_LLM_API_KEY", "k")
        res = _invoke([*base, "--llm", "answer-model", "--judge", "judge-model", "--json", str(tmp_path / "o.json")])
        judge_requests = sum(r["model"] == "judge-model" for r in srv.requests)
        answer_requests = sum(r["model"] == "answer-model" for r in srv.requests)
    assert res.exit_code == 0, res.output
    out = json.loads((tmp_path / "o.json").read_text(encoding="utf-8"))
    _check_shape(out, ["naive", "mix"], 5)
    assert out["llm"] == "answer-model" and out["judge"] == "judge-model" and out["answers"] == "llm"
    judged = sum(round(m["judge_calls_per_question"] * 5) for m in out["modes"].values())
    assert 0 < judged == judge_requests
    assert sum(round(m["llm_calls_per_question"] * 5) for m in out["modes"].values()) == answer_requests


def test_bench_qa_command_with_a_stand_in_engine(qa_data, tmp_path, monkeypatch):
    """The command's plumbing (indexing, LLM and judge built from --llm/--judge, JSON, table) with a
    stand-in for Banyan.answer_context/ask built on Banyan.search, so it runs before the engine exists."""
    from banyan.api import Banyan
    from banyan.text import count_tokens

    seen_llms: list[object] = []

    def answer_context(self, question, mode="auto", budget=None):
        k = 1 if mode == "naive" else 4
        text = "\n\n".join(r.text for r in self.search(question, mode="bm25" if mode == "naive" else "auto", k=k))
        return FakeContext(text, count_tokens(text))

    def ask(self, question, mode="auto", *, budget=None, reject=False, llm=None):
        seen_llms.append(llm)
        ctx = answer_context(self, question, mode, budget)
        if llm is None:
            return FakeAnswer(ctx.text.split(".")[0])
        reply = llm.complete([user(f"Context:\n{ctx.text}\n\nQuestion: {question}")], CallParams(stage="answer"))
        return FakeAnswer(reply.text, tokens_in=reply.usage.prompt_tokens, tokens_out=reply.usage.completion_tokens,
                          llm_calls=1)

    monkeypatch.setattr(Banyan, "answer_context", answer_context, raising=False)
    monkeypatch.setattr(Banyan, "ask", ask, raising=False)
    with FakeOpenAI(_replies) as srv:
        monkeypatch.setenv("BANYAN_LLM_BASE_URL", srv.base_url)
        monkeypatch.setenv("BANYAN_LLM_API_KEY", "k")
        monkeypatch.setenv("BANYAN_LLM_MODEL", "configured-model")  # never used: answers take only --llm
        res = _invoke(["--data", str(qa_data), "--questions", "dev.jsonl", "--modes", "mix,naive", "--embedder",
                       "hash", "--llm", "answer-model", "--judge", "judge-model", "--json", str(tmp_path / "o.json")])
        models = [r["model"] for r in srv.requests]
    assert res.exit_code == 0, res.output
    out = json.loads((tmp_path / "o.json").read_text(encoding="utf-8"))
    _check_shape(out, ["naive", "mix"], 5)
    assert set(models) == {"answer-model", "judge-model"}
    for m in out["modes"].values():
        assert m["em"] == 100.0 and m["f1"] == 100.0 and m["judge_accuracy"] == 100.0
        assert m["llm_calls_per_question"] == 1.0 and m["judge_calls_per_question"] == 1.0
        assert m["tokens_per_question"] > 0 and m["judge_tokens_per_question"] > 0
    assert models.count("judge-model") == 10 and models.count("answer-model") == 10
    assert out["modes"]["mix"]["answer_in_context"] >= out["modes"]["naive"]["answer_in_context"]
    assert all(llm is not None and llm.model == "answer-model" for llm in seen_llms)
    table = res.stdout
    assert table.index("│ naive") < table.index("│ mix")  # the baseline row comes first
    assert "answer-in-context mix - naive" in table and "judge-model" in table


def test_bench_qa_reports_bad_input(qa_data):
    res = _invoke(["--data", str(qa_data), "--questions", "dev.jsonl", "--modes", "naive,hybrid"])
    assert res.exit_code != 0 and "unknown answer mode" in str(res.exception)
    res = _invoke(["--data", str(qa_data / "nope"), "--questions", "dev.jsonl"])
    assert res.exit_code != 0 and "corpus.jsonl" in str(res.exception)
