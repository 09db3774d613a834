"""Banyan as a chat model: the real ``openai`` client and Ollama's NDJSON protocol against a
uvicorn server on a free loopback port."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any, Self

import httpx
import openai
import pytest
import uvicorn

from banyan import Banyan
from banyan.cli import sample_corpus_dir
from banyan.server import KeyRing, create_app
from conftest import NO_GRAPH
from fake_openai import FakeOpenAI

QUESTION = "Who designed the Lumen Bridge?"
REPLY = "The Lumen Bridge was designed by the engineer Ada Whitcombe [1]."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """uvicorn serving an app in a thread, stopped on exit."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The sample corpus (no graph) behind a key, answered by a scripted LLM that streams word by word."""
    idx = tmp_path_factory.mktemp("compat") / "idx"
    with Banyan(idx, NO_GRAPH) as bn:
        bn.index([sample_corpus_dir()])
    secret = KeyRing.at(idx).add("chat").secret
    with FakeOpenAI(lambda req: {"content": REPLY}) as llm, \
            Banyan(idx, {"llm": {"model": "m", "base_url": llm.base_url, "api_key": "k", "cache": False,
                                 "max_retries": 0}}) as bn, \
            Server(create_app(bn, KeyRing.at(idx))) as srv:
        yield {"url": srv.url, "key": secret, "llm": llm}


def test_openai_client_models_and_chat(served: dict[str, Any]) -> None:
    client = openai.OpenAI(base_url=served["url"] + "/v1", api_key=served["key"], max_retries=0)
    ids = [m.id for m in client.models.list()]
    assert ids[0] == "banyan" and {"banyan-naive", "banyan-agent", "banyan-global"} <= set(ids)
    done = client.chat.completions.create(model="banyan-naive", messages=[
        {"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "hi"}, {"role": "user", "content": QUESTION}])
    text = done.choices[0].message.content or ""
    assert text.startswith(REPLY) and done.choices[0].finish_reason == "stop"
    assert "\n\nSources:\n[1] " in text and "lumen_bridge.md)" in text  # [n] title (source)
    assert done.usage is not None and done.usage.prompt_tokens > 0
    assert QUESTION in json.dumps(served["llm"].requests[-1]["messages"])  # the last user message was asked


def test_openai_client_streams(served: dict[str, Any]) -> None:
    client = openai.OpenAI(base_url=served["url"] + "/v1", api_key=served["key"], max_retries=0)
    stream = client.chat.completions.create(model="banyan", stream=True,
                                            messages=[{"role": "user", "content": QUESTION}])
    pieces, finish = [], None
    for chunk in stream:
        assert chunk.object == "chat.completion.chunk"
        pieces.append(chunk.choices[0].delta.content or "")
        finish = chunk.choices[0].finish_reason or finish
    text = "".join(pieces)
    assert len([p for p in pieces if p]) > 3 and text.startswith(REPLY) and "Sources:\n[1]" in text
    assert finish == "stop"


def test_openai_errors(served: dict[str, Any]) -> None:
    bad = openai.OpenAI(base_url=served["url"] + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
    client = openai.OpenAI(base_url=served["url"] + "/v1", api_key=served["key"], max_retries=0)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": QUESTION}])
    with pytest.raises(openai.UnprocessableEntityError):
        client.chat.completions.create(model="banyan", messages=[{"role": "system", "content": "only this"}])


def test_ollama_tags_and_chat(served: dict[str, Any]) -> None:
    head = {"Authorization": f"Bearer {served['key']}"}
    with httpx.Client(base_url=served["url"], headers=head, timeout=30) as c:
        tags = c.get("/api/tags").json()["models"]
        assert tags[0]["name"] == "banyan:latest" and all(t["details"]["family"] == "banyan" for t in tags)
        assert c.get("/api/version").json()["version"]
        lines = []
        with c.stream("POST", "/api/chat", json={"model": "banyan:latest",
                                                 "messages": [{"role": "user", "content": QUESTION}]}) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
            lines = [json.loads(ln) for ln in r.iter_lines() if ln]
        assert all(not ln["done"] for ln in lines[:-1]) and lines[-1]["done"] is True
        assert lines[-1]["done_reason"] == "stop" and lines[-1]["eval_count"] > 0
        text = "".join(ln["message"]["content"] for ln in lines)
        assert len(lines) > 4 and text.startswith(REPLY) and "Sources:\n[1]" in text
        whole = c.post("/api/chat", json={"model": "banyan-naive", "stream": False,
                                          "messages": [{"role": "user", "content": QUESTION}]}).json()
        assert whole["done"] is True and whole["message"]["content"].startswith(REPLY)
        assert c.post("/api/chat", json={"model": "llama3", "messages": [{"role": "user", "content": "x"}]}
                      ).status_code == 404
        assert c.get("/api/tags", headers={"Authorization": "Bearer nope"}).status_code == 401
