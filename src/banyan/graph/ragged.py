"""Lists of integer arrays stored as two flat arrays (CSR style): built or loaded in one step,
read by slicing, so a large graph's per-node lists cost nothing to load."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np


def row_entries(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the given ``rows`` of a CSR-style ``indptr`` keep their entries, row after row in the
    order given, and how many each has."""
    starts = indptr[rows]
    counts = indptr[rows + 1] - starts
    return np.arange(int(counts.sum())) + np.repeat(starts - (np.cumsum(counts) - counts), counts), counts


class Ragged:
    """Row ``i`` is ``values[indptr[i]:indptr[i + 1]]``."""

    __slots__ = ("indptr", "values")

    def __init__(self, indptr: np.ndarray, values: np.ndarray) -> None:
        self.indptr, self.values = indptr, values

    @classmethod
    def of(cls, rows: Sequence[Sequence[int]]) -> Ragged:
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([len(r) for r in rows])
        values = np.fromiter((v for r in rows for v in r), dtype=np.int64, count=int(indptr[-1]))
        return cls(indptr, values)

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def __getitem__(self, i: int) -> np.ndarray:
        return self.values[self.indptr[i] : self.indptr[i + 1]]

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self[i] for i in range(len(self)))

    def lengths(self) -> np.ndarray:
        return np.diff(self.indptr)


class PairChunks:
    """Entity pair (a < b) -> the chunks whose triples connect them, by binary search over sorted
    pair codes (no per-pair Python objects)."""

    __slots__ = ("chunk_ids", "codes", "n", "rows")

    def __init__(self, codes: np.ndarray, rows: Ragged, chunk_ids: Sequence[str], n: int) -> None:
        self.codes, self.rows, self.chunk_ids, self.n = codes, rows, chunk_ids, n

    @classmethod
    def of(cls, pairs: dict[tuple[int, int], set[int]], chunk_ids: Sequence[str], n: int) -> PairChunks:
        """From pair -> chunk indices; ``n`` bounds the entity ids."""
        keys = sorted(pairs)
        codes = np.asarray([a * n + b for a, b in keys], dtype=np.int64)
        return cls(codes, Ragged.of([sorted(pairs[k]) for k in keys]), chunk_ids, n)

    def __len__(self) -> int:
        return len(self.codes)

    def get(self, pair: tuple[int, int], default: Sequence[str] = ()) -> Sequence[str]:
        code = pair[0] * self.n + pair[1]
        i = int(np.searchsorted(self.codes, code))
        if i == len(self.codes) or self.codes[i] != code:
            return default
        return [self.chunk_ids[c] for c in self.rows[i].tolist()]
