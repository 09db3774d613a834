"""Banyan: a GraphRAG engine for English and Chinese documents.

Import is cheap: the names below are imported on first use (PEP 562), so ``import banyan.settings``
(or the ``banyan`` command) does not load the whole package, and heavy components (embedders,
NLP models, scipy) load only when a call needs them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from banyan.api import Banyan
    from banyan.settings import Settings, load_settings
    from banyan.types import Chunk, Citation, Document, IndexReport, SearchResult

_EXPORTS = {"Banyan": "banyan.api", "Settings": "banyan.settings", "load_settings": "banyan.settings",
            "Chunk": "banyan.types", "Citation": "banyan.types", "Document": "banyan.types",
            "IndexReport": "banyan.types", "SearchResult": "banyan.types"}

__all__ = ["Banyan", "Chunk", "Citation", "Document", "IndexReport", "SearchResult", "Settings", "load_settings"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'banyan' has no attribute {name!r}")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
