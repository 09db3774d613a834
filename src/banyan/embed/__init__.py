"""Embed: pluggable embedders behind one protocol, chosen by settings."""

from __future__ import annotations

from banyan.embed.base import Embedder, covers, l2_normalize
from banyan.errors import ConfigError
from banyan.settings import EmbeddingSettings


def create_embedder(cfg: EmbeddingSettings) -> Embedder:
    """The embedder ``cfg`` names, reading the languages ``embedder_languages`` says. Heavy imports
    happen only here, on demand."""
    embedder = _create(cfg)
    embedder.languages = embedder_languages(cfg)
    return embedder


ENGLISH_ONLY_BACKENDS = frozenset({"onnx", "sentence-transformers"})
"""backends whose default model (all-MiniLM-L6-v2) reads English only"""


def embedder_languages(cfg: EmbeddingSettings) -> frozenset[str] | None:
    """The languages ``create_embedder(cfg)``'s model reads (None: every one), known without loading it:
    ``embedding.languages`` where set, else the backend's own."""
    if cfg.languages:
        return frozenset(cfg.languages)
    return frozenset({"en"}) if cfg.backend in ENGLISH_ONLY_BACKENDS else None


def _create(cfg: EmbeddingSettings) -> Embedder:
    if cfg.backend == "onnx":
        from pathlib import Path

        from banyan.embed.onnx import OnnxEmbedder

        return OnnxEmbedder(Path(cfg.model) if cfg.model else None, quantize=cfg.quantize,
                            batch_size=cfg.batch_size, max_length=cfg.max_length, threads=cfg.threads,
                            cache_dir=cfg.cache_dir)
    from banyan.embed import others

    if cfg.backend == "sentence-transformers":
        return others.SentenceTransformerEmbedder(cfg.model or None, batch_size=cfg.batch_size, threads=cfg.threads)
    if cfg.backend == "e5":
        return others.E5Embedder(threads=cfg.threads)
    if cfg.backend == "openai":
        return others.OpenAIEmbedder(cfg.model, base_url=cfg.base_url, api_key=cfg.api_key, batch_size=cfg.batch_size)
    if cfg.backend == "hash":
        return others.HashEmbedder()
    raise ConfigError(f"unknown embedding.backend {cfg.backend!r}")


def embedder_name(cfg: EmbeddingSettings) -> str | None:
    """The name ``create_embedder(cfg)`` gives its embedder, without loading a model; None for the
    backends whose name only the loaded model tells."""
    if cfg.backend == "onnx":
        from pathlib import Path

        from banyan.embed.onnx import onnx_name

        return onnx_name(Path(cfg.model) if cfg.model else None, cfg.quantize, cfg.max_length)
    if cfg.backend == "hash":
        from banyan.embed.others import HASH_DIM, hash_name

        return hash_name(HASH_DIM)
    return None


__all__ = ["Embedder", "covers", "create_embedder", "embedder_languages", "embedder_name", "l2_normalize"]
