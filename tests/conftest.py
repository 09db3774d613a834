from __future__ import annotations

from pathlib import Path

import pytest

from banyan import Banyan
from banyan.cli import sample_corpus_dir
from pg_server import pg_server, pg_url, store_url  # noqa: F401 - PostgreSQL fixtures for every test module

HASH = {"embedding": {"backend": "hash"}}
NO_GRAPH = {"embedding": {"backend": "hash"}, "graph": {"enabled": False}}


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
