"""Document use cases for callers with access control: list, read, and find what to remove."""

from __future__ import annotations

from dataclasses import replace

from banyan.app.access import visible_documents, visible_sources
from banyan.errors import DocumentNotFoundError, PermissionDeniedError
from banyan.store import IndexStore
from banyan.types import PUBLIC, Access, DocumentInfo, DocumentText


def list_documents(store: IndexStore, access: Access) -> list[DocumentInfo]:
    return _shown(store, access, store.documents_info(visible_documents(store, access)))


def _shown(store: IndexStore, access: Access, infos: list[DocumentInfo]) -> list[DocumentInfo]:
    """``infos`` with, for documents several files produced, a source path ``access`` may see."""
    if access.all_documents or store.all_public():
        return infos
    sources = visible_sources(store, access)
    return [replace(i, source=sources[i.id]) if i.id in sources else i for i in infos]


def _check(store: IndexStore, doc_id: str, access: Access) -> DocumentInfo:
    """The document, if ``access`` may see it (one of its files allows it); missing and hidden alike
    raise DocumentNotFoundError."""
    found = store.documents_info([doc_id])
    if not found or not access.can_see(found[0].allow):
        raise DocumentNotFoundError(f"no document {doc_id!r}")
    return _shown(store, access, found)[0]


def read_document(store: IndexStore, doc_id: str, access: Access) -> DocumentText:
    info = _check(store, doc_id, access)
    got = store.document_text(doc_id)
    if got is None:  # removed meanwhile
        raise DocumentNotFoundError(f"no document {doc_id!r}")
    text, spans = got
    return DocumentText(info, text, tuple(spans))


def document_files(store: IndexStore, doc_id: str, access: Access) -> list[str]:
    """The files to remove to remove ``doc_id``. It must be visible to ``access``. Removing a file
    removes every document it holds, so a caller who does not see everything (an admin) may remove
    a document only if it may read each of its files, and none of them is public (everyone reads it):
    otherwise it could delete what others read, or documents it cannot even see."""
    info = _check(store, doc_id, access)
    files = store.document_files(doc_id)
    if not access.all_documents:
        allow = store.file_allow(files)
        if PUBLIC in info.allow or any(PUBLIC in a or not access.can_see(a) for a in allow.values()):
            raise PermissionDeniedError(f"only an admin may remove document {doc_id!r}: it is public, or also "
                                        "comes from a file that is not yours to remove")
    return files
