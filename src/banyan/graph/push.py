"""Personalized PageRank by forward push: the walk's mass moves only where there is enough of it.

The power iteration (``graph.ppr.personalized_pagerank``) multiplies the whole transition matrix
at every step, although after two or three steps most of what it moves is a few millionths of
the mass spread over tens of thousands of nodes, which cannot change which passages rank first.
Forward push (Andersen, Chung and Lang, FOCS 2006) keeps an estimate ``p`` and a residual ``r``
(mass not yet spread). A node whose residual exceeds ``eps`` per out-edge keeps ``1 - damping`` of
it and passes the rest along its edges; nothing else is touched. What is left unspread is at
most ``eps`` per edge of each node, so the work is bounded by the mass and ``eps``, not by the
size of the graph (the loop reads back only the nodes it reached): on the 2Wiki graph (42,668
nodes, 270,824 edges) a question's walk reads about 25,000 edges (``graph.ppr_eps`` 1e-6) instead
of about 1.9 million.

The loop is a small C extension (``graph/_push.c``, built when the package is installed) that
releases the interpreter lock, so concurrent searches walk in parallel; ``_push`` below is the
same loop in Python, which the tests hold it to. Where the extension was not built (the source
run without installing), ``compiled()`` is False and graph mode walks by power iteration instead.
"""

from __future__ import annotations

from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from banyan.errors import ExtensionMissingError

if TYPE_CHECKING:  # importing this module stays light (``banyan status`` asks ``compiled()``)
    from banyan.graph.ppr import Walk


def compiled() -> bool:
    """Whether the compiled push loop is installed (``pip install`` builds it where a C compiler is)."""
    return _extension() is not None


WORK_PASSES = 2
"""a walk's pushes read at most this many times the graph's entries (and nodes). Pushes read entries
here and there, several times slower per entry than the power iteration's sweeps, which read every
entry about 7 times (``graph.ppr_tol`` 3e-3): past this the power iteration is the cheaper walk and
computes it (a damping near 1, a tiny ``eps``, a small graph)"""


def approximate_pagerank(walk: Walk, seeds: np.ndarray, damping: float = 0.5, eps: float = 1e-6,
                         tol: float = 3e-3) -> np.ndarray:
    """Scores of the walk that follows an edge with probability ``damping`` and jumps back to the
    seed distribution otherwise (the fixed point ``personalized_pagerank`` iterates to), with dead
    ends returning their mass to the seeds. No score is above the exact one, and together they miss
    at most the mass left unspread: less than ``eps`` per out-edge (at least ``eps``) of each node.
    Where the pushes would read more than ``WORK_PASSES`` times the graph, ``personalized_pagerank``
    to ``tol`` gives the scores instead. Raises ``ExtensionMissingError`` where the compiled loop is
    not installed (``compiled()``)."""
    given = np.asarray(seeds, dtype=np.float64)
    nodes = np.flatnonzero(given)
    reached, scores = pagerank_from(walk, nodes, given[nodes], damping, eps, tol)
    out = np.zeros(len(given))
    out[reached] = scores
    return out


def pagerank_from(walk: Walk, nodes: np.ndarray, weights: np.ndarray, damping: float = 0.5,
                  eps: float = 1e-6, tol: float = 3e-3) -> tuple[np.ndarray, np.ndarray]:
    """``approximate_pagerank`` from seeds given as distinct ``nodes`` and their ``weights``, as the
    nodes the walk reached and their scores (every other node scores 0). A question seeds a few dozen
    nodes and its walk reaches a few thousand: nothing here is proportional to the graph's size."""
    ext = _extension()
    if ext is None:
        raise ExtensionMissingError(
            "banyan's compiled PageRank loop (banyan.graph._push) is not installed: reinstall banyan with a C "
            "compiler present (`pip install --no-cache-dir --force-reinstall banyan-rag`, or `pip install -e .` "
            "in a checkout) or set graph.ppr_method = \"power\"")
    n = walk.trans.shape[0]
    nodes = np.asarray(nodes, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.float64)
    total = weights.sum()
    if len(weights) == 0 or total <= 0:
        return np.zeros(0, np.int64), np.zeros(0)
    at = walk.position[nodes].astype(np.int64, copy=False)
    by_position = np.argsort(at)
    indptr, indices, data, order = walk.push_arrays
    reached, scores = np.empty(n, np.int64), np.empty(n)  # pages the walk never writes are never touched
    m = ext.push(indptr, indices, data, at[by_position], weights[by_position] / total, float(damping), float(eps),
                 WORK_PASSES * (len(indices) + n), order, reached, scores)
    if m >= 0:
        return reached[:m].copy(), scores[:m].copy()
    return power_from(walk, nodes, weights, damping, tol)


def power_from(walk: Walk, nodes: np.ndarray, weights: np.ndarray, damping: float = 0.5,
               tol: float = 3e-3) -> tuple[np.ndarray, np.ndarray]:
    """``personalized_pagerank`` (power iteration to ``tol``) from the same seeds as ``pagerank_from``,
    in the same form: the nodes with a score and their scores."""
    from banyan.graph.ppr import personalized_pagerank

    seeds = np.zeros(walk.trans.shape[0])
    seeds[nodes] = weights
    walked = personalized_pagerank(walk, seeds, damping, tol=tol)
    hit = np.flatnonzero(walked)
    return hit, walked[hit]


@cache
def _extension() -> ModuleType | None:
    try:
        from banyan.graph import _push
    except ImportError:
        return None
    return _push


def _push(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, seeded: np.ndarray, share: np.ndarray,
          damping: float, eps: float) -> np.ndarray:
    """Forward push in first-in first-out order over a row-stochastic CSR matrix (row ``u``: where a
    walker at ``u`` goes). Returns ``p + (1 - damping) * r``: each node's settled mass plus what its
    own residual would keep. ``graph/_push.c`` is this loop in C."""
    n = len(indptr) - 1
    settled = np.zeros(n)
    residual = np.zeros(n)
    queue = np.empty(n + 1, np.int64)  # a ring: a node is in it at most once
    queued = np.zeros(n, np.bool_)
    head = tail = waiting = 0
    for i in range(len(seeded)):
        residual[seeded[i]] = share[i]
        queue[tail] = seeded[i]
        tail += 1
        queued[seeded[i]] = True
        waiting += 1
    while waiting > 0:
        u = queue[head]
        head = head + 1 if head < n else 0
        waiting -= 1
        queued[u] = False
        mass = residual[u]
        start, end = indptr[u], indptr[u + 1]
        if mass <= eps * max(end - start, 1):
            continue
        settled[u] += (1.0 - damping) * mass
        residual[u] = 0.0
        moving = damping * mass
        # a dead end's walkers jump back to the seeds
        targets, weights = (seeded, share) if start == end else (indices[start:end], data[start:end])
        for v, w in zip(targets, weights):
            residual[v] += moving * w
            if not queued[v] and residual[v] > eps * max(indptr[v + 1] - indptr[v], 1):
                queue[tail] = v
                tail = tail + 1 if tail < n else 0
                queued[v] = True
                waiting += 1
    return settled + (1.0 - damping) * residual
