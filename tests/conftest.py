from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from banyan import Banyan
from banyan.cli import sample_corpus_dir
from pg_server import pg_server, pg_url, store_url  # noqa: F401 - PostgreSQL fixtures for every test module

HASH = {"embedding": {"backend": "hash"}}
NO_GRAPH = {"embedding": {"backend": "hash"}, "graph": {"enabled": False}}


def random_graph(rng: np.random.Generator, n: int, edges: int) -> sp.csr_matrix:
    """A symmetric weighted adjacency matrix with ``edges`` random pairs (no self-loops; sparse ones
    leave dead ends and islands), for the PageRank tests."""
    rows, cols = rng.integers(0, n, edges), rng.integers(0, n, edges)
    upper = sp.coo_matrix((rng.random(edges) + 0.1, (rows, cols)), shape=(n, n))
    adj = (upper + upper.T).tocsr()
    adj.setdiag(0)
    adj.eliminate_zeros()
    return adj


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    for var in [v for v in __import__("os").environ if v.startswith("BANYAN_")]:
        monkeypatch.delenv(var)


@pytest.fixture
def sample_dir() -> Path:
    return sample_corpus_dir()


@pytest.fixture
def hash_index(tmp_path: Path, sample_dir: Path) -> Banyan:
    bn = Banyan(tmp_path / "idx", HASH)
    bn.index([sample_dir])
    yield bn
    bn.close()
