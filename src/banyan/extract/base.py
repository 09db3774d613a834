"""What extractors produce, and the Extractor protocol."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from banyan.extract.schema import Schema
from banyan.text import normalize_name
from banyan.types import AttributeValue, Chunk, Mention, Triple

__all__ = ["AttributeValue", "Extraction", "Extractor", "Mention", "Triple", "normalize_name"]


@dataclass(slots=True)
class Extraction:
    mentions: list[Mention] = field(default_factory=list)
    triples: list[Triple] = field(default_factory=list)
    attributes: list[AttributeValue] = field(default_factory=list)

    def extend(self, other: Extraction) -> None:
        self.mentions.extend(other.mentions)
        self.triples.extend(other.triples)
        self.attributes.extend(other.attributes)


class Extractor(Protocol):
    name: str

    def extract(self, chunks: Sequence[Chunk], schema: Schema) -> Extraction:
        ...
