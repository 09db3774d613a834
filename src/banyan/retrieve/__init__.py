"""Retrieve: routes over the indexes, fused into one ranking of chunks."""

from banyan.retrieve.fusion import rrf
from banyan.retrieve.search import MODES, Retriever

__all__ = ["MODES", "Retriever", "rrf"]
