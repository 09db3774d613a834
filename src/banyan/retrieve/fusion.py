"""Rank fusion: combine ranked lists from several routes into one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from banyan.types import Hit


def rrf(ranked: Mapping[str, Sequence[str]], k: int = 60, weights: Mapping[str, float] | None = None,
        limit: int | None = None) -> list[Hit]:
    """Reciprocal-rank fusion: score(d) = sum over routes of w / (k + rank), ranks from 1.

    ``ranked`` maps a route name to its ids, best first. Ties are broken by first appearance
    (route order, then rank), so the result is deterministic. ``limit``: only the best that many.
    """
    scores: dict[str, float] = {}
    routes: dict[str, list[str]] = {}
    for route, ids in ranked.items():
        w = 1.0 if weights is None else weights.get(route, 1.0)
        for rank, cid in enumerate(ids, 1):
            scores[cid] = scores.get(cid, 0.0) + w / (k + rank)
            routes.setdefault(cid, []).append(route)
    order = sorted(scores, key=lambda cid: -scores[cid])[:limit]
    return [Hit(cid, scores[cid], tuple(routes[cid])) for cid in order]


def decisiveness(scores: Sequence[float], depth: int = 10) -> float:
    """How decisively a route ranks its best hits for this query: the share of its top score that
    its ``depth``-th hit has lost, (s1 - s_depth) / s1, in [0, 1] for non-negative scores. A flat
    list (every passage about as similar as the next) says little about which passage answers; a
    steep one names it. A query-performance predictor from the route's own scores: no labels, no
    training, no weight chosen per data set."""
    if len(scores) < 2 or scores[0] <= 0:
        return 0.0
    last = scores[min(depth, len(scores)) - 1]
    return max(0.0, min(1.0, (scores[0] - last) / scores[0]))
