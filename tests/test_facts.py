"""The relation-aware fact walk and spaCy-free query mentions: pure functions, no index."""

from __future__ import annotations

import numpy as np

from banyan.graph.facts import FactTable, PhraseIndex, WalkHit, triple_relevance, walk_facts
from banyan.retrieve.linking import name_spans
from banyan.text import bm25_tokens, is_function_word

# entities: 0 Lumen Bridge, 1 Harrow & Vale, 2 Thomas Harrow, 3 Kelby, 4 Ada Whitcombe, 5 Eastport
ROWS = [
    (0, 1, 0, "designed built by", "related_to"),   # chunk 0: the bridge's page
    (0, 4, 0, "designed by", "created_by"),
    (0, 5, 0, "bridge carries in", "related_to"),
    (1, 2, 1, "company founded by", "founded_by"),  # chunk 1: the company's page
    (2, 3, 2, "born in", "born_in"),                # chunk 2: the founder's page
    (4, 5, 3, "born in", "born_in"),                # chunk 3: the designer's page
]


def _paths(question: str, seeds: dict[int, float], hops: int = 3, named: str = "") -> tuple[dict[int, WalkHit], int]:
    """As the facts route does: the words of the named entities are not relation words; the paths,
    and how many question words there are to explain."""
    facts = FactTable.build(ROWS, 6, bm25_tokens)
    index = facts.index
    stems = [s for s in dict.fromkeys(bm25_tokens(question)) if not is_function_word(s, "en")]
    names = set(bm25_tokens(named))
    asked = [s for s in stems if s not in names]
    rel = triple_relevance(facts, index.relevance(asked), {})
    named_mask = sum(1 << i for i, s in enumerate(stems) if s in names)
    return walk_facts(facts, rel, seeds, hops=hops, beam=8, phrase_masks=index.stem_masks(stems),
                      named=named_mask), len(stems)


def _walk(question: str, seeds: dict[int, float], hops: int = 3, named: str = "") -> dict[int, float]:
    return {c: hit.score for c, hit in _paths(question, seeds, hops, named)[0].items()}


def test_one_hop_ranks_the_chunk_stating_the_relation_first() -> None:
    scores = _walk("Where was Thomas Harrow born?", {2: 1.0})
    assert max(scores, key=scores.get) == 2
    assert 1 not in scores  # "company founded by" is not what was asked


def test_chained_relations_reach_the_third_hop() -> None:
    question = "Where was the founder of the company that built the Lumen Bridge born?"
    scores = _walk(question, {0: 1.0}, named="Lumen Bridge")
    assert {0, 1, 2} <= set(scores)  # bridge page -> company page -> founder page
    assert 3 not in scores  # the designer's birthplace: "designed by" is not asked, so never walked
    assert 2 not in _walk(question, {0: 1.0}, hops=2, named="Lumen Bridge")


def test_a_path_explains_the_words_its_seed_names_and_its_phrases_use() -> None:
    question = "Where was the founder of the company that built the Lumen Bridge born?"
    paths, n = _paths(question, {0: 1.0}, named="Lumen Bridge")
    assert paths[2].coverage(n) == 1.0  # lumen bridge + built + company founded + born: all of it
    assert paths[0].coverage(n) < paths[1].coverage(n) < 1.0
    paths, n = _paths("Which steel was used when the Lumen Bridge was built?", {0: 1.0}, named="Lumen Bridge")
    assert paths[0].coverage(n) == 3 / 5  # steel and use: nothing on the path says them


def test_stem_prefixes_match_and_idf_weighs_rare_words() -> None:
    index = PhraseIndex.build(["company founded by", "born in", "born in village on"], bm25_tokens)
    rel = index.relevance(bm25_tokens("who is the founder"))
    assert rel[0] > 0 and rel[1] == 0  # founder ~ found(ed)
    born = index.relevance(bm25_tokens("born"))
    assert born[1] == 1.0 and 0 < born[2] < 1.0


def test_relation_type_similarity_adds_and_caps_at_one() -> None:
    facts = FactTable.build(ROWS, 6, bm25_tokens)
    every = np.arange(len(facts))
    rel = triple_relevance(facts, np.ones(len(facts.phrases)), {"born_in": 0.5})[every]
    assert rel.max() == 1.0
    rel = triple_relevance(facts, np.zeros(len(facts.phrases)), {"born_in": 0.3})[every]
    assert sorted(set(np.round(rel, 3))) == [0.0, 0.3]


def test_empty_table_and_no_seeds() -> None:
    facts = FactTable.build([], 3, bm25_tokens)
    assert len(facts) == 0
    assert walk_facts(facts, np.zeros(0), {0: 1.0}, hops=3, beam=4) == {}
    assert _walk("born", {}) == {}


def test_name_spans_by_orthography() -> None:
    assert name_spans("Where was the founder of the company that built the Lumen Bridge born?") == ["Lumen Bridge"]
    assert name_spans("Who is the director of film Xyz (2009 film)?") == ["Xyz"]
    assert name_spans('Which came out first, "Changed It" or The Wild Geese?') == ["Changed It", "The Wild Geese"]
    assert name_spans("Are Harrow & Vale Construction and Apollo 11 both American?") == [
        "Harrow & Vale Construction", "Apollo 11", "American"]
    assert name_spans("Who was born first, Ali Bin Hamad or Maria de la Cruz?") == ["Ali Bin Hamad", "Maria de la Cruz"]
    assert name_spans("What is the name of Ermengarde of Tours's father?") == ["Ermengarde of Tours"]
    assert name_spans("who wrote it?") == []


def test_entity_titled_share_counts_documents_about_their_title_entity() -> None:
    from banyan.graph.corpus import entity_titled_share
    from banyan.types import Mention

    mentions = [
        Mention("c1", "Lumen Bridge", "lumen bridge", "location", -1, -1, topic=True),   # title alias
        Mention("c1", "Lumen Bridge", "lumen bridge", "location", 4, 16),                # named in its text
        Mention("c2", "Weekly sync", "weekly sync", "other", -1, -1, topic=True),        # a title, not in text
        Mention("c2", "Zofia Novak", "zofia novak", "person", 0, 11),
    ]
    docs = {"c1": "d1", "c2": "d2"}
    aliases = {"lumen bridge": "e1", "weekly sync": "e2", "zofia novak": "e3"}
    assert entity_titled_share(mentions, docs, aliases, 2) == 0.5
    assert entity_titled_share([], docs, aliases, 0) == 0.0


def test_auto_uses_graph_mode_on_entity_titled_corpora_and_the_fact_walk_elsewhere() -> None:
    from banyan.retrieve.query import Query
    from banyan.retrieve.search import Retriever
    from banyan.settings import RetrievalSettings

    q = Query("Where was Zofia Novak born?", lambda text: np.zeros(4))
    cfg = RetrievalSettings()
    assert Retriever(cfg, {}, True, 0.85).resolve_mode(q, "auto") == "graph"
    assert Retriever(cfg, {}, True, 0.29).resolve_mode(q, "auto") == "hybrid+facts"
    assert Retriever(cfg, {}, True, None).resolve_mode(q, "auto") == "graph"  # an index from before the measure
    assert Retriever(cfg, {}, False, 0.9).resolve_mode(q, "auto") == "hybrid"  # no graph
    zh = Query("林文远在哪里出生？", lambda text: np.zeros(4))
    assert Retriever(cfg, {}, True, 0.85).resolve_mode(zh, "auto") == "hybrid+facts"

    class Dense:  # a dense route whose embedder reads English only
        name = "dense"

        def applies(self, q: Query) -> bool:
            return q.lang == "en"

    routes = {"dense": Dense()}
    assert Retriever(cfg, routes, True, 0.85).resolve_mode(zh, "auto") == "hybrid+ppr"  # the walk stands in for dense
    assert Retriever(cfg, routes, True, 0.29).resolve_mode(q, "auto") == "hybrid+facts"
    assert Retriever(cfg, routes, True, 0.85).resolve_mode(q, "auto") == "graph"
    assert Retriever(cfg, routes, False, 0.85).resolve_mode(zh, "auto") == "hybrid"  # no graph, no walk


def test_long_titles_link_whole() -> None:
    from banyan.retrieve.linking import exact_links
    from banyan.text import normalize_name, word_tokens

    names = ["The Trail of the Lonesome Pine", "The Trail of the Lonesome Pine (1923 film)"]
    index = {normalize_name(n): i for i, n in enumerate(names)}
    tokens = word_tokens("Who directed The Trail Of The Lonesome Pine (1923 Film)?")
    assert exact_links(tokens, index) == {1: 1.0}  # the 8-word title with its year, not the 6-word one


def test_a_question_word_matches_its_stem_and_stems_sharing_a_long_prefix() -> None:
    index = PhraseIndex.build(["founded by", "founder of", "born in", "directed by", "the fund"], bm25_tokens)
    vocab = index.vocab
    assert {vocab[i] for i in index.matches("founder")} == {"found", "founder"}  # "found" <- "founded"
    assert {vocab[i] for i in index.matches("found")} == {"found", "founder"}
    assert {vocab[i] for i in index.matches("fun")} == set()  # under 4 letters: only itself
    assert {vocab[i] for i in index.matches("fund")} == {"fund"}
    assert index.matches("zebra") == []
    masks = index.stem_masks(["founder", "born", "direct"])
    assert masks.tolist() == [0b001, 0b001, 0b010, 0b100, 0]
    np.testing.assert_array_equal(index.used(["born"]), [float(v == "born") for v in vocab])
    # relevance: the idf-weighted share of each phrase's stems the question uses
    rel = index.relevance(["founder", "born"])
    assert rel.dtype == np.float64 and rel[0] == rel[1] == rel[2] == 1.0 and rel[3] == rel[4] == 0.0
    assert 0.0 < index.relevance(["direct", "zebra"])[3] == 1.0
    nothing = index.relevance(["zebra"])  # no phrase uses it: zeros, and still floats
    assert nothing.dtype == np.float64 and not nothing.any()


def _plain_walk(facts: FactTable, relevance: np.ndarray, seeds: dict[int, float], hops: int, beam: int,
                phrase_masks: np.ndarray, named: int) -> dict[int, WalkHit]:
    """The walk written as a plain loop over the frontier and its triples (what ``walk_facts`` does
    with array operations)."""
    def better(hit: WalkHit, than: WalkHit | None) -> bool:
        if than is None or hit.score > than.score:
            return True
        return hit.score == than.score and hit.explained.bit_count() > than.explained.bit_count()

    chunks: dict[int, WalkHit] = {}
    frontier = {e: WalkHit(w, named) for e, w in seeds.items()}
    seen = set(frontier)
    for _ in range(hops):
        reached: dict[int, WalkHit] = {}
        for e, at in frontier.items():
            for r in facts.by_entity[e].tolist():
                if relevance[r] <= 0:
                    continue
                hit = WalkHit(at.score * float(relevance[r]), at.explained | int(phrase_masks[facts.phrase[r]]))
                c = int(facts.chunk[r])
                if better(hit, chunks.get(c)):
                    chunks[c] = hit
                other = int(facts.tail[r]) if int(facts.head[r]) == e else int(facts.head[r])
                if other not in seen and better(hit, reached.get(other)):
                    reached[other] = hit
        if not reached:
            break
        frontier = dict(sorted(reached.items(), key=lambda x: -x[1].score)[:beam])
        seen.update(frontier)
    return chunks


def test_walk_matches_the_plain_loop_on_random_graphs() -> None:
    """Same paths, scores and explained words, ties included (relevances drawn from a few values so
    that equal scores are common; several triples share a chunk and an entity pair)."""
    rng = np.random.default_rng(11)
    for trial in range(60):
        n_e, n_rows = int(rng.integers(3, 40)), int(rng.integers(1, 200))
        rows = []
        for _ in range(n_rows):
            h, t = rng.choice(n_e, 2, replace=False).tolist()
            rows.append((h, t, int(rng.integers(0, 15)), f"p{rng.integers(0, 12)}", "related_to"))
        facts = FactTable.build(rows, n_e, lambda p: [p])
        relevance = rng.choice([0.0, 0.25, 0.5, 1.0], len(facts))
        masks = rng.integers(0, 1 << 6, len(facts.phrases))
        seeds = {int(e): float(rng.choice([0.5, 1.0])) for e in rng.choice(n_e, int(rng.integers(1, 4)), replace=False)}
        hops, beam, named = int(rng.integers(1, 4)), int(rng.integers(1, 5)), int(rng.integers(0, 4))
        got = walk_facts(facts, relevance, seeds, hops, beam, masks, named)
        want = _plain_walk(facts, relevance, seeds, hops, beam, masks, named)
        assert list(got.items()) == list(want.items()), trial
