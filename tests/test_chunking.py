import itertools

from banyan.ingest.chunking import chunk_document, chunk_spans, sentence_spans
from banyan.text import count_tokens, detect_lang
from banyan.types import Document

EN = ("Ada Whitcombe was an engineer. She designed the Lumen Bridge! Was it long? "
      "It was the longest arch of its time. The bridge opened in 1931.")
ZH = "青石桥是临江市的一座石拱桥。大桥由工程师林文远设计！它于1958年建成通车？全长二百六十米。"


def test_sentences_cover_text_without_gaps():
    spans = sentence_spans(EN)
    assert spans[0][0] == 0 and spans[-1][1] == len(EN)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
    assert len(spans) == 5


def test_chinese_sentences_split_on_cjk_punctuation():
    assert [ZH[s:e] for s, e in sentence_spans(ZH)][1] == "大桥由工程师林文远设计！"


def test_english_chunks_respect_sentences_and_size():
    spans = chunk_spans(EN, max_tokens=12, overlap_tokens=0)
    for s, e, n in spans:
        piece = EN[s:e]
        assert n <= 12
        assert piece[-1] in ".!?"  # ends on a sentence boundary
    assert EN[spans[0][0]:spans[0][1]].startswith("Ada")


def test_overlap_repeats_whole_trailing_sentences():
    spans = chunk_spans(EN, max_tokens=14, overlap_tokens=6)
    texts = [EN[s:e] for s, e, _ in spans]
    assert len(texts) >= 2
    # the second chunk starts with a sentence that ended the first chunk
    assert texts[0].endswith(texts[1].split("?")[0] + "?") or texts[1] in EN


def test_chinese_chunks_count_characters_as_tokens():
    assert count_tokens("青石桥") == 3
    spans = chunk_spans(ZH, max_tokens=15, overlap_tokens=0)
    assert len(spans) >= 2
    for s, e, n in spans:
        assert n <= 15 and ZH[s:e].strip() == ZH[s:e]


def test_long_sentence_is_cut_at_token_boundaries():
    text = " ".join(f"word{i}" for i in range(100)) + "."
    spans = chunk_spans(text, max_tokens=30, overlap_tokens=5)
    assert all(n <= 30 for *_, n in spans)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    for s, e, _ in spans:
        assert text[s].isalnum() and (e == len(text) or text[e - 1].isalnum())


def test_whitespace_only_text_has_no_chunks():
    assert chunk_spans("   \n\n  ", 50, 5) == []


def test_chunk_offsets_and_ids_are_exact_and_stable():
    doc = Document.create("x.txt", "X", "  " + EN + "\n\n" + ZH)
    chunks = list(chunk_document(doc, 20, 4))
    again = list(chunk_document(doc, 20, 4))
    assert [c.id for c in chunks] == [c.id for c in again]
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text
        assert c.doc_id == doc.id
    assert {c.lang for c in chunks} == {"en", "zh"}


def test_detect_lang():
    assert detect_lang(EN) == "en"
    assert detect_lang(ZH) == "zh"
    assert detect_lang("12345 !!!") == "en"
