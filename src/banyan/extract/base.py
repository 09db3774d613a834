"""What extractors produce, and the Extractor protocol."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from banyan.extract.schema import Schema
from banyan.text import normalize_name
from banyan.types import AttributeValue, Chunk, Mention, Triple

__all__ = ["AttributeValue", "BlockExtractor", "Extraction", "Extractor", "Mention", "Triple", "extract_blocks",
           "normalize_name"]


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


@runtime_checkable
class BlockExtractor(Protocol):
    """An extractor that works through many blocks at once (worker processes kept across blocks)."""

    def extract_blocks(self, blocks: Iterable[Sequence[Chunk]], schema: Schema,
                       total: int) -> Generator[Extraction, None, None]:
        ...


def extract_blocks(extractor: Extractor, blocks: Iterable[Sequence[Chunk]], schema: Schema,
                   total: int) -> Generator[Extraction, None, None]:
    """One extraction per block, in order; ``total``: the chunks in all blocks. Close it when done
    (it may hold worker processes)."""
    if isinstance(extractor, BlockExtractor):
        return extractor.extract_blocks(blocks, schema, total)
    return (extractor.extract(block, schema) for block in blocks)
