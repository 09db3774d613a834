"""Index: BM25 and vector indexes over the stored chunks, and the indexing pipeline."""

from banyan.index.bm25 import BM25Index
from banyan.index.vectors import ExactVectorIndex, VectorIndex, top_k

__all__ = ["BM25Index", "ExactVectorIndex", "VectorIndex", "top_k"]
