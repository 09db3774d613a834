"""`banyan bench qa`: index a normalized corpus, then score the answers of every mode in one run.

Per mode: answer-in-context recall (whether a gold answer string appears in the context the mode
assembles at the token budget; no LLM), EM and F1 of the answers (an LLM's with ``llm``, else the
engine's extractive ones), LLM-judge accuracy when a judge is given, LLM tokens and calls per
question, and latency. Questions whose answers are all yes/no are left out of answer-in-context
(string matching cannot find them) but count for EM, F1 and the judge.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from banyan.api import Banyan
from banyan.errors import BanyanError, BudgetExceededError, LLMFatalError, LLMNotConfiguredError
from banyan.eval.bench import corpus_file, index_corpus, question_file, read_records
from banyan.eval.metrics import percentile_ms
from banyan.eval.qa_metrics import answer_in_context, best_exact_match, best_f1, is_yes_no
from banyan.llm import LLM, build_llm, structured, system, user
from banyan.progress import NoProgress, Progress

ANSWER_MODES: tuple[str, ...] = ("auto", "naive", "mix", "local", "global", "full", "agent")
BASELINE_MODE = "naive"
MAX_ERRORS_KEPT = 5


@dataclass(frozen=True, slots=True)
class QAQuestion:
    id: str
    question: str
    answers: tuple[str, ...]
    type: str


def load_qa_questions(path: Path, limit: int | None = None) -> list[QAQuestion]:
    """Questions in the normalized format that carry gold ``answers``; the others are left out."""
    out: list[QAQuestion] = []
    for lineno, rec in read_records(path):
        try:
            answers = rec.get("answers") or ()
            if isinstance(answers, str) or not all(isinstance(a, str) for a in answers):
                raise TypeError("'answers' must be a list of strings")
            q = QAQuestion(str(rec["id"]), str(rec["question"]), tuple(a for a in answers if a.strip()),
                           str(rec.get("type", "")))
        except (KeyError, TypeError) as exc:
            raise BanyanError(f"{path}:{lineno}: not a normalized question record with answers ({exc})") from exc
        if q.answers and q.question.strip():
            out.append(q)
        if limit and len(out) >= limit:
            break
    return out


def parse_modes(modes: str) -> list[str]:
    """``"naive,mix"`` -> ["naive", "mix"], checked against the answer modes."""
    out = list(dict.fromkeys(m.strip() for m in modes.split(",") if m.strip()))
    unknown = [m for m in out if m not in ANSWER_MODES]
    if unknown or not out:
        raise BanyanError(f"unknown answer mode(s) {', '.join(unknown) or '(none given)'}: "
                          f"--modes takes a comma-separated list of {', '.join(ANSWER_MODES)}")
    return out


# -- what the answer engine gives back (banyan.answer.types; only the fields read here) ----------
class ContextLike(Protocol):
    @property
    def text(self) -> str: ...
    @property
    def tokens(self) -> int: ...


class AnswerLike(Protocol):
    @property
    def text(self) -> str: ...
    @property
    def insufficient(self) -> bool: ...
    @property
    def tokens_in(self) -> int: ...
    @property
    def tokens_out(self) -> int: ...
    @property
    def llm_calls(self) -> int: ...
    @property
    def error(self) -> str | None: ...


class QAEngine(Protocol):
    """What the benchmark calls: ``banyan.api.Banyan`` once it has the answer engine."""

    def answer_context(self, question: str, mode: str = ..., budget: int | None = ...) -> ContextLike: ...
    def ask(self, question: str, mode: str = ..., *, budget: int | None = ..., reject: bool = ...,
            llm: LLM | None = ...) -> AnswerLike: ...


# -- the judge ---------------------------------------------------------------------------------
class Verdict(BaseModel):
    correct: bool


JUDGE_SYSTEM = ("You grade answers to questions against gold answers. The answer is correct when it states the "
                "same fact as one of the gold answers (wording, extra detail and formatting do not matter); it "
                "is wrong when it gives a different fact, several candidates, or no answer.")


@dataclass(frozen=True, slots=True)
class Judgement:
    correct: bool
    calls: int
    tokens: int
    error: str | None = None


def judge_answer(judge: LLM, question: str, golds: Sequence[str], prediction: str) -> Judgement:
    """Ask ``judge`` whether ``prediction`` answers ``question`` as one of ``golds`` does."""
    if not prediction.strip():
        return Judgement(False, 0, 0)
    prompt = (f"Question: {question}\nGold answers: {' | '.join(golds)}\nAnswer to grade: {prediction}\n"
              'Is the answer correct? Reply {"correct": true} or {"correct": false}.')
    res = structured(judge, [system(JUDGE_SYSTEM), user(prompt)], Verdict, stage="judge", max_tokens=32)
    tokens = res.usage.prompt_tokens + res.usage.completion_tokens
    if not res.ok or res.value is None:
        return Judgement(False, res.attempts, tokens, res.error or "no verdict")
    return Judgement(bool(res.value.correct), res.attempts, tokens)


# -- scoring -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class QAOptions:
    budget: int | None = None
    llm: LLM | None = None
    judge: LLM | None = None


@dataclass
class QAModeResult:
    in_context: list[bool] = field(default_factory=list)
    context_tokens: list[int] = field(default_factory=list)
    context_seconds: list[float] = field(default_factory=list)
    em: list[float] = field(default_factory=list)
    f1: list[float] = field(default_factory=list)
    answer_seconds: list[float] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    insufficient: int = 0
    judged: list[bool] = field(default_factory=list)
    judge_calls: list[int] = field(default_factory=list)
    judge_tokens: list[int] = field(default_factory=list)
    judge_errors: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "answer_in_context": _pct(self.in_context),
            "n_answer_in_context": len(self.in_context),
            "em": _pct(self.em),
            "f1": _pct(self.f1),
            "judge_accuracy": _pct(self.judged) if self.judged else None,
            "tokens_per_question": _mean(self.tokens),
            "llm_calls_per_question": _mean(self.calls),
            "judge_calls_per_question": _mean(self.judge_calls) if self.judged else None,
            "judge_tokens_per_question": _mean(self.judge_tokens) if self.judged else None,
            "judge_errors": self.judge_errors,
            "context_tokens_mean": _mean(self.context_tokens),
            "context_ms_p50": round(percentile_ms(self.context_seconds, 50), 2),
            "context_ms_p95": round(percentile_ms(self.context_seconds, 95), 2),
            "latency_ms_p50": round(percentile_ms(self.answer_seconds, 50), 2),
            "latency_ms_p95": round(percentile_ms(self.answer_seconds, 95), 2),
            "insufficient": self.insufficient,
            "errors": len(self.errors),
        }
        if self.errors:
            out["error_examples"] = self.errors[:MAX_ERRORS_KEPT]
        return out


def _pct(values: Sequence[float | bool]) -> float:
    return round(100.0 * sum(values) / len(values), 2) if values else 0.0


def _mean(values: Sequence[float]) -> float:
    return round(sum(values) / len(values), 2) if values else 0.0


def _stops_the_run(exc: BanyanError, opts: QAOptions) -> bool:
    """Errors that concern every question (budget spent, bad credentials or model), not this one.

    Without an LLM, a mode that needs one fails per question: its answer-in-context still counts.
    """
    if isinstance(exc, LLMNotConfiguredError):
        return opts.llm is not None
    return isinstance(exc, (BudgetExceededError, LLMFatalError))


def score_question(engine: QAEngine, q: QAQuestion, mode: str, opts: QAOptions, res: QAModeResult) -> None:
    """Context, answer and (optionally) verdict for one question, added to ``res``."""
    t0 = time.perf_counter()
    ctx = engine.answer_context(q.question, mode=mode, budget=opts.budget)
    res.context_seconds.append(time.perf_counter() - t0)
    res.context_tokens.append(ctx.tokens)
    if not is_yes_no(q.answers):
        res.in_context.append(answer_in_context(ctx.text, q.answers))

    t0 = time.perf_counter()
    try:
        ans = engine.ask(q.question, mode=mode, budget=opts.budget, llm=opts.llm)
    except BanyanError as exc:
        if _stops_the_run(exc, opts):
            raise
        res.answer_seconds.append(time.perf_counter() - t0)
        res.errors.append(f"{q.id}: {exc}")
        res.em.append(0.0)
        res.f1.append(0.0)
        if opts.judge is not None:
            res.judged.append(False)
            res.judge_calls.append(0)
            res.judge_tokens.append(0)
        return
    res.answer_seconds.append(time.perf_counter() - t0)
    if ans.error:
        res.errors.append(f"{q.id}: {ans.error}")
    res.insufficient += bool(ans.insufficient)
    res.tokens.append(ans.tokens_in + ans.tokens_out)
    res.calls.append(ans.llm_calls)
    res.em.append(best_exact_match(ans.text, q.answers))
    res.f1.append(best_f1(ans.text, q.answers))
    if opts.judge is not None:
        verdict = judge_answer(opts.judge, q.question, q.answers, ans.text)
        res.judged.append(verdict.correct)
        res.judge_calls.append(verdict.calls)
        res.judge_tokens.append(verdict.tokens)
        res.judge_errors += verdict.error is not None


def score_qa_mode(engine: QAEngine, questions: Sequence[QAQuestion], mode: str, opts: QAOptions,
                  progress: Progress | None = None) -> QAModeResult:
    """Every question through ``mode``."""
    progress = progress or NoProgress()
    res = QAModeResult()
    progress.start(f"qa {mode}", len(questions))
    for q in questions:
        score_question(engine, q, mode, opts, res)
        progress.advance()
    progress.done()
    return res


def _build(bn: Banyan, model: str) -> LLM:
    """``model`` on the configured endpoint, uncached: every question pays its real tokens and latency."""
    return build_llm(bn.settings.llm.model_copy(update={"model": model, "cache": False}), bn.index_dir,
                     database=bn.store.llm_database()).llm


def run_qa_bench(data_dir: Path, questions_file: Path, modes: Sequence[str], index_dir: Path, *,
                 limit: int | None = None, budget: int | None = None, llm_model: str | None = None,
                 judge_model: str | None = None, overrides: dict[str, Any] | None = None,
                 progress: Progress | None = None) -> dict[str, Any]:
    """Index ``data_dir/corpus.jsonl`` into ``index_dir`` and score the answers of ``modes``.

    Without ``llm_model`` no LLM is used for answers (the engine answers extractively), even if
    one is configured; ``judge_model`` grades the answers, whichever produced them.
    """
    modes = parse_modes(",".join(modes))
    if budget is not None and budget <= 0:
        raise BanyanError(f"--budget must be a positive number of tokens, got {budget}")
    corpus = corpus_file(data_dir)
    qpath = question_file(data_dir, questions_file)
    questions = load_qa_questions(qpath, limit)
    if not questions:
        raise BanyanError(f"{qpath}: no questions with answers (the normalized format carries \"answers\": [...])")
    # The engine never picks up a configured LLM on its own: answers use only the one passed in.
    overrides = dict(overrides or {})
    overrides["llm"] = {**overrides.get("llm", {}), "model": ""}
    with Banyan(index_dir, overrides) as bn:
        index_figures = index_corpus(bn, corpus, progress)
        engine: QAEngine = bn  # type: ignore[assignment]  # until banyan.answer lands on Banyan
        opts = QAOptions(budget, _build(bn, llm_model) if llm_model else None,
                         _build(bn, judge_model) if judge_model else None)
        # Warm-up so that the first timed question does not pay for loading indexes.
        engine.answer_context(questions[0].question, mode=modes[0], budget=budget)
        results = {m: score_qa_mode(engine, questions, m, opts, progress).summary() for m in modes}
        a = bn.settings.answer
        options = {"reranker": a.reranker, "transform": a.transform, "triple_filter": a.triple_filter,
                   "agent_max_steps": a.agent_max_steps}
    return {
        "modes": results,
        **index_figures,
        "n_questions": len(questions),
        "n_yes_no": sum(is_yes_no(q.answers) for q in questions),
        "budget": budget,
        "answers": "llm" if llm_model else "extractive",
        "llm": llm_model,
        "judge": judge_model,
        # the reranker, query transform and triple filter in force (BANYAN_ANSWER__RERANKER=... or banyan.toml):
        # two runs, with and without, report a reranker's effect next to its cost
        "answer_options": options,
    }
