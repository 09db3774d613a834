"""API keys and document access over HTTP: keys hashed at rest, 401s, and a restricted document
that one key's caller never sees through any endpoint (404, never 403)."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from banyan import Banyan
from banyan.cli import app as cli_app
from banyan.cli import sample_corpus_dir
from banyan.server import KeyRing, ServerConfig, create_app
from banyan.server.keys import KeyNotFoundError, KeyRingError
from conftest import HASH

SECRET_DOC = ("# Project Nightjar\n\nProject Nightjar is a confidential merger between Harrow & Vale Construction "
              "and Quillon Dynamics, negotiated by Selwyn Marsh in 2031.\n")
SECRET_WORDS = ("Nightjar", "Quillon", "Selwyn")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The sample corpus, keys for alice (group legal), bob (no group) and an admin, and a document
    that alice uploads for the legal group only."""
    idx = tmp_path_factory.mktemp("auth") / "idx"
    bn = Banyan(idx, HASH)
    bn.index([sample_corpus_dir()])
    bn.build_communities()
    ring = KeyRing.at(idx)
    keys = {"alice": ring.add("alice", groups=["legal"]).secret, "bob": ring.add("bob").secret,
            "admin": ring.add("ops", admin=True).secret}
    with TestClient(create_app(bn, ring)) as c:
        r = c.post("/api/v1/documents", files=[("files", ("nightjar.md", SECRET_DOC.encode(), "text/markdown"))],
                   data={"allow": "legal"}, headers=auth(keys["alice"]))
        assert r.status_code == 202, r.text
        job = r.json()["job"]
        with c.stream("GET", f"/api/v1/jobs/{job['id']}/events", headers=auth(keys["alice"])) as s:
            assert '"state": "done"' in s.read().decode()
        doc = next(d for d in c.get("/api/v1/documents", headers=auth(keys["alice"])).json()["documents"]
                   if d["title"] == "Project Nightjar")
        yield {"client": c, "keys": keys, "doc": doc, "job": job["id"], "bn": bn, "ring": ring}
    bn.close()


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def leaks(payload: object) -> list[str]:
    text = json.dumps(payload, ensure_ascii=False)
    return [w for w in SECRET_WORDS if w.lower() in text.lower()]


# -- the key ring -------------------------------------------------------------------------------------
def test_keys_are_hashed_at_rest_and_verified(tmp_path: Path) -> None:
    ring = KeyRing.at(tmp_path)
    made = ring.add("carol", user="Carol", groups=["Legal", " finance", ""])
    assert made.secret.startswith(f"byn_{made.key.id}_") and len(made.secret) == 4 + 8 + 1 + 43
    assert made.key.user == "carol" and made.key.groups == ("legal", "finance") and not made.key.admin
    raw = (tmp_path / "keys.json").read_text()
    assert made.secret not in raw and made.secret.split("_")[-1] not in raw and made.key.digest in raw
    assert stat.S_IMODE((tmp_path / "keys.json").stat().st_mode) == 0o600
    assert ring.verify(made.secret) == made.key
    assert ring.verify(made.secret[:-1] + ("A" if made.secret[-1] != "A" else "B")) is None
    assert ring.verify("byn_00000000_" + "x" * 43) is None and ring.verify("nonsense") is None
    assert made.key.access().principals == {"carol", "legal", "finance", "public"}
    assert ring.add("root", admin=True).key.access().all_documents


def test_revoke_and_reload_from_another_process(tmp_path: Path) -> None:
    server_ring, cli_ring = KeyRing.at(tmp_path), KeyRing.at(tmp_path)
    assert not server_ring.has_active()
    made = cli_ring.add("dave")  # e.g. `banyan keys add` while the server runs
    assert server_ring.verify(made.secret) == made.key
    cli_ring.revoke("dave")
    assert server_ring.verify(made.secret) is None and not server_ring.has_active()
    assert [k.revoked is not None for k in server_ring.all_keys()] == [True]
    with pytest.raises(KeyNotFoundError):
        cli_ring.revoke("dave")
    cli_ring.add("erin")
    with pytest.raises(KeyRingError, match="already named"):
        cli_ring.add("erin")
    for bad in ({"name": "x", "user": "a b"}, {"name": "x", "user": "public"}, {"name": " "}):
        with pytest.raises(KeyRingError):
            cli_ring.add(**bad)  # type: ignore[arg-type]


def test_corrupt_key_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "keys.json").write_text("{not json")
    with pytest.raises(KeyRingError, match="fix or remove"):
        KeyRing.at(tmp_path).has_active()


# -- 401s ---------------------------------------------------------------------------------------------
def test_missing_or_wrong_key_is_401(setup: dict[str, Any]) -> None:
    c = setup["client"]
    for path in ("/api/v1/status", "/api/v1/documents", "/v1/models", "/api/tags", "/api/v1/graph/overview"):
        r = c.get(path)
        assert r.status_code == 401 and r.json()["error"]["type"] == "unauthorized", path
        assert r.headers["www-authenticate"] == "Bearer"
        assert c.get(path, headers=auth("byn_deadbeef_" + "x" * 43)).status_code == 401
    assert c.post("/api/v1/search", json={"query": "x"}, headers={"Authorization": "Basic abc"}).status_code == 401
    assert c.get("/health").json() == {"status": "ok"}  # no key needed, and still serving
    assert c.get("/api/v1/status", headers={"X-API-Key": setup["keys"]["bob"]}).status_code == 200
    st = c.get("/api/v1/status", headers=auth(setup["keys"]["alice"])).json()
    assert st["auth"]["enabled"] and st["auth"]["caller"]["principals"] == ["alice", "legal", "public"]
    assert "files" not in st["index"]  # a restricted caller sees counts of its documents only


def test_revoked_key_is_refused_at_once(setup: dict[str, Any]) -> None:
    c, ring = setup["client"], setup["ring"]
    made = KeyRing.at(ring.path.parent).add("temp")  # another ring object: as the CLI would
    assert c.get("/api/v1/documents", headers=auth(made.secret)).status_code == 200
    KeyRing.at(ring.path.parent).revoke(made.key.id)
    assert c.get("/api/v1/documents", headers=auth(made.secret)).status_code == 401


def test_public_bind_without_keys_lets_nobody_in(tmp_path: Path, setup: dict[str, Any]) -> None:
    ring = KeyRing.at(tmp_path)  # empty
    with TestClient(create_app(setup["bn"], ring, ServerConfig(upload_dir=tmp_path / "up", require_keys=True))) as c:
        r = c.get("/api/v1/documents")
        assert r.status_code == 401 and "banyan keys add" in r.json()["error"]["message"]
        assert c.get("/health").status_code == 200


# -- access control over HTTP ---------------------------------------------------------------------------
def test_owner_group_and_admin_see_the_restricted_document(setup: dict[str, Any]) -> None:
    c, keys, doc = setup["client"], setup["keys"], setup["doc"]
    assert doc["allow"] == ["legal"]
    for who in ("alice", "admin"):
        assert c.get(f"/api/v1/documents/{doc['id']}", headers=auth(keys[who])).status_code == 200
        hits = c.post("/api/v1/search", json={"query": "Project Nightjar merger", "mode": "bm25"},
                      headers=auth(keys[who])).json()["results"]
        assert hits[0]["citation"]["doc_id"] == doc["id"]
    found = c.get("/api/v1/graph/entities", params={"q": "Nightjar"}, headers=auth(keys["alice"])).json()
    assert found["entities"]


def test_other_principal_never_sees_it(setup: dict[str, Any]) -> None:
    c, bob, doc = setup["client"], auth(setup["keys"]["bob"]), setup["doc"]
    # the document itself: 404, exactly like a missing one, never 403
    r = c.get(f"/api/v1/documents/{doc['id']}", headers=bob)
    missing = c.get("/api/v1/documents/ffffffffffffffff", headers=bob)
    assert r.status_code == missing.status_code == 404
    assert r.json()["error"]["message"].replace(doc["id"], "X") == \
        missing.json()["error"]["message"].replace("ffffffffffffffff", "X")
    assert c.delete(f"/api/v1/documents/{doc['id']}", headers=bob).status_code == 404
    assert doc["id"] not in {d["id"] for d in c.get("/api/v1/documents", headers=bob).json()["documents"]}
    # the job that indexed it belongs to alice
    assert c.get(f"/api/v1/jobs/{setup['job']}", headers=bob).status_code == 404
    assert not c.get("/api/v1/jobs", headers=bob).json()["jobs"]
    # search, ask (stream too), chat: adversarial questions naming the restricted entities
    for q in ("Project Nightjar", "Who negotiated the merger with Quillon Dynamics?", "Selwyn Marsh"):
        for mode in ("bm25", "dense", "hybrid", "graph", "auto"):
            r = c.post("/api/v1/search", json={"query": q, "mode": mode, "k": 20}, headers=bob).json()
            assert not leaks(r["results"]), (q, mode)
        for mode in ("naive", "mix", "local", "global", "full"):
            a = c.post("/api/v1/ask", json={"question": q, "mode": mode}, headers=bob).json()
            assert not leaks({k: a[k] for k in ("answer", "evidence", "passages")}), (q, mode)
        streamed = c.post("/api/v1/ask", json={"question": q, "stream": True}, headers=bob).text
        assert not leaks(streamed.replace(q, ""))
        chat = c.post("/v1/chat/completions", json={"model": "banyan", "messages": [{"role": "user", "content": q}]},
                      headers=bob).json()
        assert not leaks(chat["choices"][0]["message"]["content"]) and not leaks(chat["banyan"]["passages"])
    # the graph: entity search, entity pages, neighbourhoods, overview, communities
    for name in ("Project Nightjar", "Quillon Dynamics", "Selwyn Marsh"):
        assert c.get(f"/api/v1/graph/entities/{name}", headers=bob).status_code == 404
        assert c.get("/api/v1/graph/neighbors", params={"name": name}, headers=bob).status_code == 404
        assert not c.get("/api/v1/graph/entities", params={"q": name.split()[0]}, headers=bob).json()["entities"]
    hv = c.get("/api/v1/graph/neighbors", params={"name": "Harrow & Vale Construction", "depth": 2}, headers=bob)
    assert hv.status_code == 200 and not leaks(hv.json())
    assert not leaks(c.get("/api/v1/graph/entities/Harrow & Vale Construction", headers=bob).json())
    assert not leaks(c.get("/api/v1/graph/overview", params={"limit": 5000}, headers=bob).json())
    comms = c.get("/api/v1/graph/communities", params={"limit": 1000}, headers=bob).json()["communities"]
    assert comms and not leaks(comms)
    for cm in comms:
        assert not leaks(c.get(f"/api/v1/graph/communities/{cm['id']}", headers=bob).json())
    st = c.get("/api/v1/status", headers=bob).json()
    assert st["index"]["documents"] == len(c.get("/api/v1/documents", headers=bob).json()["documents"])


# -- the command line ---------------------------------------------------------------------------------
def test_serve_refuses_a_public_address_without_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    ran: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: ran.append({"app": app, **kw}))
    runner = CliRunner()
    idx = tmp_path / "idx"
    r = runner.invoke(cli_app, ["serve", "--host", "0.0.0.0", "--index", str(idx)])
    assert r.exit_code == 2 and "refusing to serve on 0.0.0.0 without an API key" in r.output
    assert not ran and not idx.exists()

    r = runner.invoke(cli_app, ["keys", "add", "alice", "--groups", "legal,hr", "--index", str(idx)])
    assert r.exit_code == 0, r.output
    secret = r.stdout.strip().splitlines()[-1]
    assert secret.startswith("byn_") and secret not in (idx / "keys.json").read_text()
    listed = json.loads(runner.invoke(cli_app, ["keys", "list", "--json", "--index", str(idx)]).stdout)
    assert [(k["name"], k["groups"]) for k in listed] == [("alice", ["legal", "hr"])]

    monkeypatch.setenv("BANYAN_EMBEDDING__BACKEND", "hash")
    r = runner.invoke(cli_app, ["serve", "--host", "0.0.0.0", "--port", "8123", "--index", str(idx)])
    assert r.exit_code == 0, r.output
    assert ran[0]["host"] == "0.0.0.0" and ran[0]["port"] == 8123
    app_state = ran[0]["app"].state.banyan
    assert app_state.config.require_keys and app_state.keys.has_active()

    assert runner.invoke(cli_app, ["keys", "revoke", "alice", "--index", str(idx)]).exit_code == 0
    assert json.loads(runner.invoke(cli_app, ["keys", "list", "--json", "--index", str(idx)]).stdout) == []
    r = runner.invoke(cli_app, ["serve", "--host", "::", "--index", str(idx)])
    assert r.exit_code == 2
