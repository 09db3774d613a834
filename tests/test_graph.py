"""Schema, extraction, resolution, PPR and provenance of the knowledge graph (no LLM)."""

import itertools
import json

import numpy as np
import pytest
import scipy.sparse as sp
from typer.testing import CliRunner

from banyan import Banyan
from banyan.cli import app
from banyan.errors import ConfigError
from banyan.extract import english
from banyan.extract.base import Mention, normalize_name
from banyan.extract.chinese import extract_chunk_zh
from banyan.extract.english import SpacyExtractor
from banyan.extract.schema import OTHER, load_schema
from banyan.graph import resolve as resolution
from banyan.graph.ppr import bounded_paths, personalized_pagerank, transition
from banyan.graph.resolve import resolve
from banyan.types import Chunk
from conftest import HASH

SCHEMA = load_schema()


def _chunk(text: str, cid: str = "c1") -> Chunk:
    return Chunk(cid, "d1", 0, text, 0, len(text), "en", 10)


# -- schema -------------------------------------------------------------------------------------
def test_default_schema_and_validation(tmp_path):
    assert {"person", "location", "other"} <= {t.name for t in SCHEMA.entity_types}
    assert SCHEMA.entity_type_for_ner("PERSON") == "person"
    bad = {"entity_types": [{"name": "person", "description": "p"}, {"name": "other", "description": "o"}],
           "relation_types": [{"name": "born_in", "description": "b", "tail": ["place"]}]}
    (tmp_path / "s.json").write_text(json.dumps(bad))
    with pytest.raises(ConfigError, match="unknown entity type.*place"):
        load_schema(tmp_path / "s.json")
    (tmp_path / "s.yaml").write_text("entity_types:\n  - {name: person, description: p}\nrelation_types: []\n")
    with pytest.raises(ConfigError, match="other"):
        load_schema(tmp_path / "s.yaml")
    with pytest.raises(ConfigError, match="not found"):
        load_schema(tmp_path / "missing.yaml")


def test_normalize_name():
    assert normalize_name("The Lothair II's") == "lothair ii"
    assert normalize_name("Lothair Ii") == normalize_name("Lothair II")
    assert normalize_name("St. Maurice") == "st maurice"


# -- English extraction ------------------------------------------------------------------------
def _extract(text: str):
    return SpacyExtractor(n_process=1).extract([_chunk(text)], SCHEMA)


def test_english_entities_relations_and_topic():
    ex = _extract("Ada Whitcombe designed the Lumen Bridge in Eastport. She was born in Kelby in 1894.")
    norms = {m.norm: m for m in ex.mentions}
    assert {"ada whitcombe", "lumen bridge", "eastport", "kelby"} <= set(norms)
    assert norms["ada whitcombe"].topic and norms["ada whitcombe"].type == "person"
    triples = {(t.head, t.phrase, t.tail) for t in ex.triples}
    assert ("ada whitcombe", "designed", "lumen bridge") in triples
    assert ("ada whitcombe", "born in", "kelby") in triples  # "She" stands for the topic entity
    assert any(a.entity == "ada whitcombe" and a.key == "birth_date" and a.value == "1894" for a in ex.attributes)


def test_a_first_or_last_name_stands_for_the_one_person_the_chunk_named_in_full():
    ex = _extract("Zofia Novak is fluent in Georgian and Polish. Her manager is now Lena Brandt. "
                  "Zofia told us she was born in Tbilisi.")
    [zofia] = [m for m in ex.mentions if m.surface == "Zofia"]
    assert zofia.norm == "zofia novak"  # the surface stays what the text says
    assert ("zofia novak", "born in", "tbilisi") in {(t.head, t.phrase, t.tail) for t in ex.triples}
    short: dict[str, str | None] = {}
    for full in ("ann lee", "ann baker"):
        english.remember_full_name(full, "person", short, "person")
    assert english.shortened("ann", "person", short, "person") == "ann"  # two Anns: neither
    assert english.shortened("baker", OTHER, short, "person") == "ann baker"
    assert english.shortened("baker", "organization", short, "person") == "baker"  # another type
    assert english.shortened("baker", "person", short, None) == "baker"  # a schema without persons
    group = resolution.group_mentions([_m("ann baker", surface="Baker"), _m("ann baker", surface="Baker"),
                                       _m("ann baker", surface="Ann Baker")])
    assert group["ann baker"].name == "Ann Baker"  # shown by the surface that spells it whole


def test_a_personal_pronoun_stands_for_the_person_named_last_where_the_topic_is_no_person():
    ex = _extract("Desk on the third floor by the window. Zofia Novak is fluent in Polish. "
                  "Her manager is now Lena Brandt. Zofia told us she was born in Tbilisi.")
    triples = {(t.head, t.phrase, t.tail) for t in ex.triples}
    assert ("zofia novak", "manager", "lena brandt") in triples  # no topic: "Her" is the person named last
    assert ("zofia novak", "born in", "tbilisi") in triples  # "she": Zofia, named before it in its sentence
    ex = _extract("The Lumen Bridge is a steel bridge in Eastport. It was designed by Ada Whitcombe. "
                  "She studied at the Northfield Institute.")
    assert ("ada whitcombe", "studied at", "northfield institute") in {(t.head, t.phrase, t.tail) for t in ex.triples}
    ex = _extract("The Lumen Bridge is a steel bridge in Eastport. It was designed by Ada Whitcombe. Her father "
                  "Tom Whitcombe was a smith. She studied at the Northfield Institute.")
    heads = {t.head for t in ex.triples if t.tail == "northfield institute"}
    assert not heads & {"tom whitcombe", "ada whitcombe"}  # two people named before: "She" is not guessed
    assert english.referent("she", ("frank lloyd", "person"), "mary smith", "person") == "frank lloyd"
    assert english.referent("she", ("lothair ii", OTHER), "lothair i", "person") == "lothair ii"  # untyped topic
    assert english.referent("it", ("lumen bridge", "location"), "ada whitcombe", "person") == "lumen bridge"
    assert english.referent("they", None, "ada whitcombe", "person") is None
    assert english.referent("she", ("lumen bridge", "location"), None, "person") is None  # no bridge studies
    ex = _extract("# Re: launch dates\n\nHi Omar,\n\nThanks for the update. Marta Kowalski joined the design team in "
                  "March. She was born in Gdansk. Her manager is Daniel Okafor.")  # two people: the last subject
    triples = {(t.head, t.phrase, t.tail) for t in ex.triples}
    assert {("marta kowalski", "born in", "gdansk"), ("marta kowalski", "manager", "daniel okafor")} <= triples


def test_english_copula_apposition_and_quoted_titles():
    ex = _extract('Teutberga was a queen of Lotharingia. Hucbert, the abbot of Agaune, was her brother. '
                  '"Changed It" is a song by Nicki Minaj.')
    triples = {(t.head, t.phrase, t.tail) for t in ex.triples}
    assert ("teutberga", "queen of", "lotharingia") in triples
    assert ("hucbert", "abbot of", "agaune") in triples
    assert "changed it" in {m.norm for m in ex.mentions}


def test_mentions_do_not_cross_line_breaks_and_offsets_are_exact():
    text = "# Thomas Harrow\n\nThomas Harrow was born in Kelby."
    ex = _extract(text)
    assert "thomas harrow thomas harrow" not in {m.norm for m in ex.mentions}
    for m in ex.mentions:
        assert text[m.start:m.end] == m.surface


# -- Chinese extraction ------------------------------------------------------------------------
def test_chinese_entities_relations_and_dates():
    text = "林文远1945年毕业于同济大学。青石桥位于临江市。"
    ex = extract_chunk_zh(Chunk("c", "d", 0, text, 0, len(text), "zh", 20), SCHEMA)
    types = {m.norm: m.type for m in ex.mentions}
    assert types.get("林文远") == "person" and types.get("同济大学") == "organization"
    assert types.get("临江市") == "location"
    assert any(t.head == "林文远" and t.tail == "同济大学" and "毕业" in t.phrase for t in ex.triples)
    assert any(a.entity == "林文远" and a.value == "1945年" for a in ex.attributes)
    for m in ex.mentions:
        assert text[m.start:m.end] == m.surface


# -- resolution --------------------------------------------------------------------------------
def _m(norm, kind="person", chunk="c1", surface=None, topic=False, start=0):
    return Mention(chunk, surface or norm.title(), norm, kind, start, start + len(norm), topic)


def _fake_embed(same: set[frozenset[str]]):
    """Names in one group get identical vectors (cosine 1); all others are orthogonal."""
    slots: dict[str, int] = {}

    def embed(names):
        vecs = np.zeros((len(names), 256), np.float32)
        for i, n in enumerate(names):
            key = n.lower()
            group = next((min(g) for g in same if key in g), key)
            vecs[i, slots.setdefault(group, len(slots))] = 1.0
        return vecs
    return embed


def test_resolution_rules():
    mentions = [_m("lothair ii", surface="Lothair II"), _m("lothair ii", surface="Lothair Ii", chunk="c2"),
                _m("lothair i", surface="Lothair I", chunk="c3"),
                _m("bbc", "organization", surface="BBC"), _m("british broadcasting corporation", "organization"),
                _m("jose marti"), _m("josé martí", chunk="c4"),
                _m("paris", "location"), _m("paris hilton", "person"),
                _m("ray charles", chunk="c5"), _m("charles ray", chunk="c6")]
    embed = _fake_embed({frozenset({"lothair i", "lothair ii"}), frozenset({"paris", "paris hilton"}),
                         frozenset({"ray charles", "charles ray"})})
    entities, merges = resolve(mentions, embed, threshold=0.9)
    by_norm = {n: e for e in entities for n in e.aliases}
    assert by_norm["lothair ii"].n_chunks == 2  # case variants are one entity
    assert by_norm["lothair i"] is not by_norm["lothair ii"]  # numerals differ: never merged
    assert by_norm["bbc"] is by_norm["british broadcasting corporation"]
    assert by_norm["jose marti"] is by_norm["josé martí"]
    assert by_norm["paris"] is not by_norm["paris hilton"]  # location vs person: no cross-type merge
    assert by_norm["ray charles"] is not by_norm["charles ray"]  # same words, other order
    rules = {m.member: m.rule for m in merges}
    assert set(rules.values()) <= {"acronym", "accent", "embedding", "title"}
    assert {"bbc", "josé martí"} & set(rules) or {"british broadcasting corporation", "jose marti"} & set(rules)


def test_embedding_merge_and_keep_apart_and_title_alias():
    mentions = [_m("frank lloyd", chunk="c1"), _m("frank w lloyd", chunk="c2"),
                _m("frank william george lloyd", chunk="d1", topic=True),
                Mention("d1", "Frank Lloyd", "frank lloyd", "person", -1, -1, True),
                _m("richard", chunk="d2", topic=True), Mention("d2", "Richard Filangieri", "richard filangieri",
                                                                "person", -1, -1, True)]
    embed = _fake_embed({frozenset({"frank lloyd", "frank w lloyd"})})
    entities, merges = resolve(mentions, embed, threshold=0.9)
    by_norm = {n: e for e in entities for n in e.aliases}
    assert by_norm["frank lloyd"] is by_norm["frank w lloyd"] is by_norm["frank william george lloyd"]
    assert {m.rule for m in merges} == {"embedding", "title"}
    assert by_norm["richard"] is not by_norm["richard filangieri"]  # one-word topic under a longer title
    apart, _ = resolve(mentions, embed, threshold=0.9, keep_apart={("frank lloyd", "frank w lloyd")})
    by_norm = {n: e for e in apart for n in e.aliases}
    assert by_norm["frank lloyd"] is not by_norm["frank w lloyd"]


def test_a_title_is_an_alias_only_where_it_can_name_the_topic():
    mentions = [_m("priya raman", "person", chunk="n1", topic=True),  # a note about Priya under a dated title
                Mention("n1", "Stand-up 3 December", "stand up 3 december", "person", -1, -1, True),
                _m("samuel langhorne clemens", "person", chunk="w1", topic=True),  # a pen name the text names
                Mention("w1", "Mark Twain", "mark twain", "person", -1, -1, True), _m("mark twain", chunk="w2"),
                _m("bahrām beyzāie", "person", chunk="w3", topic=True),  # accents aside, they share a word
                Mention("w3", "Bahram Beyzai", "bahram beyzai", "person", -1, -1, True),
                _m("广东", "location", chunk="z1", topic=True),  # Chinese: a shared prefix is not a shared word
                Mention("z1", "广东广播电视台", "广东广播电视台", "location", -1, -1, True),
                _m("mateo silva", chunk="s1", topic=True), _m("yusuf karim", chunk="s2", topic=True),
                Mention("s1", "Weekly sync", "weekly sync", "person", -1, -1, True),  # one title over two people
                Mention("s2", "Weekly sync", "weekly sync", "person", -1, -1, True), _m("weekly sync", OTHER, "s1"),
                _m("lothair ii", chunk="l1", topic=True),  # a shared numeral is no shared word
                Mention("l1", "Louis II", "louis ii", "person", -1, -1, True),
                _m("ana lima", chunk="p1", topic=True),  # the text names the title, but as an organization
                Mention("p1", "Project Atlas", "project atlas", "person", -1, -1, True),
                _m("project atlas", "organization", "p2")]
    entities, merges = resolve(mentions, None)
    by_norm = {n: e for e in entities for n in e.aliases}
    assert by_norm["stand up 3 december"] is not by_norm["priya raman"]
    assert by_norm["stand up 3 december"].type == OTHER and by_norm["priya raman"].type == "person"
    assert by_norm["mark twain"] is by_norm["samuel langhorne clemens"]
    assert by_norm["bahram beyzai"] is by_norm["bahrām beyzāie"]
    assert by_norm["广东广播电视台"] is not by_norm["广东"]
    assert len({by_norm["weekly sync"].id, by_norm["mateo silva"].id, by_norm["yusuf karim"].id}) == 3
    assert by_norm["louis ii"] is not by_norm["lothair ii"]
    assert by_norm["project atlas"] is not by_norm["ana lima"] and by_norm["project atlas"].type == "organization"
    assert {m.rule for m in merges} == {"title"}


def test_embedding_pairs_are_every_eligible_pair_sharing_a_word_in_name_order(monkeypatch):
    names = {"lothair ii": OTHER, "lothair i": OTHER, "king lothair ii": "person", "lothair": "location",
             "louis ii": OTHER, "ray charles": OTHER, "charles ray": OTHER, "ray charles band": OTHER, "paris": OTHER,
             "bank of england": "organization", "duke of england": "person", "duke of york": "person", "a b": OTHER}
    groups = resolution.group_mentions([_m(n, t) for n, t in names.items()])
    kinds = {n: g.type for n, g in groups.items()}
    content = {n: {w for w in n.split() if len(w) > 1 and w not in {"of", "ii", "i"}} for n in groups}  # no numerals
    plain = sorted((a, b) for a, b in itertools.combinations(sorted(groups), 2)
                   if content[a] & content[b] and resolution.numerals(a) == resolution.numerals(b)
                   and resolution.compatible(kinds[a], kinds[b]) and sorted(a.split()) != sorted(b.split()))
    by_position = sorted(groups)
    assert [(by_position[a], by_position[b]) for a, b in resolution.embedding_pairs(groups, kinds).tolist()] == plain
    assert ("king lothair ii", "lothair ii") in plain and ("lothair ii", "louis ii") not in plain  # "ii" is no word
    assert not any("lothair i" in p and "lothair ii" in p for p in plain)  # numerals differ
    assert ("charles ray", "ray charles") not in plain  # same words, other order
    assert ("bank of england", "duke of england") not in plain  # organization and person
    assert ("duke of england", "duke of york") in plain and ("bank of england", "duke of york") not in plain
    ray = {n: g for n, g in groups.items() if "ray" in n}  # three names share "ray" and "charles": blocks of 3
    assert len(resolution.candidate_pairs(ray, max_block=3)) == 3
    assert len(resolution.candidate_pairs(ray, max_block=2)) == 0  # blocks over max_block pair nothing
    assert resolution.candidate_pairs({}).shape == (0, 2)
    vecs = np.random.default_rng(0).normal(size=(7, 4)).astype(np.float32)
    ia, ib = np.array([0, 1, 2, 6, 3]), np.array([5, 4, 2, 0, 1])
    monkeypatch.setattr(resolution, "SCORE_BLOCK", 2)  # scored two pairs at a time: the same
    assert np.array_equal(resolution.pair_scores(vecs, ia, ib), np.einsum("ij,ij->i", vecs[ia], vecs[ib]))


# -- PPR and paths -----------------------------------------------------------------------------
def test_ppr_two_nodes_closed_form():
    trans = transition(sp.csr_matrix(np.array([[0.0, 1.0], [1.0, 0.0]])))
    r = personalized_pagerank(trans, np.array([1.0, 0.0]), damping=0.5)
    assert r == pytest.approx([1 / 1.5, 0.5 / 1.5], abs=1e-6)


def test_ppr_on_toy_graph_prefers_the_bridge():
    # seed 0 -- 1 -- 2 -- 3, and 0 -- 4 (dead end). Node 1 is the bridge toward 2 and 3.
    edges = [(0, 1), (1, 2), (2, 3), (0, 4)]
    a = np.zeros((5, 5))
    for i, j in edges:
        a[i, j] = a[j, i] = 1.0
    r = personalized_pagerank(transition(sp.csr_matrix(a)), np.array([1.0, 0, 0, 0, 0]), damping=0.6)
    assert r.sum() == pytest.approx(1.0)
    assert r[0] > r[1] > r[2] > r[3] and r[1] > r[4]
    assert bounded_paths([np.array(x) for x in ([1, 4], [0, 2], [1, 3], [2], [0])], [0], {3}, 3) == [[0, 1, 2, 3]]
    assert bounded_paths([np.array(x) for x in ([1, 4], [0, 2], [1, 3], [2], [0])], [0], {3}, 2) == []


# -- the whole graph on the sample corpus --------------------------------------------------------
def test_provenance_round_trip_and_graph_search(tmp_path, sample_dir, store_url):
    import shutil

    corpus = tmp_path / "corpus"
    shutil.copytree(sample_dir, corpus)
    with Banyan(tmp_path / "idx", {**HASH, "store": {"url": store_url}}) as bn:
        bn.index([corpus])
        st = bn.store
        ent = st.find_entity("thomas harrow")
        assert ent.type == "person" and ent.n_chunks >= 2
        n = ent.n_chunks
        prov = st.provenance_of(ent.aliases)
        assert any(p.title == "Thomas Harrow" and p.topic for p in prov)
        chunk_ids = {p.chunk_id for p in prov}
        assert chunk_ids <= {c for c, _, _ in st.iter_chunks()}
        for rel in st.relations_of(ent.aliases):
            [passage] = st.citations([rel.chunk_id]).values()
            assert passage.citation.chunk_id == rel.chunk_id
        q = "Where was the founder of Harrow & Vale Construction born?"
        hits = bn.search(q, mode="graph", k=2)
        assert {r.citation.title for r in hits} == {"Harrow & Vale Construction", "Thomas Harrow"}
        assert any("bridge" in r.routes for r in hits)  # the founder's page came through the two-hop route
        assert bn.search(q, k=3)  # auto picks graph for English
        # written without capitals, the question still links its entities: the corpus writes them as names
        for typed in (q.lower(), q[0] + q[1:].lower()):
            found = bn.search(typed, mode="graph", k=2)
            assert {r.citation.title for r in found} == {"Harrow & Vale Construction", "Thomas Harrow"}, typed
        # deleting a file removes what was extracted from it
        bn.remove(corpus / "thomas_harrow.md")
        bn.build_graph()
        assert st.find_entity("thomas harrow").n_chunks == n - 1
        assert not any(p.title == "Thomas Harrow" for p in st.provenance_of(ent.aliases))


def test_cli_graph_commands(tmp_path, sample_dir, monkeypatch, store_url):
    monkeypatch.setenv("BANYAN_EMBEDDING__BACKEND", "hash")
    runner = CliRunner()
    idx = str(tmp_path / "idx")
    store = ["--store", store_url] if store_url else []  # later commands find it in the index's banyan.toml
    assert runner.invoke(app, ["index", str(sample_dir), "--index", idx, *store]).exit_code == 0
    stats = json.loads(runner.invoke(app, ["graph", "stats", "--index", idx, "--json"]).stdout)
    assert stats["entities"] > 10 and stats["triples"] > 10
    shown = json.loads(runner.invoke(app, ["graph", "show", "Ada Whitcombe", "--index", idx, "--json"]).stdout)
    assert shown["type"] == "person" and shown["relations"] and shown["provenance"]
    res = runner.invoke(app, ["graph", "show", "Nobody Atall", "--index", idx])
    assert res.exit_code != 0
    # the file northfield_institute.txt is titled "northfield institute": an alias of its topic entity
    shown = json.loads(runner.invoke(app, ["graph", "show", "Northfield Institute of Technology", "--index", idx,
                                           "--json"]).stdout)
    assert "northfield institute" in shown["aliases"]
    res = runner.invoke(app, ["graph", "unmerge", "Northfield Institute of Technology", "northfield institute",
                              "--index", idx])
    assert res.exit_code == 0 and "now separate" in res.output
    shown = json.loads(runner.invoke(app, ["graph", "show", "Northfield Institute of Technology", "--index", idx,
                                           "--json"]).stdout)
    assert "northfield institute" not in shown["aliases"]
    out = tmp_path / "g.graphml"
    assert runner.invoke(app, ["graph", "export", str(out), "--index", idx]).exit_code == 0
    import xml.etree.ElementTree as ET

    root = ET.parse(out).getroot()
    assert len(root.findall(".//{http://graphml.graphdrawing.org/xmlns}node")) == stats["entities"] + 1  # unmerged
    csv_dir = tmp_path / "neo"
    assert runner.invoke(app, ["graph", "export", str(csv_dir), "--format", "neo4j-csv", "--index", idx]).exit_code == 0
    assert (csv_dir / "entities.csv").read_text().startswith("id:ID,name")


def test_relations_outside_the_schema_domain_and_range_are_untyped(tmp_path, sample_dir, store_url):
    """A phrase typed born_in between a company and a person is wrong: it becomes related_to, while
    born_in between a person and a place stays."""
    with Banyan(tmp_path / "idx", {**HASH, "store": {"url": store_url}}) as bn:
        bn.index([sample_dir])
        st = bn.store
        triples = st.relations_of(["thomas harrow"])
        born = [t for t in triples if t.type == "born_in" and t.tail == "kelby"]
        founded = [t for t in triples if t.head == "harrow vale construction" and t.tail == "thomas harrow"]
        assert born and founded
        st.set_triple_types({founded[0].phrase: "born_in"})
        rules = load_schema().domain_range()
        assert st.untype_out_of_range(rules, untyped="related_to", wildcard="other") >= 1
        after = {(t.head, t.phrase, t.tail): t.type for t in st.relations_of(["thomas harrow"])}
        assert after[(founded[0].head, founded[0].phrase, founded[0].tail)] == "related_to"
        assert after[(born[0].head, born[0].phrase, born[0].tail)] == "born_in"
        assert st.untype_out_of_range(rules, untyped="related_to", wildcard="other") == 0


def test_an_index_resolved_under_older_rules_resolves_again(tmp_path, store_url):
    from dataclasses import replace as dc_replace

    from banyan.graph.build import RESOLUTION_RULES, RESOLUTION_RULES_META

    corpus = tmp_path / "notes"
    corpus.mkdir()
    (corpus / "standup.md").write_text("# Stand-up 3 December\n\nPriya Raman said the billing migration is "
                                       "blocked on the Postgres upgrade.\n", encoding="utf-8")
    with Banyan(tmp_path / "idx", {**HASH, "store": {"url": store_url}}) as bn:
        bn.index([corpus])
        st = bn.store
        priya, title = st.find_entity("priya raman"), st.find_entity("stand up 3 december")
        assert priya is not title and title.type == OTHER
        assert st.get_meta(RESOLUTION_RULES_META) == RESOLUTION_RULES
        # what the old rules stored: the note's title as an alias of Priya Raman
        others = [e for e in st.load_entities() if e.id not in (priya.id, title.id)]
        merged = dc_replace(priya, aliases=(*priya.aliases, *title.aliases))
        st.replace_entities([*others, merged], st.load_merges(), st.resolved_version())
        st.set_meta(RESOLUTION_RULES_META, "1")
        assert st.find_entity("stand up 3 december").id == priya.id
        report = bn.index([corpus])  # no file changed: only the rules did
        assert any("rules changed" in n for n in report.notes)
        assert st.find_entity("stand up 3 december").id != st.find_entity("priya raman").id
        assert st.get_meta(RESOLUTION_RULES_META) == RESOLUTION_RULES
        assert not any("rules changed" in n for n in bn.index([corpus]).notes)  # once
