"""LLM extraction, pure parts: prompts, batching, reply parsing, schema filtering, proposals, hybrid policy.

``scripted_reply`` is the scripted LLM the integration tests (test_llm_extract_index.py) serve
from the fake OpenAI server: it reads the numbered passages of a request and answers in the
extraction format, with types inside and outside the schema.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from banyan.errors import ConfigError, LLMTransientError
from banyan.extract.base import Extraction, Mention, Triple
from banyan.extract.llm import LLMExtractConfig, LLMExtractor, LLMPassage, merge_extractions, needs_llm, pack
from banyan.extract.llm_proposals import describe, due_for_auto_accept, extend_schema, find, listed
from banyan.extract.llm_reply import locate, parse_reply, reply_schema, to_records, type_name
from banyan.extract.prompts import passages_text, system_prompt
from banyan.extract.schema import OTHER, RELATED, load_schema
from banyan.text import count_tokens
from banyan.types import Chunk, TypeProposal

SCHEMA = load_schema()
_PASSAGE = re.compile(r"(?m)^\[(\d+)\] ")
_NAME = re.compile(r"[A-Z][a-z]+(?:(?: of| &)? [A-Z][a-z]+)*")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")


def passages_of(request: dict[str, Any]) -> list[tuple[str, str]]:
    """(title, text) of each numbered passage in an extraction request."""
    user = next(m["content"] for m in request["messages"] if m["role"] == "user")
    parts = _PASSAGE.split(user)[1:]
    out = []
    for _, body in zip(parts[::2], parts[1::2], strict=True):
        title, _, text = body.partition("：" if "：" in body.split("\n")[0] else ": ")
        out.append((title, text.strip()))
    return out


def scripted_entry(title: str, text: str) -> dict[str, Any]:
    """Grounded entities (Title-Case runs; the title for Chinese), typed in and outside the schema."""
    names = list(dict.fromkeys(n for n in _NAME.findall(text) if len(n) > 3))[:5]
    if not names and title and title in text:
        names = [title]
    kinds = ["person", "organization", "location", "vehicle", "work"]
    e = [[n, kinds[i]] for i, n in enumerate(names)]
    r = []
    if len(e) >= 2:
        r.append([0, "works with", "member_of", 1])
    if len(e) >= 3:
        r.append([1, "based in", "located_in", 2])
        r.append([0, "sponsors", "sponsored_by", 2])
    a = [[0, "date", m.group()] for m in _YEAR.finditer(text)][:1] if e else []
    n = [["entity", "bridge", names[0]]] if e and "Bridge" in text else []
    return {"e": e, "r": r, "a": a, "n": n}


def scripted_reply(request: dict[str, Any]) -> dict[str, Any]:
    """A fake-server step answering an extraction request (or 'ok' for anything else)."""
    found = passages_of(request)
    if not found:
        return {"content": "ok"}
    return {"content": json.dumps({str(i): scripted_entry(t, x) for i, (t, x) in enumerate(found, 1)})}


def _chunk(text: str, cid: str = "c1", lang: str = "en", start: int = 0) -> Chunk:
    return Chunk(cid, "d1", 0, text, start, start + len(text), lang, count_tokens(text))


class ScriptedChat:
    """A JsonChat answering from a list of replies (str, or an exception to raise)."""

    def __init__(self, replies: list[Any], constrained: bool = False) -> None:
        self.replies, self.constrained, self.model, self.calls = list(replies), constrained, "scripted", []

    def chat(self, messages, json_schema, max_tokens):  # type: ignore[no-untyped-def]
        self.calls.append((list(messages), json_schema, max_tokens))
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


# -- prompt and batching ---------------------------------------------------------------------------
def _passages(n: int, words: int = 85) -> list[LLMPassage]:
    body = " ".join(f"Word{i % 7} of the Kingdom of Lotharingia" for i in range(words // 6))
    return [LLMPassage(_chunk(f"Passage {k} says {body}.", f"c{k}"), f"Title {k}") for k in range(n)]


def test_prompt_lists_the_schema_once_and_stays_cheap():
    text = system_prompt(SCHEMA, "en")
    assert all(t.name in text for t in (*SCHEMA.entity_types, *SCHEMA.relation_types, *SCHEMA.attribute_types))
    zh = system_prompt(SCHEMA, "zh")
    assert "知识图谱" in zh and "person" in zh
    assert passages_text([("Teutberga", "She was a queen."), ("", "No title.")], "en") == \
        "[1] Teutberga: She was a queen.\n[2] No title."
    assert passages_text([("青石桥", "青石桥是石拱桥。")], "zh") == "[1] 青石桥：青石桥是石拱桥。"
    # prompt tokens per corpus token for 2Wiki-sized passages: well under the target of 3
    passages = _passages(30)
    ex = LLMExtractor(ScriptedChat([]))
    batches = ex.batches(passages)
    assert 1 < len(batches) < 30  # several chunks per call
    prompt = sum(count_tokens(text) + count_tokens(passages_text([(p.title, p.chunk.text) for p in b], "en"))
                 for b in batches)
    corpus = sum(p.tokens for p in passages)
    assert prompt / corpus < 2.0


def test_pack_respects_tokens_chunks_and_language():
    ps = _passages(10)
    per = ps[0].tokens
    assert [len(b) for b in pack(ps, per * 3, 8)] == [3, 3, 3, 1]
    assert [len(b) for b in pack(ps, per * 100, 4)] == [4, 4, 2]
    zh = LLMPassage(_chunk("青石桥是临江市的一座石拱桥。", "z", "zh"))
    assert [len(b) for b in pack([ps[0], zh, ps[1]], 10_000, 8)] == [1, 1, 1]
    big = LLMPassage(_chunk("word " * 2000, "big"))
    assert [len(b) for b in pack([ps[0], big, ps[1]], per * 3, 8)] == [1, 1, 1]
    cfg = LLMExtractConfig(batch_chunks=8, output_tokens_per_chunk=160, max_output_tokens=1024)
    assert cfg.chunks_per_call == 6 and cfg.reply_tokens(6) <= 1024 and cfg.reply_tokens(1) == 48 + 160


def test_reply_schema_constrains_types_and_passages():
    js = reply_schema(SCHEMA, 2)
    assert js["required"] == ["1", "2"]
    entry = js["properties"]["1"]["properties"]
    assert "person" in entry["e"]["items"]["prefixItems"][1]["enum"]
    assert "born_in" in entry["r"]["items"]["prefixItems"][2]["enum"]
    assert entry["e"]["maxItems"] >= 10


# -- parsing -----------------------------------------------------------------------------------------
def test_parse_reply_is_lenient_per_passage():
    ok = parse_reply('{"1": {"e": []}, "2": {"e": [["A", "person"]]}}', 2)
    assert set(ok.entries) == {1, 2} and ok.error is None and not ok.repaired
    fenced = parse_reply('```json\n{"1": {"e": []}}\n```', 1)
    assert set(fenced.entries) == {1}
    cut = parse_reply('{"1": {"e": [["Ada", "person"]], "r": []}, "2": {"e": [["Bo', 3)  # cut off
    assert 1 in cut.entries and 3 not in cut.entries and cut.repaired
    assert parse_reply("I cannot help with that.", 2).error
    assert parse_reply("", 1).error == "empty reply"
    assert set(parse_reply('[{"e": []}, {"e": []}]', 2).entries) == {1, 2}


# -- schema filtering ------------------------------------------------------------------------------
TEXT = "Ada Whitcombe designed the Lumen Bridge in Eastport in 1931."


def test_types_outside_the_schema_are_never_stored_but_proposed():
    entry = {
        "e": [["Ada Whitcombe", "Person"], ["Lumen Bridge", "bridge"], ["Eastport", "location"],
              ["Nowhere Land", "location"], ["x", "person"]],
        "r": [[0, "designed", "designed", 1], [1, "in", "located_in", 2], [0, "lives in", "located_in", 3],
              [0, "bad", "born_in", 9], [0, "self", "related_to", 0], ["1", "", "located_in", "2"]],
        "a": [[1, "release_date", "1931"], [1, "color", "grey"], [7, "date", "1931"]],
        "n": [["entity", "Bridge", "Lumen Bridge"], ["relation", "person", "?"], ["relation", "located in", "x"],
              ["thing", "vehicle", "car"], ["entity", "!!", "?"]],
    }
    conv = to_records(entry, _chunk(TEXT, start=100), "", SCHEMA, "llm:m")
    ms = {m.norm: m for m in conv.extraction.mentions}
    assert set(ms) == {"ada whitcombe", "lumen bridge", "eastport"}  # invented and too-short names dropped
    assert ms["ada whitcombe"].type == "person" and ms["lumen bridge"].type == OTHER
    assert ms["ada whitcombe"].topic and ms["ada whitcombe"].start == 100 and ms["eastport"].source == "llm:m"
    assert TEXT[ms["eastport"].start - 100 : ms["eastport"].end - 100] == "Eastport"
    triples = {(t.head, t.phrase, t.tail, t.type) for t in conv.extraction.triples}
    assert triples == {("ada whitcombe", "designed", "lumen bridge", RELATED),
                       ("lumen bridge", "in", "eastport", "located_in"),
                       ("lumen bridge", "located in", "eastport", "located_in")}
    assert {(a.entity, a.key, a.value) for a in conv.extraction.attributes} == {("lumen bridge", "release_date", "1931")}
    assert {(e.kind, e.name) for e in conv.evidence} == {("entity", "bridge"), ("relation", "designed")}
    assert all(e.chunk_id == "c1" for e in conv.evidence)
    assert conv.dropped >= 6
    schema_types = {t.name for t in (*SCHEMA.entity_types, *SCHEMA.relation_types)}
    assert not {m.type for m in conv.extraction.mentions} - schema_types
    assert not {t.type for t in conv.extraction.triples} - schema_types


def test_title_names_a_passage_without_occurring_in_it():
    conv = to_records({"e": [["Theodred II", "person"], ["Elmham", "location"]], "r": [], "a": []},
                      _chunk("He was bishop of Elmham."), "Theodred II (Bishop of Elmham)", SCHEMA, "llm:m")
    title, place = conv.extraction.mentions
    assert (title.start, title.topic) == (-1, True) and place.start >= 0 and not place.topic
    assert locate("lumen  bridge", TEXT) == TEXT.index("Lumen Bridge") and locate("Nowhere", TEXT) == -1
    assert type_name("Sports Team") == "sports_team" and type_name("9lives") == "" and type_name("") == ""


# -- one call: outcomes, repair, re-ask, failure ---------------------------------------------------
GOOD = json.dumps({"1": {"e": [["Ada Whitcombe", "person"], ["Eastport", "location"]], "r": [[0, "in", "located_in", 1]],
                         "a": []}, "2": {"e": [["Grey River", "location"]], "r": [], "a": []}})


def _two() -> list[LLMPassage]:
    return [LLMPassage(_chunk(TEXT, "c1")), LLMPassage(_chunk("The Grey River flows.", "c2"))]


def test_extract_batch_repairs_reasks_and_fails_per_chunk():
    chat = ScriptedChat([GOOD])
    out = LLMExtractor(chat).extract_batch(_two(), SCHEMA)
    assert [o.ok for o in out] == [True, True] and len(chat.calls) == 1
    assert chat.calls[0][1]["required"] == ["1", "2"] and chat.calls[0][2] == 48 + 2 * 160
    assert out[0].extraction.triples[0].source == "llm:scripted"

    chat = ScriptedChat(["Sure! Here are the entities.", GOOD])  # unusable, then a corrective re-ask
    out = LLMExtractor(chat).extract_batch(_two(), SCHEMA)
    assert all(o.ok for o in out) and len(chat.calls) == 2
    assert chat.calls[1][0][2] == ("assistant", "Sure! Here are the entities.") and "not usable" in chat.calls[1][0][3][1]

    chat = ScriptedChat(["nope", "still nope"])
    out = LLMExtractor(chat).extract_batch(_two(), SCHEMA)
    assert not any(o.ok for o in out) and all("no entry" in o.error or "not a JSON" in o.error for o in out)

    chat = ScriptedChat(["nope"], constrained=True)  # a grammar-constrained backend: no re-ask
    assert not any(o.ok for o in LLMExtractor(chat).extract_batch(_two(), SCHEMA)) and len(chat.calls) == 1

    chat = ScriptedChat([json.dumps({"1": json.loads(GOOD)["1"]})])  # passage 2 missing: only it fails
    out = LLMExtractor(chat).extract_batch(_two(), SCHEMA)
    assert out[0].ok and not out[1].ok and "no entry for passage 2" in out[1].error

    chat = ScriptedChat([LLMTransientError("server error (500)")])
    out = LLMExtractor(chat).extract_batch(_two(), SCHEMA)
    assert not any(o.ok for o in out) and "500" in out[0].error


def test_gleaning_is_off_by_default_and_adds_missed_facts():
    more = json.dumps({"1": {"e": [["Lumen Bridge", "work"]], "r": [], "a": []}})
    chat = ScriptedChat([GOOD, more])
    out = LLMExtractor(chat, LLMExtractConfig(gleaning=1)).extract_batch(_two(), SCHEMA)
    assert len(chat.calls) == 2 and {m.norm for m in out[0].extraction.mentions} == \
        {"ada whitcombe", "eastport", "lumen bridge"}
    assert LLMExtractConfig().gleaning == 0
    assert len(LLMExtractor(ScriptedChat([GOOD])).extract([c.chunk for c in _two()], SCHEMA).mentions) == 3


# -- merging and the hybrid policy -----------------------------------------------------------------
def _m(norm: str, kind: str = OTHER, start: int = 0) -> Mention:
    return Mention("c1", norm.title(), norm, kind, start, start + len(norm))


def test_merge_types_nlp_names_and_keeps_facts_once():
    nlp = Extraction([_m("ada whitcombe"), _m("eastport", "location")], [Triple("c1", "ada whitcombe", "in", "eastport")])
    llm = Extraction([_m("ada whitcombe", "person"), _m("grey river", "location")],
                     [Triple("c1", "ada whitcombe", "in", "eastport"), Triple("c1", "eastport", "on", "grey river")])
    out = merge_extractions(nlp, llm)
    assert [(m.norm, m.type) for m in out.mentions] == [("ada whitcombe", "person"), ("eastport", "location"),
                                                        ("grey river", "location")]
    assert len(out.triples) == 2


def test_hybrid_policy_sends_only_chunks_with_unlinked_entities():
    linked = Extraction([_m("a b"), _m("c d")], [Triple("c1", "a b", "founded", "c d")])
    unlinked = Extraction([_m("a b"), _m("c d"), _m("e f")], [Triple("c1", "a b", RELATED, "c d")])
    title_only = Extraction([_m("a b", start=-1), _m("c d")], [])
    assert not needs_llm(linked, 2) and needs_llm(unlinked, 2) and not needs_llm(title_only, 2)
    assert not needs_llm(unlinked, 4) and needs_llm(Extraction([_m("a b"), _m("c d")], []), 1)


# -- proposals ---------------------------------------------------------------------------------------
def test_proposal_thresholds_and_the_extended_schema():
    props = [TypeProposal("entity", "ship", "", 5, ("HMS Victory",)), TypeProposal("relation", "sponsored_by", "", 2),
             TypeProposal("entity", "bridge", "a bridge", 9, (), "rejected"),
             TypeProposal("entity", "dog", "", 4, (), "accepted")]
    assert [p.name for p in listed(props, 3)] == ["ship"]
    assert len(listed(props, 3, include_all=True)) == 4
    assert [p.name for p in due_for_auto_accept(props, 5)] == ["ship"] and not due_for_auto_accept(props, 0)
    assert describe(props[0]) == "ship, e.g. HMS Victory"
    extended = extend_schema(SCHEMA, [props[3], props[1]])
    assert "dog" in {t.name for t in extended.entity_types} and "dog" not in {t.name for t in SCHEMA.entity_types}
    assert "sponsored_by" not in {t.name for t in extended.relation_types}  # not accepted
    assert extended.extraction_key() != SCHEMA.extraction_key()
    assert extend_schema(extended, [props[3]]) == extended and extend_schema(SCHEMA, []) is SCHEMA
    with pytest.raises(ConfigError, match="no proposed type 'cat'"):
        find(props, "cat")
    with pytest.raises(ConfigError, match="unknown kind"):
        find(props, "ship", "thing")
    assert find(props, "ship", "entity").n_chunks == 5
