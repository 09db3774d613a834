"""Retrieval metrics, as pure functions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def dedupe(items: Sequence[str]) -> list[str]:
    """Items in first-seen order without repeats (e.g. chunk titles -> passage titles)."""
    return list(dict.fromkeys(items))


def passage_recall(retrieved: Sequence[str], gold: Sequence[str], k: int) -> float:
    """HippoRAG's passage recall@k: share of gold passages among the top-k retrieved ones."""
    if not gold:
        raise ValueError("passage recall needs at least one gold passage")
    top = set(dedupe(retrieved)[:k])
    gold_set = set(gold)
    return len(top & gold_set) / len(gold_set)


def percentile_ms(seconds: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1000.0, q)) if seconds else 0.0
