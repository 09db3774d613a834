"""What extractors produce, and the Extractor protocol."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from banyan.extract.schema import Schema
from banyan.types import Chunk


@dataclass(frozen=True, slots=True)
class Mention:
    """A span of a chunk that names an entity. ``norm`` is the resolution key."""

    chunk_id: str
    surface: str
    norm: str
    type: str
    start: int
    end: int
    topic: bool = False
    """True for the entity the chunk is about (subject of its first sentence)."""


@dataclass(frozen=True, slots=True)
class Triple:
    chunk_id: str
    head: str
    """norm of the head mention"""
    phrase: str
    tail: str
    type: str = "related_to"


@dataclass(frozen=True, slots=True)
class AttributeValue:
    chunk_id: str
    entity: str
    """norm of the entity it belongs to"""
    key: str
    value: str


@dataclass(slots=True)
class Extraction:
    mentions: list[Mention] = field(default_factory=list)
    triples: list[Triple] = field(default_factory=list)
    attributes: list[AttributeValue] = field(default_factory=list)

    def extend(self, other: "Extraction") -> None:
        self.mentions.extend(other.mentions)
        self.triples.extend(other.triples)
        self.attributes.extend(other.attributes)


class Extractor(Protocol):
    name: str

    def extract(self, chunks: Sequence[Chunk], schema: Schema) -> Extraction:
        ...


_ARTICLES = re.compile(r"^(the|a|an)\s+")
_POSSESSIVE = re.compile(r"(?:'s|’s|')$")
_NON_WORD = re.compile(r"[^\w\s]+", re.UNICODE)
_SPACES = re.compile(r"\s+")


def normalize_name(name: str) -> str:
    """Resolution key: NFKC, lowercase, no possessive, no leading article, punctuation as space.

    "The Lothair II's" -> "lothair ii"; "Lothair Ii" -> "lothair ii"; "St. Maurice" -> "st maurice".
    """
    s = unicodedata.normalize("NFKC", name).strip().lower()
    s = _POSSESSIVE.sub("", s)
    s = _ARTICLES.sub("", s)
    s = _NON_WORD.sub(" ", s)
    return _SPACES.sub(" ", s).strip()
