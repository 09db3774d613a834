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


class IndexNotFoundError(StoreError):
    """A command that reads an index was pointed at a directory that holds none."""


class NotIndexedError(BanyanError):
    """A path was named (e.g. to remove it) that the index does not hold."""


class IndexBusyError(BanyanError):
    """Another process is writing the index and this one was asked not to wait."""


class EmbedderError(BanyanError):
    """An embedder could not be loaded or failed to embed."""


class ExtensionMissingError(BanyanError):
    """A compiled part of banyan was not built when it was installed."""


class IndexMismatchError(BanyanError):
    """The index was built with settings that conflict with the current ones."""


class LLMError(BanyanError):
    """An LLM call failed."""


class LLMNotConfiguredError(LLMError):
    """A feature needs an LLM and none is configured."""


class LLMTransientError(LLMError):
    """A failure worth retrying: timeout, rate limit (429), server error (5xx), dropped connection."""

    def __init__(self, message: str, *, retry_after: float | None = None, kind: str = "transient") -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.kind = kind


class LLMFatalError(LLMError):
    """A failure that retrying cannot fix (bad request, authentication, unknown model)."""


class BudgetExceededError(LLMError):
    """The configured token budget would be exceeded; completed work is cached, so rerun to resume."""


class StructuredOutputError(LLMError):
    """The model's reply could not be turned into valid JSON for the schema, even after repair and a re-ask."""


class NotFoundError(BanyanError):
    """Something asked for by id or name does not exist, or the caller may not see it (the same
    error either way, so a restricted document's existence never leaks)."""


class DocumentNotFoundError(NotFoundError):
    """No such document, or not visible to the caller."""


class EntityNotFoundError(NotFoundError):
    """No such entity, or none of its sources is visible to the caller."""


class CommunityNotFoundError(NotFoundError):
    """No such community, or none of its members is visible to the caller."""


class PermissionDeniedError(BanyanError):
    """The caller may see this, but not change it (e.g. deleting a public document without an admin key)."""
