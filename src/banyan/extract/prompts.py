"""Prompts for LLM graph extraction, in English and Chinese: short enough for small models.

One call carries several numbered passages; the schema and the instructions are sent once per
call. The reply is compact: entities as ``[name, type]`` pairs, relations and attributes refer to
entities by their position in the passage's entity list instead of repeating names. Changing
any text here changes ``PROMPT_VERSION`` (it is part of the extraction key: chunks re-extract).
"""

from __future__ import annotations

from collections.abc import Sequence

from banyan.extract.schema import Schema

PROMPT_VERSION = "p1"
DESCRIPTION_WORDS = 7
"""Type descriptions are cut to this many words: enough to tell 'work' from 'product'."""

_FORMAT = '{"1":{"e":[[name,type]],"r":[[head,phrase,type,tail]],"a":[[entity,key,value]],"n":[[kind,type,example]]}}'

_EN = """Extract a knowledge graph from each numbered passage.
Entity types: {entities}.
Relation types: {relations}.
Attribute keys: {attributes}.
Reply with JSON only, one key per passage: {format}
e: named entities, names as written. r: relations; head, tail and entity are positions in that \
passage's e list, from 0; phrase: the relation's words in the passage. a: dates and numbers. Use \
only these types; if an important entity or relation type is missing, add it to n (kind: entity \
or relation; type in snake_case; an example from the passage)."""

_ZH = """从每段编号文本中抽取知识图谱。
实体类型：{entities}。
关系类型：{relations}。
属性：{attributes}。
只回复JSON，每段一个键：{format}
e：命名实体，名称照原文写。r：关系；head、tail和entity是该段e列表中的位置（从0开始）；phrase取自原文。\
a：日期和数字。只用上述类型；若缺少重要的实体或关系类型，写入n（kind为entity或relation，type用英文snake_case，\
example取自原文）。"""

_REASK = {
    "en": "That reply was not usable ({error}). Reply again with only the JSON, in the format asked.",
    "zh": "上面的回复无法使用（{error}）。请只按要求的格式重新回复JSON。",
}
_GLEAN = {
    "en": "Some entities or relations were missed. Reply with only the missing ones, in the same format.",
    "zh": "有些实体或关系遗漏了。请只回复遗漏的部分，格式相同。",
}


def short(description: str, words: int = DESCRIPTION_WORDS) -> str:
    """The first ``words`` words of a type description (a CJK description is cut by characters)."""
    parts = description.split()
    if len(parts) == 1 and len(description) > words * 3:
        return description[: words * 3]
    return " ".join(parts[:words])


def schema_text(schema: Schema) -> dict[str, str]:
    """The schema as three short lines: entity types with a hint, relation types and attribute keys by name."""
    return {
        "entities": "; ".join(f"{t.name} ({short(t.description)})" for t in schema.entity_types),
        "relations": ", ".join(r.name for r in schema.relation_types),
        "attributes": ", ".join(a.name for a in schema.attribute_types) or "-",
    }


def system_prompt(schema: Schema, lang: str) -> str:
    template = _ZH if lang == "zh" else _EN
    return template.format(format=_FORMAT, **schema_text(schema))


def passages_text(passages: Sequence[tuple[str, str]], lang: str) -> str:
    """``[i] title: text`` lines, numbered from 1 (the title tells the model what a passage is about)."""
    sep = "：" if lang == "zh" else ": "
    return "\n".join(f"[{i}] {title}{sep}{text}" if title else f"[{i}] {text}"
                     for i, (title, text) in enumerate(passages, 1))


def reask_text(error: str, lang: str) -> str:
    return _REASK["zh" if lang == "zh" else "en"].format(error=error[:200])


def gleaning_text(lang: str) -> str:
    return _GLEAN["zh" if lang == "zh" else "en"]
