"""`banyan bench cost`: indexing tokens per corpus token for each extractor mode, next to peers.

Each mode indexes the same passages into its own fresh index with the LLM cache off, so every
call is real; tokens and calls come from the LLM ledger of that run (``IndexReport.extraction``).
Corpus tokens are counted with the model's own tokenizer for a GGUF model (the one llama.cpp
reports prompt tokens with), else with ``banyan.text.count_tokens``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from banyan.api import Banyan
from banyan.errors import BanyanError, ConfigError
from banyan.eval.bench import corpus_file
from banyan.progress import Progress
from banyan.settings import load_settings
from banyan.text import count_tokens

MODES = ("nlp", "hybrid", "llm")
PEERS: dict[str, float] = {
    "LightRAG": 45.1,
    "nano-graphrag": 46.0,
    "microsoft/graphrag": 45.5,
    "HippoRAG 2": 10.5,
    "Youtu-GraphRAG (reported)": 10.0,
}
"""Prompt tokens per corpus token, measured side by side on the first 30 2Wiki passages (3,069
corpus tokens) through a counting proxy (issue #11); Youtu-GraphRAG's figure is its own report."""
TARGET_LLM = 3.0
"""Banyan's goal for ``llm`` mode (a fifteenth of LightRAG's); ``hybrid`` must stay below ``llm``."""


def read_passages(data: Path, limit: int | None) -> list[dict[str, Any]]:
    """The first ``limit`` records of ``data/corpus.jsonl`` (normalized: id, title, text)."""
    out = []
    with corpus_file(data).open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                out.append(json.loads(line))
            if limit and len(out) >= limit:
                break
    if not out:
        raise BanyanError(f"{corpus_file(data)} holds no passages")
    return out


def token_counter(model: str) -> tuple[str, Callable[[str], int]]:
    """(tokenizer name, counter): a GGUF model's own vocabulary, else Banyan's word counter."""
    if model.startswith("gguf:"):
        try:
            from llama_cpp import Llama
        except ImportError:
            return "banyan.text.count_tokens", count_tokens
        vocab = Llama(model_path=str(Path(model[5:]).expanduser()), vocab_only=True, verbose=False)
        return f"{Path(model[5:]).name} (GGUF vocabulary)", lambda s: len(vocab.tokenize(s.encode("utf-8"),
                                                                                          add_bos=False))
    return "banyan.text.count_tokens", count_tokens


def per(value: float, base: float) -> float:
    return round(value / base, 4) if base else 0.0


def run_mode(mode: str, corpus: Path, index_dir: Path, overrides: dict[str, Any], corpus_tokens: int,
             progress: Progress | None) -> dict[str, Any]:
    """Index ``corpus`` with one extractor mode into the fresh ``index_dir``; its cost figures."""
    over = {**overrides, "graph": {**overrides.get("graph", {}), "extractor": mode},
            "llm": {**overrides.get("llm", {}), "cache": False}}
    t0 = time.perf_counter()
    with Banyan(index_dir, over) as bn:
        report = bn.index([corpus], progress=progress)
        chunks = bn.stats().chunks
        graph = bn.graph_stats()
        failed = len(bn.failed_chunks(None))
    s = report.extraction
    prompt, completion, calls = (s.prompt_tokens, s.completion_tokens, s.calls) if s else (0, 0, 0)
    return {
        "prompt_tokens_per_corpus_token": per(prompt, corpus_tokens),
        "completion_tokens_per_corpus_token": per(completion, corpus_tokens),
        "calls_per_chunk": per(calls, chunks),
        "prompt_tokens": prompt, "completion_tokens": completion, "calls": calls, "chunks": chunks,
        "llm_chunks": s.llm_chunks if s else 0, "extracted": s.extracted if s else chunks,
        "failed_chunks": failed, "entities": graph.get("entities", 0), "triples": graph.get("triples", 0),
        "seconds": round(time.perf_counter() - t0, 1), "notes": report.notes,
    }


def run_cost_bench(data: Path, modes: Sequence[str], root: Path, limit: int | None = None,
                   overrides: dict[str, Any] | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """Cost figures of each mode on the first ``limit`` passages; indexes go to ``root/cost-MODE``."""
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ConfigError(f"unknown extractor mode(s) {', '.join(unknown)}; choose from {', '.join(MODES)}")
    overrides = overrides or {}
    model = load_settings(None, overrides).llm.model
    if any(m != "nlp" for m in modes) and not model:
        raise ConfigError("the llm and hybrid modes need an LLM: pass --llm MODEL or gguf:PATH (or set "
                          "BANYAN_LLM_MODEL)")
    passages = read_passages(data, limit)
    tokenizer, count = token_counter(model)
    corpus_tokens = sum(count(f"{p.get('title', '')}\n{p['text']}") for p in passages)
    root.mkdir(parents=True, exist_ok=True)
    corpus = root / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in passages), encoding="utf-8")
    results: dict[str, Any] = {}
    for mode in modes:
        index_dir = root / f"cost-{mode}"
        if index_dir.exists():
            raise BanyanError(f"{index_dir} exists: cost figures need a fresh index; remove it or use another --index")
        results[mode] = run_mode(mode, corpus, index_dir, overrides, corpus_tokens, progress)
    return {"passages": len(passages), "corpus_tokens": corpus_tokens, "tokenizer": tokenizer,
            "model": model or None, "modes": results, "peers": PEERS, "target_llm": TARGET_LLM}
