"""Document-level access control holds through every read path: search, answers (the prompt the LLM
receives), entity pages, exploration, exports and community reports.

bob sees public documents only; alice also sees the ``legal`` group's. The restricted memo names
entities found only in it (Odile Marchetti, Corvane Holdings, Project Nightingale) and one found in
public documents too (Harrow & Vale Construction)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from banyan import Banyan
from banyan.cli import sample_corpus_dir
from banyan.errors import CommunityNotFoundError, DocumentNotFoundError, EntityNotFoundError, PermissionDeniedError
from banyan.llm import build_llm
from banyan.settings import LLMSettings
from banyan.types import Access
from conftest import HASH, NO_GRAPH
from fake_openai import FakeOpenAI

MEMO = """# Board memo

Project Nightingale is the confidential plan by Corvane Holdings to buy the Lumen Bridge maintenance
contract from Harrow & Vale Construction. Odile Marchetti negotiated Project Nightingale in Zurich for
Corvane Holdings, and the price agreed was 48 million crowns.

Odile Marchetti reports to the Corvane Holdings board in Geneva. The Nightingale payment is due in March.

Corvane Venture Holdings, the fund behind Project Nightingale, signed the papers in Zurich.
"""
HARBOUR = """# Harbour note

The Lumen Bridge maintenance contract was sold to CVH in May. CVH paid in cash.
"""
"""public text that names by acronym an entity only the memo spells out (resolution merges the two)"""
SECRETS = ("Nightingale", "Corvane", "Marchetti", "48 million", "Zurich", "Geneva")
ALICE, BOB = Access.of("alice", "legal"), Access.of("bob")
QUESTIONS = ("Who negotiated Project Nightingale for Corvane Holdings?",
             "What did Odile Marchetti agree with Harrow & Vale Construction?",
             "How much is the Nightingale payment and where is the Corvane Holdings board?")
MODES = ("dense", "bm25", "hybrid", "graph", "hybrid+graph", "auto")


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s.lower() in text.lower()]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("acl")
    shutil.copytree(sample_corpus_dir(), root / "public")
    (root / "public" / "harbour.md").write_text(HARBOUR, encoding="utf-8")
    (root / "legal").mkdir()
    (root / "legal" / "memo.md").write_text(MEMO, encoding="utf-8")
    return root


def _reply(req: dict) -> dict:
    text = "\n".join(str(m.get("content", "")) for m in req["messages"])
    if "Rate it from 0" in text:
        return {"content": json.dumps({"score": 5})}
    if "list the points" in text:
        return {"content": json.dumps({"points": [{"description": "A point [1].", "score": 50}]})}
    if "title" in text and "summary" in text:
        # a summary of what the model read: it names the memo's entities only if it read them
        read = [w for w in SECRETS if w in text]
        return {"content": json.dumps({"title": "Summary", "summary": f"About {', '.join(read) or 'Eastport'}."})}
    return {"content": "An answer [1]."}


@pytest.fixture(scope="module")
def srv():
    with FakeOpenAI(_reply) as s:
        yield s


@pytest.fixture(scope="module")
def bn(corpus, srv, tmp_path_factory) -> Banyan:
    llm = {"model": "m", "base_url": srv.base_url, "api_key": "k", "timeout_s": 5.0, "max_retries": 1,
           "cache": False}
    b = Banyan(tmp_path_factory.mktemp("idx") / "idx", {**HASH, "llm": llm})
    b.index([corpus / "public"])
    b.index([corpus / "legal"], allow=["legal"])
    b.build_communities(llm_reports=True)
    yield b
    b.close()


def _llm(srv, tmp: Path):
    return build_llm(LLMSettings(model="m", base_url=srv.base_url, api_key="k", timeout_s=5.0, max_retries=1,
                                 cache=False), tmp).llm


def _memo_id(bn: Banyan) -> str:
    return next(d.id for d in bn.documents() if d.title == "Board memo")


def test_documents_listing_and_reading(bn):
    memo = _memo_id(bn)
    assert memo in {d.id for d in bn.documents(access=ALICE)}
    assert memo not in {d.id for d in bn.documents(access=BOB)}
    assert next(d for d in bn.documents() if d.id == memo).allow == ("legal",)
    assert "Nightingale" in bn.document(memo, access=ALICE).text
    with pytest.raises(DocumentNotFoundError):
        bn.document(memo, access=BOB)
    with pytest.raises(DocumentNotFoundError):  # hidden and missing look the same
        bn.document("0" * 16, access=BOB)
    with pytest.raises(DocumentNotFoundError):
        bn.remove_document(memo, access=BOB)
    public = next(d.id for d in bn.documents() if d.title == "Lumen Bridge")
    with pytest.raises(PermissionDeniedError):  # bob sees it, but only an admin removes what everyone reads
        bn.remove_document(public, access=BOB)


@pytest.mark.parametrize("mode", MODES)
def test_search_never_returns_or_ranks_by_restricted_text(bn, mode):
    for q in QUESTIONS:
        bob = bn.search(q, mode, 10, access=BOB)
        assert bob, (mode, q)  # bob still gets results: masking happens before the top-k
        for r in bob:
            assert r.citation.title != "Board memo" and not _leaks(r.text), (mode, q, r.text)
    alice = bn.search(QUESTIONS[0], "hybrid", 10, access=ALICE)
    assert any(r.citation.title == "Board memo" for r in alice)


def test_bob_ranking_equals_an_index_without_the_memo(bn, corpus, tmp_path):
    """Restricted text does not even move bob's ranking: same results as an index that never had it."""
    clean = Banyan(tmp_path / "clean", HASH)
    clean.index([corpus / "public"])
    for mode in ("bm25", "dense", "graph"):
        for q in (*QUESTIONS, *(q.lower() for q in QUESTIONS)):  # lower case: linking reads only bob's text
            ours = [(r.citation.chunk_id, round(r.score, 5)) for r in bn.search(q, mode, 8, access=BOB)]
            theirs = [(r.citation.chunk_id, round(r.score, 5)) for r in clean.search(q, mode, 8)]
            if mode == "bm25":  # idf from bob's chunks only; lengths still normalized by the whole index's
                assert [c for c, _ in ours] == [c for c, _ in theirs], q
                assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], rel=0.05), q
                continue
            assert ours == theirs, (mode, q)
    clean.close()


@pytest.mark.parametrize("mode", ["naive", "mix", "local", "global", "agent"])
def test_answers_never_show_restricted_text_to_the_llm(bn, srv, tmp_path, mode):
    for q in QUESTIONS[:2]:
        srv.requests.clear()
        ans = bn.ask(q, mode, llm=_llm(srv, tmp_path), access=BOB)
        prompts = "\n".join(str(m.get("content", "")) for r in srv.requests for m in r["messages"])
        assert prompts and not _leaks(prompts.replace(q, "")), (mode, _leaks(prompts.replace(q, "")))
        assert all(e.citation.title != "Board memo" for e in ans.citations)
        ctx = bn.answer_context(q, mode, access=BOB)
        assert not _leaks(ctx.text.replace(q, "")) and all(e.citation.title != "Board memo" for e in ctx.evidence)
    srv.requests.clear()
    bn.ask(QUESTIONS[0], "mix", llm=_llm(srv, tmp_path), access=ALICE)
    prompts = "\n".join(str(m.get("content", "")) for r in srv.requests for m in r["messages"])
    assert "48 million" in prompts  # alice's answer does read the memo


def test_entity_pages_and_exploration(bn):
    for name in ("Odile Marchetti", "Corvane Holdings", "Project Nightingale"):
        assert bn.entity(name, access=ALICE)
        with pytest.raises(EntityNotFoundError):
            bn.entity(name, access=BOB)
        with pytest.raises(EntityNotFoundError):
            bn.neighbourhood(name, access=BOB)
        assert not [n for n in bn.find_entities(name.split()[0], access=BOB) if _leaks(n.name)]
    shared = bn.entity("Harrow & Vale Construction", access=BOB)
    assert not _leaks(json.dumps(shared.to_dict()))
    assert _leaks(json.dumps(bn.entity("Harrow & Vale Construction", access=ALICE).to_dict()))
    hood = bn.neighbourhood("Harrow & Vale Construction", depth=2, access=BOB)
    assert hood.nodes and not _leaks(json.dumps(hood.to_dict()))
    assert not _leaks(json.dumps(bn.graph_overview(access=BOB).to_dict()))
    assert _leaks(json.dumps(bn.graph_overview(access=ALICE).to_dict()))


def test_exports(bn, tmp_path):
    bn.export_graph(tmp_path / "bob.graphml", access=BOB)
    bn.export_graph(tmp_path / "alice.graphml", access=ALICE)
    assert not _leaks((tmp_path / "bob.graphml").read_text(encoding="utf-8"))
    assert _leaks((tmp_path / "alice.graphml").read_text(encoding="utf-8"))


def test_community_reports_carry_only_visible_claims(bn):
    everything = [bn.community(c.id) for c in bn.communities(limit=1000)]
    secret = [c for c in everything if _leaks(json.dumps(c.to_dict()))]
    assert secret, "the memo's entities should be in some community"
    bobs = bn.communities(limit=1000, access=BOB)
    for c in bobs:
        assert not _leaks(json.dumps(c.to_dict())), c.to_dict()
    for c in secret:
        try:
            seen = bn.community(c.id, access=BOB)
        except CommunityNotFoundError:
            continue
        assert not _leaks(json.dumps(seen.to_dict()))
        assert seen.report.llm_summary is None  # written from hidden text: not shown at all


def test_all_public_index_is_unfiltered(tmp_path):
    b = Banyan(tmp_path / "pub", HASH)
    b.index([sample_corpus_dir()])
    for mode in ("hybrid", "graph"):
        q = "Who designed the Lumen Bridge?"
        assert [r.citation.chunk_id for r in b.search(q, mode, access=Access.of("anyone"))] == \
               [r.citation.chunk_id for r in b.search(q, mode)]
    assert b.view.visible(Access.of("anyone")) is None
    b.close()


def test_reindexing_changes_the_allow_list_without_reextracting(bn, corpus):
    report = bn.index([corpus / "legal"], allow=["legal", "bob"])
    assert report.files_unchanged == 1 and report.files_indexed == 0
    assert _memo_id(bn) in {d.id for d in bn.documents(access=BOB)}
    assert any(r.citation.title == "Board memo" for r in bn.search(QUESTIONS[0], "hybrid", 10, access=BOB))
    bn.index([corpus / "legal"], allow=["legal"])
    assert _memo_id(bn) not in {d.id for d in bn.documents(access=BOB)}


def test_a_public_alias_does_not_reveal_the_name_only_restricted_text_spells_out(bn):
    """Resolution merged the public "CVH" with the memo's "Corvane Venture Holdings": bob sees the
    entity under the name he can read, typed and counted from his chunks."""
    merged = bn.find_entities("cvh")
    assert merged and merged[0].name == "Corvane Venture Holdings"  # the whole graph: the memo's name wins
    seen = bn.find_entities("cvh", access=BOB)
    assert [n.name for n in seen] == ["CVH"] and seen[0].chunks == 1
    view = bn.entity("CVH", access=BOB)
    assert view.entity.name == "CVH" and not _leaks(json.dumps(view.to_dict()))
    assert "corvane venture holdings" not in view.aliases
    assert bn.entity("CVH", access=ALICE).entity.name == "Corvane Venture Holdings"
    hood = bn.neighbourhood("CVH", depth=2, access=BOB)
    assert not _leaks(json.dumps(hood.to_dict()))


def test_bm25_scores_do_not_depend_on_restricted_text(bn):
    """A term the memo uses often weighs, for bob, what it weighs among his own chunks: probing scores
    cannot tell whether hidden documents use a word."""
    for q in ("payment price agreed contract", "board maintenance contract Lumen Bridge"):
        full = {r.citation.chunk_id: r.score for r in bn.search(q, "bm25", 20)}
        bob = {r.citation.chunk_id: r.score for r in bn.search(q, "bm25", 20, access=BOB)}
        assert bob and all(c in full for c in bob)
        assert any(abs(bob[c] - full[c]) > 1e-6 for c in bob), "the memo's terms should change unmasked idf"


def test_cache_keys_never_confuse_two_callers():
    assert Access.of("a,b").key != Access.of("a", "b").key
    assert Access.of("Alice").key == Access.of("alice", "public").key
    assert Access.everything().key != Access.of("*").key


def test_many_callers_stay_correct_beyond_the_cache_bound(bn):
    for i in range(20):
        assert not _leaks(json.dumps(bn.graph_overview(50, access=Access.of(f"user{i}")).to_dict()))
    assert any(r.citation.title == "Board memo" for r in bn.search(QUESTIONS[0], "hybrid", 10, access=ALICE))
    assert all(r.citation.title != "Board memo" for r in bn.search(QUESTIONS[0], "graph", 10, access=BOB))


def test_removing_a_document_never_removes_what_the_caller_cannot_see(tmp_path):
    """A document may come from several files; removing it removes them all. A non-admin may do
    that only for files it reads and that are not public."""
    b = Banyan(tmp_path / "idx", NO_GRAPH)
    for name, allow in (("mine", ["bob"]), ("theirs", ["legal"]), ("ours", ["bob"])):
        (tmp_path / name).mkdir()
        b.index([tmp_path / name], allow=allow)  # empty folders: nothing yet
    (tmp_path / "mine" / "a.md").write_text("# Shared\n\nThe same text in two files.\n", encoding="utf-8")
    (tmp_path / "theirs" / "a.md").write_text("# Shared\n\nThe same text in two files.\n", encoding="utf-8")
    (tmp_path / "ours" / "b.md").write_text("# Only bob\n\nBob's own note.\n", encoding="utf-8")
    b.index([tmp_path / "mine", tmp_path / "ours"], allow=["bob"])
    b.index([tmp_path / "theirs"], allow=["legal"])
    bob = Access.of("bob")
    shared = next(d for d in b.documents(access=bob) if d.title == "Shared")
    assert shared.allow == ("bob", "legal")
    with pytest.raises(PermissionDeniedError):  # it also comes from a file bob may not read
        b.remove_document(shared.id, access=bob)
    assert shared.id in {d.id for d in b.documents(access=Access.of("legal"))}
    own = next(d for d in b.documents(access=bob) if d.title == "Only bob")
    assert b.remove_document(own.id, access=bob) == 1
    assert own.id not in {d.id for d in b.documents()}
    b.close()


def test_a_document_two_files_produced_shows_each_caller_a_file_it_may_see(tmp_path):
    """The same text in a restricted file and a file bob reads is one document; bob sees it, but the
    restricted file's path (its name may say what it holds) never reaches him."""
    text = "# Harbour tolls\n\nThe Lumen Bridge toll rises in March, says Ada Whitcombe.\n"
    for folder in ("legal-nightingale", "bob-notes"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "tolls.md").write_text(text, encoding="utf-8")
    b = Banyan(tmp_path / "idx", HASH)
    b.index([tmp_path / "legal-nightingale"], allow=["legal"])  # first: its path is the stored source
    b.index([tmp_path / "bob-notes"], allow=["bob"])
    bob = Access.of("bob")
    [doc] = b.documents(access=bob)
    assert "bob-notes" in doc.source and "nightingale" not in b.document(doc.id, access=bob).info.source
    hits = b.search("Lumen Bridge toll", "hybrid", access=bob)
    assert hits and all("nightingale" not in r.citation.source for r in hits)
    ctx = b.answer_context("When does the Lumen Bridge toll rise?", "mix", access=bob)
    assert ctx.evidence and all("nightingale" not in e.citation.source for e in ctx.evidence)
    view = b.entity("Lumen Bridge", access=bob)
    assert view.provenance and all("nightingale" not in p.source for p in view.provenance)
    assert "nightingale" in b.documents(access=Access.of("legal"))[0].source
    assert "nightingale" in b.documents()[0].source  # the stored source: bob would have seen it
    b.close()
