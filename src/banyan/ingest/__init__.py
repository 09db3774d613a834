"""Ingest: files -> Documents -> Chunks."""

from banyan.ingest.chunking import chunk_document, chunk_spans
from banyan.ingest.discover import discover
from banyan.ingest.readers import read_file
from banyan.text import detect_lang

__all__ = ["chunk_document", "chunk_spans", "detect_lang", "discover", "read_file"]
