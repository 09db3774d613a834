"""The LLM extraction reply: its JSON schema, a lenient parser, and its conversion to graph records.

Parsing is per passage: a reply that is cut off or partly malformed still yields the passages it
got right; the others are reported missing. Conversion applies the schema: an entity or relation
type outside it is never stored (the entity becomes ``other``, the relation ``related_to``) but
counts as evidence for a new type; names the passage does not contain are dropped with their
relations (small models invent names).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from banyan.extract.base import AttributeValue, Extraction, Mention, Triple
from banyan.extract.schema import OTHER, RELATED, Schema
from banyan.text import normalize_name
from banyan.types import Chunk, TypeEvidence

MAX_ENTITIES, MAX_RELATIONS, MAX_ATTRIBUTES, MAX_NEW = 20, 20, 10, 3
"""Per passage; a constrained backend cannot exceed them, which also bounds a rambling small model."""
MAX_NAME, MAX_PHRASE, MAX_VALUE = 120, 80, 100
KINDS = {"entity": "entity", "e": "entity", "relation": "relation", "r": "relation"}
_TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]{2,39}$")
_DISAMBIGUATOR = re.compile(r"\s*\([^)]*\)\s*$")


def _tuple(*items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "prefixItems": list(items), "minItems": len(items), "maxItems": len(items)}


def reply_schema(schema: Schema, n: int) -> dict[str, Any]:
    """The JSON schema of a reply for ``n`` passages (what a constrained backend enforces)."""
    s, i = {"type": "string"}, {"type": "integer"}
    ents = {"enum": [t.name for t in schema.entity_types]}
    rels = {"enum": [t.name for t in schema.relation_types]}
    attrs = {"enum": [t.name for t in schema.attribute_types]} if schema.attribute_types else s
    entry = {
        "type": "object",
        "properties": {
            "e": {"type": "array", "items": _tuple(s, ents), "maxItems": MAX_ENTITIES},
            "r": {"type": "array", "items": _tuple(i, s, rels, i), "maxItems": MAX_RELATIONS},
            "a": {"type": "array", "items": _tuple(i, attrs, s), "maxItems": MAX_ATTRIBUTES},
            "n": {"type": "array", "items": _tuple({"enum": ["entity", "relation"]}, s, s), "maxItems": MAX_NEW},
        },
        "required": ["e", "r", "a"],
    }
    keys = [str(k) for k in range(1, n + 1)]
    return {"type": "object", "properties": {k: entry for k in keys}, "required": keys}


@dataclass(slots=True)
class ParsedReply:
    entries: dict[int, dict[str, Any]] = field(default_factory=dict)
    """passage number (from 1) -> its entry"""
    error: str | None = None
    repaired: bool = False


def _load(text: str) -> tuple[Any, bool]:
    stripped = text.strip()
    if stripped.startswith("```"):  # a fenced reply
        stripped = stripped.strip("`").removeprefix("json").strip()
    try:
        return json.loads(stripped), False
    except json.JSONDecodeError:
        from json_repair import repair_json

        return repair_json(stripped, return_objects=True), True


def parse_reply(text: str, n: int) -> ParsedReply:
    """Entries of the passages ``1..n`` that the reply holds as objects; ``error`` if none is usable."""
    if not text.strip():
        return ParsedReply(error="empty reply")
    data, repaired = _load(text)
    if isinstance(data, list) and len(data) == n and all(isinstance(d, dict) for d in data):
        data = {str(k): d for k, d in enumerate(data, 1)}  # a positional list of entries
    if not isinstance(data, dict):
        return ParsedReply(error="reply is not a JSON object and could not be repaired", repaired=repaired)
    entries = {k: data[str(k)] for k in range(1, n + 1) if isinstance(data.get(str(k)), dict)}
    if not entries:
        return ParsedReply(error="reply has no entry for any passage", repaired=repaired)
    return ParsedReply(entries, None, repaired)


def type_name(value: Any) -> str:
    """A proposed type as a schema type name (snake_case), or '' when it cannot be one."""
    name = re.sub(r"[^a-z0-9]+", "_", str(value).strip().lower()).strip("_")
    return name if _TYPE_NAME.match(name) else ""


def _items(value: Any, keys: tuple[str, ...], limit: int) -> list[list[Any]]:
    """A list of items, each a list (an object item is read by ``keys``); anything else is skipped."""
    if not isinstance(value, list):
        return []
    out = []
    for item in value[:limit]:
        if isinstance(item, dict):
            item = [item.get(k) for k in keys]
        elif isinstance(item, str):
            item = [item]
        if isinstance(item, list) and item:
            out.append(item)
    return out


def _text(value: Any, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else (str(value) if isinstance(value, int | float) else "")


def _index(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _entity_at(by_pos: dict[int, tuple[str, str]], value: Any) -> tuple[str, str] | None:
    i = _index(value)
    return by_pos.get(i) if i is not None else None


def locate(name: str, text: str) -> int:
    """Where ``name`` occurs in ``text`` (case and spacing ignored), or -1."""
    pattern = r"\s+".join(re.escape(w) for w in name.split())
    m = re.search(pattern, text, re.IGNORECASE) if pattern else None
    return m.start() if m else -1


@dataclass(slots=True)
class Converted:
    extraction: Extraction
    evidence: list[TypeEvidence]
    dropped: int = 0
    """items left out: invented names, bad positions, unknown attribute keys"""


def _schema_type(raw: Any, names: set[str]) -> tuple[str | None, str]:
    """(schema type or None, the raw type as a type name)."""
    if isinstance(raw, str) and raw in names:
        return raw, raw
    snake = type_name(raw) if raw is not None else ""
    return (snake if snake in names else None), snake


def to_records(entry: dict[str, Any], chunk: Chunk, title: str, schema: Schema, source: str, *,
               mark_topic: bool = True) -> Converted:
    """One passage's entry as mentions, triples and attributes of ``chunk``, filtered by ``schema``."""
    out = Converted(Extraction(), [])
    entity_names = {t.name for t in schema.entity_types}
    relation_names = {t.name for t in schema.relation_types}
    attribute_names = {t.name for t in schema.attribute_types}
    title_norm = normalize_name(_DISAMBIGUATOR.sub("", title)) if title else ""
    by_pos: dict[int, tuple[str, str]] = {}  # position in e -> (norm, surface)
    seen: dict[str, int] = {}
    for pos, item in enumerate(_items(entry.get("e"), ("name", "type"), MAX_ENTITIES)):
        name = _text(item[0], MAX_NAME)
        norm = normalize_name(name)
        if len(norm) < 2:
            out.dropped += 1
            continue
        kind, snake = _schema_type(item[1] if len(item) > 1 else OTHER, entity_names)
        if kind is None:
            kind = OTHER
            if snake and snake not in entity_names:
                out.evidence.append(TypeEvidence(chunk.id, "entity", snake, "", name))
        at = locate(name, chunk.text)
        if at < 0 and norm != title_norm:
            out.dropped += 1  # not in the passage: invented
            continue
        by_pos[pos] = (norm, name)
        if norm in seen:
            continue
        seen[norm] = len(out.extraction.mentions)
        start = chunk.start + at if at >= 0 else -1
        end = start + len(name) if at >= 0 else -1
        out.extraction.mentions.append(Mention(chunk.id, name, norm, kind, start, end, at < 0, source))
    if mark_topic and not any(m.topic for m in out.extraction.mentions):
        located = [m for m in out.extraction.mentions if m.start >= 0]
        if located:
            first = min(located, key=lambda m: m.start)
            i = out.extraction.mentions.index(first)
            out.extraction.mentions[i] = replace(first, topic=True)
    for item in _items(entry.get("r"), ("head", "phrase", "type", "tail"), MAX_RELATIONS):
        if len(item) == 3:  # [head, phrase, tail]: untyped
            item = [item[0], item[1], None, item[2]]
        h = _entity_at(by_pos, item[0]) if len(item) == 4 else None
        t = _entity_at(by_pos, item[3]) if len(item) == 4 else None
        if h is None or t is None or h[0] == t[0]:
            out.dropped += 1
            continue
        phrase = _text(item[1], MAX_PHRASE)
        kind, snake = _schema_type(item[2], relation_names)
        if kind is None:
            kind = RELATED
            if snake and snake not in relation_names:
                out.evidence.append(TypeEvidence(chunk.id, "relation", snake, "", f"{h[1]} {phrase or snake} {t[1]}"))
        phrase = phrase or kind.replace("_", " ")
        out.extraction.triples.append(Triple(chunk.id, h[0], phrase, t[0], kind, source))
    for item in _items(entry.get("a"), ("entity", "key", "value"), MAX_ATTRIBUTES):
        if len(item) != 3:
            out.dropped += 1
            continue
        owner = _entity_at(by_pos, item[0])
        key, _ = _schema_type(item[1], attribute_names)
        value = _text(item[2], MAX_VALUE)
        if owner is None or key is None or not value:
            out.dropped += 1
            continue
        out.extraction.attributes.append(AttributeValue(chunk.id, owner[0], key, value, source))
    known = entity_names | relation_names  # a name the schema uses for either kind is never proposed
    for item in _items(entry.get("n"), ("kind", "type", "example"), MAX_NEW):
        kind = KINDS.get(str(item[0]).strip().lower()) if item else None
        name = type_name(item[1]) if len(item) > 1 else ""
        if kind and name and name not in known:
            out.evidence.append(TypeEvidence(chunk.id, kind, name, "", _text(item[2], MAX_NAME) if len(item) > 2 else ""))
    return out
