"""Chinese extraction with jieba part-of-speech tags. No LLM.

Entities are words tagged person (nr), place (ns), organization (nt) or other proper noun (nz),
typed through the schema's ``zh_pos``. Within a clause, the verbs between two entities give
the relation phrase ("设计", "毕业于"); two entities with no verb between them are linked by
co-occurrence. Years and dates (tag t, or numbers followed by 年) are attributes of the clause's
first entity.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from banyan.extract.base import AttributeValue, Extraction, Mention, Triple, normalize_name
from banyan.extract.schema import RELATED, Schema
from banyan.text import pos_tag_zh
from banyan.types import Chunk

_CLAUSE = re.compile(r"[^。！？；，,;!?\n]+")
_DATE = re.compile(r"\d{2,4}年(?:\d{1,2}月(?:\d{1,2}日)?)?")


def extract_chunk_zh(chunk: Chunk, schema: Schema) -> Extraction:
    out = Extraction()
    topic_set = False
    for clause in _CLAUSE.finditer(chunk.text):
        pos = clause.start()
        ents: list[tuple[int, str]] = []  # (index in words, norm)
        words: list[tuple[str, str]] = []
        for word, flag in pos_tag_zh(clause.group()):
            start = pos
            pos += len(word)
            words.append((word, flag))
            kind = schema.entity_type_for_pos(flag)
            if kind is None or len(word) < 2:
                continue
            norm = normalize_name(word)
            topic = not topic_set
            topic_set = True
            out.mentions.append(Mention(chunk.id, word, norm, kind, chunk.start + start, chunk.start + pos, topic))
            ents.append((len(words) - 1, norm))
        for (i, a), (j, b) in itertools.pairwise(ents):
            if a == b:
                continue
            verbs = [w for w, f in words[i + 1 : j] if f[:1] in ("v", "p") or f in ("n", "vn")]
            out.triples.append(Triple(chunk.id, a, "".join(verbs) if verbs else RELATED, b))
        if ents:
            for m in _DATE.finditer(clause.group()):
                out.attributes.append(AttributeValue(chunk.id, ents[0][1], "date", m.group()))
    return out


class JiebaExtractor:
    """The Chinese NLP extractor."""

    name = "jieba-zh-v4"

    def extract(self, chunks: Sequence[Chunk], schema: Schema) -> Extraction:
        out = Extraction()
        for chunk in chunks:
            out.extend(extract_chunk_zh(chunk, schema))
        return out
