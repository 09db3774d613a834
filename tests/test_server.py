"""The REST server over the sample corpus: every endpoint, jobs with progress, uploads, bad input."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from banyan import Banyan
from banyan.cli import sample_corpus_dir
from banyan.server import ServerConfig, create_app
from banyan.server.jobs import JobQueue
from banyan.server.uploads import UnsafePathError, inside, safe_filename, save_bytes
from banyan.types import IndexReport
from conftest import HASH
from fake_openai import FakeOpenAI

QUESTION = "Who designed the Lumen Bridge?"


@pytest.fixture(scope="module")
def bn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Banyan]:
    b = Banyan(tmp_path_factory.mktemp("server") / "idx", HASH)
    b.index([sample_corpus_dir()])
    b.build_communities()
    yield b
    b.close()


@pytest.fixture(scope="module")
def client(bn: Banyan) -> Iterator[TestClient]:
    with TestClient(create_app(bn)) as c:
        yield c


def sse_events(text: str) -> list[tuple[str, object]]:
    """(event, data) pairs of an SSE body."""
    out = []
    for frame in text.strip().split("\n\n"):
        lines = frame.split("\n")
        event = next((ln[7:] for ln in lines if ln.startswith("event: ")), "message")
        data = "\n".join(ln[6:] for ln in lines if ln.startswith("data: "))
        if data:
            out.append((event, json.loads(data) if data != "[DONE]" else data))
    return out


def wait_job(c: TestClient, job_id: str) -> list[tuple[str, object]]:
    """Follow the job's SSE stream to its end."""
    with c.stream("GET", f"/api/v1/jobs/{job_id}/events") as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        return sse_events(r.read().decode())


def assert_error(r, status: int, kind: str) -> None:
    assert r.status_code == status, r.text
    assert r.json()["error"]["type"] == kind and r.json()["error"]["message"]


# -- status, documents, search, ask -----------------------------------------------------------------
def test_health_status_schema_docs(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    st = client.get("/api/v1/status").json()
    assert st["index"]["documents"] >= 8 and st["auth"] == {"enabled": False, "caller": {
        "key": None, "key_id": None, "admin": True, "principals": ["*"]}}
    assert "graph" in st["modes"]["search"] and "agent" in st["modes"]["answer"] and st["llm"]["configured"] is False
    schema = client.get("/api/v1/schema").json()
    assert {"person", "organization"} <= {t["name"] for t in schema["entity_types"]}
    assert schema["relation_types"] and all("description" in t for t in schema["relation_types"])
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/search", "/api/v1/ask", "/v1/chat/completions", "/api/chat"} <= set(paths)
    assert client.get("/api/v1/usage").json()["found"] is False


def test_documents_list_and_read(client: TestClient) -> None:
    docs = client.get("/api/v1/documents").json()["documents"]
    bridge = next(d for d in docs if d["title"] == "Lumen Bridge")
    assert bridge["allow"] == ["public"] and bridge["chunks"] >= 1 and bridge["source"].endswith("lumen_bridge.md")
    doc = client.get(f"/api/v1/documents/{bridge['id']}").json()
    assert doc["id"] == bridge["id"] and "Ada Whitcombe" in doc["text"]
    for span in doc["spans"]:
        assert 0 <= span["start"] < span["end"] <= len(doc["text"])
    assert_error(client.get("/api/v1/documents/0123456789abcdef"), 404, "not_found")


def test_search_resolves_mode_and_cites(client: TestClient) -> None:
    r = client.post("/api/v1/search", json={"query": QUESTION, "k": 3}).json()
    assert r["mode"] in ("graph", "hybrid") and 1 <= len(r["results"]) <= 3
    assert r["results"][0]["citation"]["title"] == "Lumen Bridge"
    bm25 = client.post("/api/v1/search", json={"query": "青石桥的设计者是谁", "mode": "bm25", "k": 2}).json()
    assert bm25["mode"] == "bm25" and bm25["results"]
    assert_error(client.post("/api/v1/search", json={"query": QUESTION, "mode": "nope"}), 422, "invalid_request")
    assert_error(client.post("/api/v1/search", json={"query": "   "}), 422, "invalid_request")
    assert_error(client.post("/api/v1/search", json={"query": QUESTION, "k": 0}), 422, "invalid_request")


def test_ask_returns_answer_with_passages(client: TestClient) -> None:
    a = client.post("/api/v1/ask", json={"question": QUESTION}).json()
    assert "Ada Whitcombe" in a["answer"] and a["citations"] and a["extractive"] is True
    assert [p["n"] for p in a["passages"]] == a["citations"]
    p = a["passages"][0]
    doc = client.get(f"/api/v1/documents/{p['doc_id']}").json()
    assert doc["text"][p["start"]:p["end"]] == p["text"]  # a citation opens its passage in place
    assert_error(client.post("/api/v1/ask", json={"question": QUESTION, "mode": "bogus"}), 422, "invalid_request")
    assert_error(client.post("/api/v1/ask", json={"mode": "naive"}), 422, "invalid_request")


def test_ask_stream_extractive(client: TestClient) -> None:
    r = client.post("/api/v1/ask", json={"question": QUESTION, "mode": "naive", "stream": True})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r.text)
    assert [e for e, _ in events][-1] == "answer" and events[0][0] == "delta"
    final = events[-1][1]
    assert isinstance(final, dict) and final["mode"] == "naive" and final["passages"]
    # a bad request is an HTTP error before any event
    assert_error(client.post("/api/v1/ask", json={"question": QUESTION, "mode": "x", "stream": True}),
                 422, "invalid_request")


def test_ask_stream_from_an_llm(bn: Banyan) -> None:
    """With an LLM configured, the answer arrives as several deltas, then the checked answer."""
    reply = "Ada Whitcombe designed the Lumen Bridge [1]."
    with FakeOpenAI(lambda req: {"content": reply}) as llm, \
            Banyan(bn.index_dir, {"llm": {"model": "m", "base_url": llm.base_url, "api_key": "k", "cache": False,
                                          "max_retries": 0}}) as bn_llm, \
            TestClient(create_app(bn_llm)) as c:
        r = c.post("/api/v1/ask", json={"question": QUESTION, "mode": "naive", "stream": True})
        events = sse_events(r.text)
        deltas = [d["text"] for e, d in events if e == "delta"]  # type: ignore[index]
        assert len(deltas) > 3 and "".join(deltas) == reply
        final = events[-1][1]
        assert events[-1][0] == "answer" and final["extractive"] is False  # type: ignore[index]
        assert final["citations"] == [1] and final["passages"][0]["n"] == 1  # type: ignore[index]
        prompt = "\n".join(m["content"] for m in llm.requests[-1]["messages"])
        assert "Lumen Bridge" in prompt and QUESTION in prompt


# -- the graph ----------------------------------------------------------------------------------------
def test_graph_endpoints(client: TestClient) -> None:
    found = client.get("/api/v1/graph/entities", params={"q": "lumen"}).json()["entities"]
    assert found[0]["name"] == "Lumen Bridge" and found[0]["community"]
    view = client.get("/api/v1/graph/entities/Thomas Harrow").json()
    assert view["name"] == "Thomas Harrow" and view["type"] == "person" and view["provenance"]
    sub = client.get("/api/v1/graph/neighbors", params={"name": "Lumen Bridge", "depth": 2, "limit": 50}).json()
    names = {n["name"] for n in sub["nodes"]}
    assert "Lumen Bridge" in names and len(names) > 2 and sub["edges"]
    ids = {n["id"] for n in sub["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in sub["edges"])
    over = client.get("/api/v1/graph/overview", params={"limit": 5}).json()
    assert len(over["nodes"]) == 5 and over["truncated"] is True
    comms = client.get("/api/v1/graph/communities", params={"limit": 3}).json()["communities"]
    assert comms and comms[0]["report"]["evidence"]
    one = client.get(f"/api/v1/graph/communities/{comms[0]['id']}").json()
    assert one["id"] == comms[0]["id"] and one["members"]
    assert_error(client.get("/api/v1/graph/entities/Nobody Atall"), 404, "not_found")
    assert_error(client.get("/api/v1/graph/neighbors", params={"name": "Nobody Atall"}), 404, "not_found")
    assert_error(client.get("/api/v1/graph/communities/ffffffffffff"), 404, "not_found")
    assert_error(client.get("/api/v1/graph/neighbors", params={"name": "Lumen Bridge", "depth": 9}),
                 422, "invalid_request")


# -- uploads, jobs, deletion --------------------------------------------------------------------------
def test_upload_index_search_delete(client: TestClient, bn: Banyan) -> None:
    body = b"# Kestrel Observatory\n\nThe Kestrel Observatory was founded by Mirela Oduya in 1962.\n"
    r = client.post("/api/v1/documents", files=[("files", ("../../../etc/kestrel.md", body, "text/markdown"))])
    assert r.status_code == 202, r.text
    job = r.json()["job"]
    assert job["state"] in ("queued", "running") and job["files"] == ["kestrel.md"] and job["allow"] == ["public"]
    events = wait_job(client, job["id"])
    kinds = [e for e, _ in events]
    assert kinds[-1] == "done" and "progress" in kinds
    stages = {d["stage"] for e, d in events if e == "progress"}  # type: ignore[index]
    assert stages & {"ingest", "embed", "extract", None}
    done = events[-1][1]
    assert done["state"] == "done" and done["report"]["documents_added"] == 1  # type: ignore[index]
    assert client.get(f"/api/v1/jobs/{job['id']}").json()["state"] == "done"
    assert job["id"] in {j["id"] for j in client.get("/api/v1/jobs").json()["jobs"]}

    saved = list((bn.index_dir / "uploads").rglob("kestrel.md"))
    assert len(saved) == 1 and inside(bn.index_dir / "uploads", saved[0])
    assert not (bn.index_dir.parent / "etc").exists()
    doc = next(d for d in client.get("/api/v1/documents").json()["documents"] if d["title"] == "Kestrel Observatory")
    hits = client.post("/api/v1/search", json={"query": "Kestrel Observatory founder", "mode": "bm25"}).json()
    assert hits["results"][0]["citation"]["doc_id"] == doc["id"]

    assert client.delete(f"/api/v1/documents/{doc['id']}").json() == {"removed": 1}
    assert_error(client.get(f"/api/v1/documents/{doc['id']}"), 404, "not_found")
    assert_error(client.delete(f"/api/v1/documents/{doc['id']}"), 404, "not_found")
    assert not saved[0].exists()


def test_add_text_and_allow_list(client: TestClient) -> None:
    r = client.post("/api/v1/documents/text", json={"title": "Meeting notes", "text": "The Orrin Canal reopens in May.",
                                                    "allow": ["Legal", "finance "]})
    assert r.status_code == 202
    assert r.json()["job"]["allow"] == ["finance", "legal"]
    assert wait_job(client, r.json()["job"]["id"])[-1][0] == "done"
    doc = next(d for d in client.get("/api/v1/documents").json()["documents"] if d["title"] == "Meeting notes")
    assert sorted(doc["allow"]) == ["finance", "legal"]
    assert "Orrin Canal" in client.get(f"/api/v1/documents/{doc['id']}").json()["text"]
    client.delete(f"/api/v1/documents/{doc['id']}")


def test_upload_rejects_bad_files(client: TestClient) -> None:
    assert_error(client.post("/api/v1/documents", files=[("files", ("tool.exe", b"MZ", "application/octet-stream"))]),
                 422, "invalid_request")
    assert_error(client.post("/api/v1/documents", data={"allow": "legal"}), 422, "invalid_request")
    assert_error(client.post("/api/v1/documents/text", json={"title": "", "text": "x"}), 422, "invalid_request")
    assert_error(client.get("/api/v1/jobs/doesnotexist"), 404, "not_found")


def test_delete_while_writing_is_409(client: TestClient, bn: Banyan) -> None:
    doc = client.get("/api/v1/documents").json()["documents"][0]
    held, release = threading.Event(), threading.Event()

    def writer() -> None:
        with bn.store.writing():
            held.set()
            release.wait(10)

    t = threading.Thread(target=writer)
    t.start()
    try:
        held.wait(5)
        assert_error(client.delete(f"/api/v1/documents/{doc['id']}"), 409, "busy")
    finally:
        release.set()
        t.join()
    assert client.get(f"/api/v1/documents/{doc['id']}").status_code == 200


# -- bad input: the server keeps serving ----------------------------------------------------------------
def test_oversized_upload_is_413_and_server_keeps_serving(bn: Banyan, tmp_path: Path) -> None:
    cfg = ServerConfig(upload_dir=tmp_path / "up", max_upload_bytes=2000)
    with TestClient(create_app(bn, None, cfg)) as c:
        big = b"# Big\n\n" + b"word " * 1000
        assert_error(c.post("/api/v1/documents", files=[("files", ("big.md", big, "text/markdown"))]),
                     413, "payload_too_large")
        assert c.get("/health").json() == {"status": "ok"}

        def chunked() -> Iterator[bytes]:  # no Content-Length: counted while read
            yield b'{"title": "t", "text": "'
            for _ in range(100):
                yield b"x" * 100
            yield b'"}'

        r = c.post("/api/v1/documents/text", content=chunked(), headers={"content-type": "application/json"})
        assert_error(r, 413, "payload_too_large")
        assert c.get("/health").json() == {"status": "ok"}
        assert c.post("/api/v1/search", json={"query": QUESTION}).status_code == 200
    assert not any((tmp_path / "up").rglob("big.md"))


def test_malformed_json_and_unknown_routes(client: TestClient) -> None:
    r = client.post("/api/v1/search", content=b'{"query": ', headers={"content-type": "application/json"})
    assert_error(r, 422, "invalid_request")
    assert "JSON" in r.json()["error"]["message"]
    assert_error(client.post("/api/v1/search", json={"k": 3}), 422, "invalid_request")
    assert_error(client.post("/api/v1/search", json={"query": "x", "surprise": 1}), 422, "invalid_request")
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")
    assert_error(client.put("/api/v1/search", json={}), 405, "method_not_allowed")
    assert client.get("/health").json() == {"status": "ok"}


def test_web_ui_is_served_after_the_api(bn: Banyan, tmp_path: Path) -> None:
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("<html><body>Banyan UI</body></html>")
    with TestClient(create_app(bn, None, ServerConfig(upload_dir=tmp_path / "up", web_dir=web))) as c:
        assert "Banyan UI" in c.get("/").text
        assert c.get("/health").json() == {"status": "ok"}
        assert_error(c.get("/missing.js"), 404, "not_found")


# -- units: file names, the job queue ------------------------------------------------------------------
@pytest.mark.parametrize(("name", "expected"), [
    ("../../etc/passwd", "passwd"), ("/abs/path/report.pdf", "report.pdf"), ("..\\..\\win.ini", "win.ini"),
    ("..", "upload"), ("", "upload"), (".hidden.md", "hidden.md"), ("a\x00b\nc.txt", "abc.txt"),
    ("报告 2024.md", "报告 2024.md"), ("x" * 500 + ".md", "x" * 117 + ".md"), ("C:\\x\\..\\y.docx", "y.docx"),
])
def test_safe_filename(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


def test_saved_paths_never_escape(tmp_path: Path) -> None:
    root = tmp_path / "uploads"
    for name in ("../../x.md", "/etc/x.md", "..", "a/../../b.md"):
        p = save_bytes(root, name, b"hello")
        assert p.resolve().is_relative_to(root.resolve()) and p.parent.parent == root.resolve()
    with pytest.raises(UnsafePathError):
        inside(root, root / ".." / "x")
    with pytest.raises(UnsafePathError):
        inside(root, root)


def test_job_queue_runs_in_order_and_reports_failures() -> None:
    order: list[str] = []

    def runner(paths, allow, progress) -> IndexReport:  # type: ignore[no-untyped-def]
        order.append(paths[0].name)
        progress.start("ingest", 2)
        progress.advance(2)
        progress.done()
        if paths[0].name == "bad":
            raise OSError("disk full")
        return IndexReport(files_indexed=1)

    jobs = JobQueue(runner)
    a = jobs.submit([Path("a")], ["a"], None, owner="k1")
    b = jobs.submit([Path("bad")], ["bad"], ["legal"], owner="k2")
    jobs.stop()
    assert order == ["a", "bad"]
    ja, jb = jobs.get(a.id), jobs.get(b.id)
    assert ja is not None and ja.state == "done" and ja.report is not None and ja.report.files_indexed == 1
    assert jb is not None and jb.state == "failed" and jb.error == "disk full" and jb.done == 2
    assert jobs.get(b.id, owner="k1") is None and [j.id for j in jobs.list("k2")] == [b.id]
