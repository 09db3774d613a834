"""The graph schema: entity, relation and attribute types, each with a description.

One Schema object flows to extraction (typing mentions, naming relations), resolution (which
types may merge), query decomposition and LLM prompts. Loaded from YAML or JSON and validated.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from banyan.errors import ConfigError

OTHER = "other"
RELATED = "related_to"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EntityType(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str
    ner_labels: tuple[str, ...] = ()
    """spaCy NER labels (English) that map to this type."""
    zh_pos: tuple[str, ...] = ()
    """jieba part-of-speech tags (Chinese) that map to this type."""


class RelationType(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str
    head: tuple[str, ...] = ()
    tail: tuple[str, ...] = ()


def relation_text(rel: RelationType) -> str:
    """What gets embedded for a relation type: its name in words and its description."""
    return f"{rel.name.replace('_', ' ')}: {rel.description}"


class AttributeType(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str
    ner_labels: tuple[str, ...] = ()
    triggers: tuple[str, ...] = ()
    """Words near the value that select this attribute (e.g. 'born' for birth_date)."""


class Schema(_Strict):
    entity_types: tuple[EntityType, ...]
    relation_types: tuple[RelationType, ...]
    attribute_types: tuple[AttributeType, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Schema:
        names = [t.name for t in self.entity_types]
        if OTHER not in names:
            raise ValueError(f"entity_types must include {OTHER!r} (the type of untyped mentions)")
        for kind, items in (("entity", self.entity_types), ("relation", self.relation_types),
                            ("attribute", self.attribute_types)):
            seen = [t.name for t in items]
            dupes = sorted({n for n in seen if seen.count(n) > 1})
            if dupes:
                raise ValueError(f"duplicate {kind} type name(s): {', '.join(dupes)}")
        for rel in self.relation_types:
            unknown = [t for t in (*rel.head, *rel.tail) if t not in names]
            if unknown:
                raise ValueError(f"relation {rel.name!r} refers to unknown entity type(s): {', '.join(unknown)}")
        return self

    def extraction_key(self) -> str:
        """A short hash of what NLP extraction reads (entity and attribute types); changes re-extract."""
        return _digest([t.model_dump(mode="json") for t in (*self.entity_types, *self.attribute_types)])

    def relation_key(self) -> str:
        """A short hash of the relation types; changes re-type relation phrases."""
        return _digest([t.model_dump(mode="json") for t in self.relation_types])

    def typed_relations(self) -> list[RelationType]:
        """Relation types a phrase can be assigned to (all but the catch-all related_to)."""
        return [r for r in self.relation_types if r.name != RELATED]

    def domain_range(self) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
        """Relation type -> (allowed head types, allowed tail types) for types that constrain either."""
        return {r.name: (r.head, r.tail) for r in self.relation_types if r.head or r.tail}

    def entity_type_for_ner(self, label: str) -> str | None:
        for t in self.entity_types:
            if label in t.ner_labels:
                return t.name
        return None

    def entity_type_for_pos(self, tag: str) -> str | None:
        for t in self.entity_types:
            if tag in t.zh_pos:
                return t.name
        return None


def _digest(data: object) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


def load_schema(path: Path | str | None = None) -> Schema:
    """A schema from a YAML/JSON file, or the bundled default general schema."""
    if path is None:
        text, where = (resources.files("banyan.extract") / "default_schema.json").read_text("utf-8"), "default schema"
    else:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"schema file not found: {p}")
        text, where = p.read_text("utf-8"), str(p)
    try:
        if str(where).endswith((".yaml", ".yml")):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:
        raise ConfigError(f"{where}: cannot parse schema ({type(exc).__name__}: {exc})") from exc
    try:
        return Schema.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise ConfigError(f"{where}: invalid schema at {loc or 'top level'}: {first['msg']}") from exc
