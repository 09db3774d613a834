"""GraphRAG-Bench (medical, novel) as a passage-retrieval benchmark with derived gold labels.

GraphRAG-Bench gives each question a list of evidence sentences, but these are paraphrases of
the source text, not spans, and no passage ids. This module turns a subset into the normalized
benchmark format (``corpus.jsonl`` + ``questions.jsonl``, see ``shared/data/README.md``):

1. Each source document is cut into passages with Banyan's own chunker
   (:func:`banyan.ingest.chunking.chunk_spans`; default 200 tokens, no overlap, so that a
   sentence lies in exactly one passage and a passage indexed by Banyan stays one chunk).
   Passage titles are ``"<corpus name> #<n>"``.
2. Each evidence sentence is reduced to its content tokens (Banyan's BM25 tokens: lower-cased,
   stemmed, stop words removed) and compared with the passages of the question's source. A
   passage is a candidate when it contains at least ``min_overlap`` (default 0.8) of the
   sentence's distinct content tokens, counted and IDF-weighted. Candidates are ranked by the
   sentence's IDF-weighted coverage plus ``context_weight`` (0.5) times the coverage of the
   question's whole context (question and all its evidence); the best is the sentence's passage
   (remaining ties: the earliest). At 0.8, 24 of 30 hand-checked medical pairs were truly
   supporting (at 0.6: 21 of 30, keeping more questions); see ``docs/benchmarks.md``.
3. A question's gold titles are the passages its sentences align to, in evidence order. A
   question with no aligned sentence is dropped (and counted); ``gold_complete`` is false when
   some of its evidence sentences did not align.

Writes to a cache directory, never into the repository. Temporary entry point::

    python -m banyan.eval.graphrag_bench --data ../shared/data/graphrag_bench --subset medical --out DIR
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from banyan.errors import BanyanError
from banyan.ingest.chunking import chunk_spans, sentence_spans
from banyan.text import bm25_tokens
from banyan.types import content_id

SUBSETS = ("medical", "novel")
DEFAULT_MAX_TOKENS = 200
DEFAULT_OVERLAP_TOKENS = 0
DEFAULT_MIN_OVERLAP = 0.8
DEFAULT_MIN_SENTENCE_TOKENS = 3
DEFAULT_CONTEXT_WEIGHT = 0.5


def default_out_dir(subset: str) -> Path:
    return Path.home() / ".cache" / "banyan" / "bench" / "graphrag_bench" / subset


@dataclass(frozen=True, slots=True)
class Passage:
    title: str
    text: str
    source: str

    @property
    def id(self) -> str:
        return content_id(self.title, self.text)


@dataclass(frozen=True, slots=True)
class SourceQuestion:
    """A GraphRAG-Bench question as read from its file."""

    id: str
    source: str
    question: str
    answer: str
    type: str
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Alignment:
    """Where one question's evidence landed: gold titles and per-sentence outcomes."""

    gold_titles: tuple[str, ...]
    n_sentences: int
    n_aligned: int
    n_short: int
    n_ties: int

    @property
    def complete(self) -> bool:
        return self.n_sentences > 0 and self.n_aligned == self.n_sentences


@dataclass(frozen=True, slots=True)
class PreparedBench:
    """What :func:`prepare_graphrag_bench` wrote, with the counts to report next to results."""

    subset: str
    out_dir: Path
    corpus_path: Path
    questions_path: Path
    n_documents: int
    n_passages: int
    n_questions: int
    n_kept: int
    n_dropped: int
    n_gold_complete: int
    n_evidence_sentences: int
    n_aligned_sentences: int
    n_short_sentences: int
    n_tied_sentences: int
    mean_gold_per_question: float
    max_tokens: int
    overlap_tokens: int
    min_overlap: float
    kept_by_type: dict[str, int] = field(default_factory=dict)
    dropped_by_type: dict[str, int] = field(default_factory=dict)
    sample_path: Path | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("out_dir", "corpus_path", "questions_path", "sample_path"):
            out[key] = str(out[key]) if out[key] is not None else None
        return out


# -- reading the source files ---------------------------------------------------------------

def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise BanyanError(f"{path} not found: --data must be the GraphRAG-Bench folder")
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


def load_documents(src_dir: Path, subset: str) -> list[tuple[str, str]]:
    """``(corpus_name, text)`` of each source document of ``subset``."""
    if subset == "medical":
        records = _read_json(src_dir / "medical.json")
        if isinstance(records, dict):
            records = [records]
    elif subset == "novel":
        path = src_dir / "novel.parquet"
        json_path = src_dir / "novel.json"
        if json_path.is_file():
            records = _read_json(json_path)
        elif path.is_file():
            try:
                import pyarrow.parquet as pq
            except ImportError as exc:
                raise BanyanError("reading novel.parquet needs pyarrow (pip install pyarrow)") from exc
            records = pq.read_table(path, columns=["corpus_name", "context"]).to_pylist()
        else:
            raise BanyanError(f"{path} not found: --data must be the GraphRAG-Bench folder")
    else:
        raise BanyanError(f"unknown GraphRAG-Bench subset {subset!r}; choose one of {', '.join(SUBSETS)}")
    docs = []
    for rec in records:
        name, text = str(rec.get("corpus_name") or subset), rec.get("context") or ""
        if isinstance(text, str) and text.strip():
            docs.append((name, text))
    return docs


def load_questions(src_dir: Path, subset: str) -> list[SourceQuestion]:
    records = _read_json(src_dir / f"{subset}_questions.json")
    out = []
    for rec in records:
        evidence = rec.get("evidence") or []
        if isinstance(evidence, str):
            evidence = [evidence]
        out.append(SourceQuestion(str(rec["id"]), str(rec.get("source") or ""), str(rec["question"]),
                                  str(rec.get("answer") or ""), str(rec.get("question_type") or ""),
                                  tuple(str(e) for e in evidence if str(e).strip())))
    return out


# -- passages and alignment -----------------------------------------------------------------

def make_passages(docs: Sequence[tuple[str, str]], max_tokens: int = DEFAULT_MAX_TOKENS,
                  overlap_tokens: int = DEFAULT_OVERLAP_TOKENS) -> list[Passage]:
    """Cut each document into passages with Banyan's chunker; titles ``"<name> #<n>"``."""
    out: list[Passage] = []
    seen: Counter[str] = Counter()
    for name, text in docs:
        seen[name] += 1
        label = name if seen[name] == 1 else f"{name} ({seen[name]})"
        spans = chunk_spans(text, max_tokens, overlap_tokens)
        width = max(4, len(str(len(spans))))
        for i, (s, e, _n) in enumerate(spans, 1):
            out.append(Passage(f"{label} #{i:0{width}d}", text[s:e], name))
    return out


def _type_slug(question_type: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", question_type.lower()).strip("-") or "all"


class PassageAligner:
    """Token-overlap alignment of evidence sentences to passages (see the module docstring)."""

    def __init__(self, passages: Sequence[Passage], min_overlap: float = DEFAULT_MIN_OVERLAP,
                 min_sentence_tokens: int = DEFAULT_MIN_SENTENCE_TOKENS,
                 context_weight: float = DEFAULT_CONTEXT_WEIGHT) -> None:
        self.passages = list(passages)
        self.min_overlap = min_overlap
        self.min_sentence_tokens = min_sentence_tokens
        self.context_weight = context_weight
        self._postings: dict[str, list[int]] = defaultdict(list)
        self._passage_tokens: dict[int, set[str]] = {}
        self._by_source: dict[str, set[int]] = defaultdict(set)
        for i, p in enumerate(self.passages):
            self._by_source[p.source].add(i)
            for tok in set(bm25_tokens(p.text)):
                self._postings[tok].append(i)
        n = len(self.passages)
        self._idf = {t: math.log((n + 1) / (len(ps) + 0.5)) for t, ps in self._postings.items()}
        self._idf_unseen = math.log((n + 1) / 0.5)

    def sentence_tokens(self, sentence: str) -> set[str]:
        return set(bm25_tokens(sentence))

    def _weighted_coverage(self, tokens: set[str], i: int) -> float:
        text_tokens = self._tokens_of(i)
        return sum(self._idf.get(t, self._idf_unseen) for t in tokens if t in text_tokens)

    def _tokens_of(self, i: int) -> set[str]:
        cached = self._passage_tokens.get(i)
        if cached is None:
            cached = self._passage_tokens[i] = set(bm25_tokens(self.passages[i].text))
        return cached

    def align_sentence(self, sentence: str, source: str | None = None,
                       context: set[str] | None = None) -> tuple[list[int], str]:
        """Passage indexes for one sentence, and the outcome: ``aligned``, ``tie``, ``short`` or
        ``none``. Passages tied on the sentence are told apart by ``context`` (the content tokens of
        the question and all of its evidence); a remaining tie keeps the earliest passage."""
        tokens = self.sentence_tokens(sentence)
        if len(tokens) < self.min_sentence_tokens:
            return [], "short"
        allowed = self._by_source.get(source) if source is not None and source in self._by_source else None
        hits: Counter[int] = Counter()
        weights: defaultdict[int, float] = defaultdict(float)
        total = 0.0
        for tok in tokens:
            idf = self._idf.get(tok, self._idf_unseen)
            total += idf
            for i in self._postings.get(tok, ()):
                if allowed is None or i in allowed:
                    hits[i] += 1
                    weights[i] += idf
        need = self.min_overlap * len(tokens)
        need_weight = self.min_overlap * total
        candidates = [i for i, h in hits.items() if h >= need - 1e-9 and weights[i] >= need_weight - 1e-9]
        if not candidates or total <= 0:
            return [], "none"
        # Rank by the sentence's IDF-weighted coverage, plus (at a smaller weight) how much of the
        # question's whole context the passage covers: of two passages stating "stage 0 is treated
        # with surgery", the one about the disease the question asks about.
        ctx_total = sum(self._idf.get(t, self._idf_unseen) for t in context) if context else 0.0

        def score(i: int) -> float:
            sent = weights[i] / total
            if ctx_total <= 0:
                return sent
            return sent + self.context_weight * self._weighted_coverage(context or set(), i) / ctx_total

        scores = {i: score(i) for i in candidates}
        best = max(scores.values())
        top = sorted(i for i in candidates if scores[i] >= best - 1e-9)
        return [top[0]], ("tie" if len(top) > 1 else "aligned")

    def align(self, evidence: Iterable[str], source: str | None = None, question: str = "") -> Alignment:
        evidence = list(evidence)
        context = set(bm25_tokens(question)).union(*(self.sentence_tokens(e) for e in evidence))
        gold: list[int] = []
        n = aligned = short = ties = 0
        for item in evidence:
            for s, e in sentence_spans(item):
                sentence = item[s:e].strip()
                if not sentence:
                    continue
                n += 1
                idx, outcome = self.align_sentence(sentence, source, context)
                if outcome == "short":
                    short += 1
                if outcome == "tie":
                    ties += 1
                if idx:
                    aligned += 1
                    gold.extend(i for i in idx if i not in gold)
        return Alignment(tuple(self.passages[i].title for i in gold), n, aligned, short, ties)


# -- the whole preparation ------------------------------------------------------------------

def prepare_graphrag_bench(src_dir: Path | str, subset: str, out_dir: Path | str | None = None,
                           max_tokens: int = DEFAULT_MAX_TOKENS, overlap_tokens: int = DEFAULT_OVERLAP_TOKENS,
                           min_overlap: float = DEFAULT_MIN_OVERLAP,
                           min_sentence_tokens: int = DEFAULT_MIN_SENTENCE_TOKENS,
                           sample: int = 0) -> PreparedBench:
    """Write ``corpus.jsonl`` and ``questions.jsonl`` (plus ``prepared.json``) for ``subset``
    into ``out_dir`` (default ``~/.cache/banyan/bench/graphrag_bench/<subset>``). With
    ``sample`` > 0, also ``questions_sample<N>.jsonl``: N kept questions drawn at random (fixed
    seed) from all of them, for runs that cannot afford every question (the question files are
    ordered by source topic, so the first N are not representative)."""
    if subset not in SUBSETS:
        raise BanyanError(f"unknown GraphRAG-Bench subset {subset!r}; choose one of {', '.join(SUBSETS)}")
    if not 0.0 < min_overlap <= 1.0:
        raise BanyanError("min_overlap must be in (0, 1]")
    src = Path(src_dir).expanduser()
    out = Path(out_dir).expanduser() if out_dir else default_out_dir(subset)
    docs = load_documents(src, subset)
    questions = load_questions(src, subset)
    passages = make_passages(docs, max_tokens, overlap_tokens)
    aligner = PassageAligner(passages, min_overlap, min_sentence_tokens)
    sources = {name for name, _ in docs}

    records: list[dict[str, Any]] = []
    kept_by_type: Counter[str] = Counter()
    dropped_by_type: Counter[str] = Counter()
    n_sent = n_aligned = n_short = n_ties = n_complete = n_gold = 0
    for q in questions:
        qtype = _type_slug(q.type)
        a = aligner.align(q.evidence, q.source if q.source in sources else None, q.question)
        n_sent += a.n_sentences
        n_aligned += a.n_aligned
        n_short += a.n_short
        n_ties += a.n_ties
        if not a.gold_titles:
            dropped_by_type[qtype] += 1
            continue
        kept_by_type[qtype] += 1
        n_complete += a.complete
        n_gold += len(a.gold_titles)
        records.append({"id": q.id, "question": q.question, "answers": [q.answer] if q.answer else [],
                        "gold_titles": list(a.gold_titles), "gold_complete": a.complete, "type": qtype})

    out.mkdir(parents=True, exist_ok=True)
    corpus_path, questions_path = out / "corpus.jsonl", out / "questions.jsonl"
    with corpus_path.open("w", encoding="utf-8") as fh:
        for p in passages:
            fh.write(json.dumps({"id": p.id, "title": p.title, "text": p.text}, ensure_ascii=False) + "\n")
    with questions_path.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    sample_path = None
    if sample > 0:
        picked = sorted(random.Random(0).sample(range(len(records)), min(sample, len(records))))
        sample_path = out / f"questions_sample{sample}.jsonl"
        with sample_path.open("w", encoding="utf-8") as fh:
            for i in picked:
                fh.write(json.dumps(records[i], ensure_ascii=False) + "\n")
    prepared = PreparedBench(
        subset=subset, out_dir=out, corpus_path=corpus_path, questions_path=questions_path,
        n_documents=len(docs), n_passages=len(passages), n_questions=len(questions), n_kept=len(records),
        n_dropped=len(questions) - len(records), n_gold_complete=n_complete, n_evidence_sentences=n_sent,
        n_aligned_sentences=n_aligned, n_short_sentences=n_short, n_tied_sentences=n_ties,
        mean_gold_per_question=round(n_gold / len(records), 2) if records else 0.0,
        max_tokens=max_tokens, overlap_tokens=overlap_tokens, min_overlap=min_overlap,
        kept_by_type=dict(sorted(kept_by_type.items())), dropped_by_type=dict(sorted(dropped_by_type.items())),
        sample_path=sample_path,
    )
    (out / "prepared.json").write_text(json.dumps(prepared.to_json(), indent=2) + "\n", encoding="utf-8")
    return prepared


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m banyan.eval.graphrag_bench",
                                 description="Derive passage-level gold labels for GraphRAG-Bench.")
    ap.add_argument("--data", required=True, type=Path, help="the GraphRAG-Bench folder (medical.json, ...)")
    ap.add_argument("--subset", choices=SUBSETS, default="medical")
    ap.add_argument("--out", type=Path, default=None, help="output folder (default ~/.cache/banyan/bench/graphrag_bench/SUBSET)")
    ap.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS)
    ap.add_argument("--overlap", type=int, default=DEFAULT_OVERLAP_TOKENS)
    ap.add_argument("--min-overlap", type=float, default=DEFAULT_MIN_OVERLAP,
                    help="share of an evidence sentence's content tokens a passage must contain")
    ap.add_argument("--sample", type=int, default=0, help="also write questions_sampleN.jsonl (N random questions)")
    args = ap.parse_args(argv)
    try:
        prepared = prepare_graphrag_bench(args.data, args.subset, args.out, args.max_tokens, args.overlap,
                                          args.min_overlap, sample=args.sample)
    except BanyanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(prepared.to_json(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
