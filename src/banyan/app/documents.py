"""Document use cases for callers with access control: list, read, and find what to remove."""

from __future__ import annotations

from banyan.app.access import visible_documents
from banyan.errors import DocumentNotFoundError, PermissionDeniedError
from banyan.store import IndexStore
from banyan.types import PUBLIC, Access, DocumentInfo, DocumentText


def list_documents(store: IndexStore, access: Access) -> list[DocumentInfo]:
    return store.documents_info(visible_documents(store, access))


def _check(store: IndexStore, doc_id: str, access: Access) -> DocumentInfo:
    docs = visible_documents(store, access)
    found = store.documents_info({doc_id}) if docs is None or doc_id in docs else []
    if not found:
        raise DocumentNotFoundError(f"no document {doc_id!r}")
    return found[0]


def read_document(store: IndexStore, doc_id: str, access: Access) -> DocumentText:
    info = _check(store, doc_id, access)
    got = store.document_text(doc_id)
    if got is None:  # removed meanwhile
        raise DocumentNotFoundError(f"no document {doc_id!r}")
    text, spans = got
    return DocumentText(info, text, tuple(spans))


def document_files(store: IndexStore, doc_id: str, access: Access) -> list[str]:
    """The files to remove to remove ``doc_id``. It must be visible to ``access``; a public document
    (everyone reads it) may only be removed by a caller who sees everything (an admin)."""
    info = _check(store, doc_id, access)
    if PUBLIC in info.allow and not access.all_documents:
        raise PermissionDeniedError(f"document {doc_id!r} is public: only an admin may remove it")
    return store.document_files(doc_id)
