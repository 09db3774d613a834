"""The store on both backends: ``store_url`` is "" (SQLite in the index directory) or a fresh
PostgreSQL database (``tests/pg_server.py``)."""

import sqlite3

import numpy as np
import pytest

from banyan.errors import StoreError
from banyan.ingest import chunk_document
from banyan.store import SQLiteStore, open_store
from banyan.types import Document


def _doc(text: str, title: str = "T") -> Document:
    return Document.create("/f.txt", title, text)


def _chunks(*docs):
    return [c for d in docs for c in chunk_document(d, 50, 5)]


def _integrity_error(url: str) -> type[Exception]:
    if not url:
        return sqlite3.IntegrityError
    import psycopg

    return psycopg.IntegrityError


def test_round_trip_documents_chunks_embeddings(tmp_path, store_url):
    st = open_store(store_url, tmp_path)
    d = _doc("Alpha beta. Gamma delta.")
    change = st.replace_file("/f.txt", "h1", [d], _chunks(d))
    assert (change.documents_added, change.chunks_added) == (1, 1)
    assert st.file_hash("/f.txt") == "h1"
    [(cid, title, text)] = st.chunks_without_embedding("m")
    assert title == "T" and text == d.text
    st.put_embeddings("m", [cid], np.array([[0.6, 0.8]], np.float32))
    ids, mat = st.load_embeddings("m")
    assert ids == [cid] and mat.tolist() == [[pytest.approx(0.6), pytest.approx(0.8)]]
    assert st.chunks_without_embedding("m") == [] and len(st.chunks_without_embedding("other")) == 1
    found = st.citations([cid])[cid]
    cit, txt = found.citation, found.text
    assert (cit.title, cit.start, cit.end, txt) == ("T", 0, len(d.text), d.text)
    st.close()
    again = open_store(store_url, tmp_path, create=False)
    assert again.stats().documents == 1 and again.stats().embeddings == {"m": 1}
    again.close()


def test_chunk_titles_of_any_chunk_or_of_opening_chunks_only(tmp_path, store_url):
    st = open_store(store_url, tmp_path)
    d = _doc(" ".join(f"Sentence number {i} says something." for i in range(40)), title="Long note")
    chunks = _chunks(d)
    st.replace_file("/f.txt", "h1", [d], chunks)
    ids = [c.id for c in chunks]
    assert len(ids) > 1
    assert st.chunk_titles(ids) == {c: "Long note" for c in ids}
    assert st.chunk_titles(ids, opening_only=True) == {ids[0]: "Long note"}
    assert st.chunk_titles(["no-such-chunk"]) == {}
    st.close()


def test_replacing_a_file_removes_old_documents_and_vectors(tmp_path, store_url):
    st = open_store(store_url, tmp_path)
    d1, d2 = _doc("old text."), _doc("new text.")
    st.replace_file("/f.txt", "h1", [d1], _chunks(d1))
    [(cid, *_)] = st.chunks_without_embedding("m")
    st.put_embeddings("m", [cid], np.ones((1, 2), np.float32))
    v = st.version()
    change = st.replace_file("/f.txt", "h2", [d2], _chunks(d2))
    assert (change.documents_added, change.documents_removed) == (1, 1)
    assert st.version() > v
    s = st.stats()
    assert (s.documents, s.chunks, s.embeddings) == (1, 1, {})


def test_shared_document_survives_until_last_file_goes(tmp_path, store_url):
    st = open_store(store_url, tmp_path)
    d = _doc("same content.")
    st.replace_file("/a.txt", "h", [d], _chunks(d))
    st.replace_file("/b.txt", "h", [d], [])
    assert st.remove_file("/a.txt") == 0
    assert st.stats().documents == 1
    assert st.remove_file("/b.txt") == 1
    assert st.stats().documents == 0 and st.stats().chunks == 0


def test_failed_transaction_leaves_nothing(tmp_path, store_url):
    st = open_store(store_url, tmp_path)
    d = _doc("text one.")
    bad = _chunks(d)
    with pytest.raises(_integrity_error(store_url)):
        # a chunk pointing at a document that does not exist violates the foreign key
        st.replace_file("/f.txt", "h", [], bad)
    assert st.stats().documents == 0 and st.stats().chunks == 0 and st.file_hash("/f.txt") is None


def test_missing_and_corrupt_index(tmp_path):
    with pytest.raises(StoreError, match="banyan index"):
        SQLiteStore(tmp_path / "nope", create=False)
    (tmp_path / "banyan.sqlite").write_bytes(b"garbage" * 1000)
    with pytest.raises(StoreError, match="not a usable"):
        SQLiteStore(tmp_path)
