"""Every error Banyan raises on purpose, each with a message a user can act on."""

from __future__ import annotations


class BanyanError(Exception):
    """Base class for errors Banyan raises deliberately."""


class ConfigError(BanyanError):
    """Settings are invalid or inconsistent."""


class IngestError(BanyanError):
    """A file could not be read or parsed."""


class StoreError(BanyanError):
    """The index store is missing, corrupt or from an incompatible version."""


class EmbedderError(BanyanError):
    """An embedder could not be loaded or failed to embed."""


class IndexMismatchError(BanyanError):
    """The index was built with settings that conflict with the current ones."""
