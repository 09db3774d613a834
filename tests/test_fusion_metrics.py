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
