import numpy as np
import pytest

from banyan.eval.metrics import dedupe, passage_recall
from banyan.index.vectors import ExactVectorIndex, top_k
from banyan.retrieve.fusion import rrf
from banyan.types import Hit


def test_rrf_scores_and_order():
    hits = rrf({"bm25": ["a", "b", "c"], "dense": ["b", "d"]}, k=60)
    assert [h.chunk_id for h in hits] == ["b", "a", "d", "c"]
    assert hits[0].score == pytest.approx(1 / 62 + 1 / 61)
    assert hits[0].routes == ("bm25", "dense")
    assert hits[1].routes == ("bm25",)


def test_rrf_ties_are_deterministic_and_weights_apply():
    assert [h.chunk_id for h in rrf({"x": ["a"], "y": ["b"]})] == ["a", "b"]
    assert [h.chunk_id for h in rrf({"x": ["a"], "y": ["b"]}, weights={"y": 2.0})] == ["b", "a"]


def test_rrf_empty():
    assert rrf({}) == [] and rrf({"x": []}) == []


def test_passage_recall():
    assert passage_recall(["A", "B", "A", "C"], ["A", "C"], 2) == 0.5
    assert passage_recall(["A", "B", "A", "C"], ["A", "C"], 3) == 1.0
    assert dedupe(["A", "B", "A"]) == ["A", "B"]
    with pytest.raises(ValueError):
        passage_recall(["A"], [], 2)


def test_top_k_and_exact_vector_index():
    scores = np.array([0.1, 0.9, 0.5, 0.9])
    assert list(top_k(scores, 3)) == [1, 3, 2]
    assert list(top_k(scores, 10)) == [1, 3, 2, 0]
    idx = ExactVectorIndex(["a", "b"], np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert idx.search(np.array([0.0, 1.0]), 1) == [("b", 1.0)]
    assert ExactVectorIndex([], np.zeros((0, 2))).search(np.array([1.0, 0.0]), 3) == []


def test_a_route_reporting_confidence_votes_by_its_square() -> None:
    from banyan.retrieve.search import route_weight

    assert route_weight(1.0, [Hit("a", 0.3, ("facts",), confidence=0.5)]) == 0.25
    assert route_weight(2.0, [Hit("a", 0.3, ("hybrid",))]) == 2.0
    assert route_weight(1.0, []) == 1.0
    assert route_weight(1.0, [Hit("a", 0.3, ("facts",), confidence=0.9)], min_confidence=1.0) == 0.0
    assert route_weight(1.0, [Hit("a", 0.3, ("facts",), confidence=1.0)], min_confidence=1.0) == 1.0


def test_a_route_whose_ceiling_is_under_the_modes_floor_is_not_run() -> None:
    from banyan.retrieve.query import Query
    from banyan.retrieve.search import Retriever
    from banyan.settings import ModeSettings, RetrievalSettings

    class Fixed:
        def __init__(self, name: str, hits: list[Hit], ceiling: float | None = None) -> None:
            self.name, self.hits, self.runs = name, hits, 0
            if ceiling is not None:
                self.ceiling = lambda q: ceiling

        def applies(self, q: Query) -> bool:
            return True

        def search(self, q: Query, n: int) -> list[Hit]:
            self.runs += 1
            return self.hits

    base = Fixed("base", [Hit("a", 1.0, ("base",)), Hit("b", 0.5, ("base",))])
    for ceiling, runs in [(0.5, 0), (1.0, 1)]:
        facts = Fixed("facts", [Hit("b", 1.0, ("facts",), confidence=1.0)], ceiling=ceiling)
        cfg = RetrievalSettings(modes={"m": ModeSettings(routes={"base": 1.0, "facts": 1.0},
                                                         min_confidence={"facts": 1.0})})
        hits = Retriever(cfg, {"base": base, "facts": facts}, True).search(Query("q", lambda t: np.zeros(2)), "m", 2)
        assert facts.runs == runs
        assert [h.chunk_id for h in hits] == (["a", "b"] if runs == 0 else ["b", "a"])


def test_decisiveness_is_the_share_of_the_top_score_the_tenth_hit_lost() -> None:
    from banyan.retrieve.fusion import decisiveness

    assert decisiveness([10.0, 8.0, 5.0]) == pytest.approx(0.5)  # fewer than 10: the last one
    assert decisiveness([0.5] * 12) == 0.0  # flat: says nothing
    assert decisiveness([4.0] + [1.0] * 20) == pytest.approx(0.75)
    assert decisiveness([4.0] + [1.0] * 20, depth=1) == 0.0
    assert decisiveness([]) == 0.0 and decisiveness([3.0]) == 0.0 and decisiveness([0.0, 0.0]) == 0.0
    assert decisiveness([1.0, -1.0]) == 1.0  # clipped to [0, 1]


def test_hybrid_weighs_each_list_by_how_decisive_it_is() -> None:
    from banyan.retrieve.query import Query
    from banyan.retrieve.routes import HybridRoute

    class Fixed:
        def __init__(self, name: str, hits: list[tuple[str, float]]) -> None:
            self.name, self.hits = name, hits

        def applies(self, q: Query) -> bool:
            return True

        def search(self, q: Query, n: int) -> list[Hit]:
            return [Hit(c, s, (self.name,)) for c, s in self.hits[:n]]

    steep = Fixed("bm25", [("a", 9.0), ("b", 2.0), ("c", 1.0)])
    flat = Fixed("dense", [("b", 0.52), ("c", 0.51), ("a", 0.50)])
    q = Query("which one", lambda t: np.zeros(2))
    assert [h.chunk_id for h in HybridRoute(steep, flat, 60).search(q, 3)] == ["a", "b", "c"]
    # equal decisiveness (or none at all): plain reciprocal-rank fusion
    both_flat = Fixed("bm25", [("c", 1.0), ("a", 1.0), ("b", 1.0)])
    plain = rrf({"bm25": ["c", "a", "b"], "dense": ["b", "c", "a"]}, k=60)
    assert [h.chunk_id for h in HybridRoute(both_flat, Fixed("dense", [("b", 0.5), ("c", 0.5), ("a", 0.5)]), 60)
            .search(Query("q", lambda t: np.zeros(2)), 3)] == [h.chunk_id for h in plain]
