from banyan.index.bm25 import BM25Index
from banyan.text import bm25_tokens as tokenize


def test_english_is_stemmed_without_stopwords():
    assert tokenize("The bridges were designed by engineers") == ["bridg", "were", "design", "engin"]


def test_chinese_is_segmented_by_jieba_and_punctuation_dropped():
    toks = tokenize("青石桥由工程师林文远设计。")
    assert "工程师" in toks and "设计" in toks and "。" not in toks


def test_mixed_text_keeps_both():
    toks = tokenize("临江市与 Eastport 结为友好城市")
    assert "eastport" in toks and "结为" in toks


def test_bm25_ranks_matching_chunk_first(tmp_path):
    idx = BM25Index.build([("a", "the lumen bridge in eastport"), ("b", "a fishing village"),
                           ("c", "青石桥 是 石拱桥")], 1.5, 0.75)
    assert idx.search("Lumen bridges", 2)[0][0] == "a"
    assert idx.search("石拱桥", 2)[0][0] == "c"
    assert idx.search("zzzz unknown", 2) == []
    idx.save(tmp_path / "bm", version=7)
    assert BM25Index.load(tmp_path / "bm", version=8) is None
    loaded = BM25Index.load(tmp_path / "bm", version=7)
    assert loaded is not None and loaded.search("fishing", 1)[0][0] == "b"


def test_bm25_stopwords_are_bm25s_english_stop_set() -> None:
    from bm25s.stopwords import STOPWORDS_EN

    from banyan.text import BM25_STOPWORDS_EN

    assert frozenset(STOPWORDS_EN) == BM25_STOPWORDS_EN


def test_chunks_with_all_are_the_chunks_holding_every_word(tmp_path) -> None:
    import numpy as np

    rows = [("a", "Place of birth: Tbilisi"), ("b", "the place where she gave birth"), ("c", "a place to rest"),
            ("d", "Zofia Novak was born in Tbilisi")]
    built = BM25Index.build(rows, 1.5, 0.75)
    built.save(tmp_path / "bm", version=1)
    loaded = BM25Index.load(tmp_path / "bm", version=1)
    for idx in (built, loaded):
        assert idx.chunks_with_all(tokenize("place of birth")) == ["a", "b"]
        assert idx.chunks_with_all(tokenize("place")) == ["a", "b", "c"]
        assert idx.chunks_with_all(tokenize("zofia novak")) == ["d"]
        assert idx.chunks_with_all(tokenize("zofia unknownword")) == []
        assert idx.chunks_with_all([]) == []
        assert idx.chunks_with_all(tokenize("place birth"), np.array([False, True, True, True])) == ["b"]


def test_a_search_by_tokens_equals_the_search_by_text_masked_or_not() -> None:
    import numpy as np

    from banyan.app.access import MaskedIndex
    from banyan.text import bm25_tokens

    rows = [("a", "the lumen bridge in eastport"), ("b", "a fishing village near the bridge"),
            ("c", "青石桥是临江市的一座石拱桥"), ("d", "Eastport bridges and 青石桥")]
    idx = BM25Index.build(rows, 1.5, 0.75)
    for text in ("Who built the bridges of Eastport?", "青石桥在哪里", "nothing matches this"):
        assert idx.search(tuple(bm25_tokens(text)), 3) == idx.search(text, 3)
        masked = MaskedIndex(idx, np.array([True, False, True, True]))
        assert masked.search(bm25_tokens(text), 3) == masked.search(text, 3)
        assert "b" not in [cid for cid, _ in masked.search(text, 3)]
