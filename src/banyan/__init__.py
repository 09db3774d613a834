"""Banyan: a GraphRAG engine for English and Chinese documents.

Import is cheap: heavy components (embedders, NLP models) load only when first used.
"""

from banyan.api import Banyan
from banyan.settings import Settings, load_settings
from banyan.types import Chunk, Citation, Document, IndexReport, SearchResult

__all__ = ["Banyan", "Chunk", "Citation", "Document", "IndexReport", "SearchResult", "Settings", "load_settings"]
__version__ = "0.1.0"
