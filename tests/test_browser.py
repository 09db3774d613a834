"""The web UI in headless Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright) against the
real server: upload and index a document, ask with a streamed cited answer and open the cited
passage, search the graph and expand a neighbour, a 10,000-node overview, and the API key prompt.

Skipped only on a machine without Chromium; where ``CI`` is set a missing browser is a failure.
Set ``BROWSER_TEST_SCREENSHOTS=DIR`` to keep screenshots of the Ask and Graph views.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

import pytest

from banyan import Banyan
from banyan.cli import sample_corpus_dir
from banyan.server import KeyRing, create_app

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--enable-unsafe-swiftshader"]
HASH = {"embedding": {"backend": "hash"}}
TIMEOUT_MS = 60_000

UPLOAD = """# Aurora Observatory

The Aurora Observatory was founded by Helena Marsh in 1931. Helena Marsh was born in Kelby.
The observatory stands above the Grey River and studies the northern lights.
"""


def _playwright() -> Any:
    """The sync Playwright module, or a skip (a failure under CI) when it or Chromium is missing."""
    problem = None
    try:
        from playwright import sync_api
    except ImportError:
        problem, sync_api = "the playwright package is not installed (pip install -e '.[dev]')", None
    if problem is None and not Path(CHROMIUM).exists():
        problem = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI: {problem}")
        pytest.skip(problem)
    return sync_api


class ServerThread:
    """uvicorn serving ``app`` on a loopback port in a daemon thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()


@pytest.fixture(scope="module")
def pw() -> Any:
    return _playwright()


@pytest.fixture(scope="module")
def bn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Banyan]:
    banyan = Banyan(tmp_path_factory.mktemp("web") / "idx", HASH)
    banyan.index([sample_corpus_dir()])
    yield banyan
    banyan.close()


@pytest.fixture(scope="module")
def server(bn: Banyan, pw: Any) -> Iterator[ServerThread]:
    with ServerThread(create_app(bn)) as srv:
        yield srv


@pytest.fixture(scope="module")
def browser(pw: Any) -> Iterator[Any]:
    with pw.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def screenshot(pg: Any, name: str) -> None:
    folder = os.environ.get("BROWSER_TEST_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(Path(folder) / name), full_page=False)


def open_view(pg: Any, server: ServerThread, view: str) -> None:
    pg.goto(f"{server.url}#{view}")
    pg.wait_for_selector("body[data-ready='1']")
    pg.wait_for_selector(f"#view-{view}:not([hidden])")


def run_job(page: Any, submit: str) -> Any:
    """Click ``submit`` and wait until the job it started is done; its card."""
    page.wait_for_selector("#jobs[data-loaded='1']", state="attached")
    known = page.eval_on_selector_all("#jobs .job", "els => els.map(e => e.dataset.jobId)")
    page.click(submit)
    handle = page.wait_for_function(
        "known => [...document.querySelectorAll('#jobs .job')].map(e => e.dataset.jobId)"
        ".find(id => !known.includes(id)) || null", arg=known)
    card = page.locator(f"#jobs .job[data-job-id='{handle.json_value()}']")
    card.wait_for()
    page.wait_for_selector(f"#jobs .job[data-job-id='{handle.json_value()}'][data-state='done']")
    return card


def test_upload_indexes_with_live_progress(page: Any, server: ServerThread, tmp_path: Path) -> None:
    doc = tmp_path / "aurora_observatory.md"
    doc.write_text(UPLOAD, encoding="utf-8")
    open_view(page, server, "documents")
    page.wait_for_selector("#doc-rows tr[data-doc-id]")
    before = page.locator("#doc-rows tr[data-doc-id]").count()
    page.set_input_files("#upload-form input[name=files]", str(doc))
    page.fill("#upload-form input[name=allow]", "public")
    job = run_job(page, "#upload-form button[type=submit]")
    assert "aurora_observatory.md" in job.inner_text()
    assert job.locator("progress").get_attribute("value") == "1"
    assert "1 file(s) indexed" in job.inner_text()
    row = page.locator("#doc-rows tr", has_text="Aurora Observatory")
    row.wait_for()
    assert page.locator("#doc-rows tr[data-doc-id]").count() == before + 1
    row.locator("button.link").click()  # the document opens in the viewer
    page.wait_for_selector("#doc-viewer:not([hidden]) .doc-text")
    # the text arrives with a second request: wait for it rather than read an empty viewer under load
    page.locator("#doc-viewer .doc-text", has_text="Helena Marsh").wait_for()
    assert "Helena Marsh" in page.inner_text("#doc-viewer .doc-text")
    screenshot(page, "documents.png")


def test_added_text_is_shown_as_text_and_can_be_deleted(page: Any, server: ServerThread) -> None:
    open_view(page, server, "documents")
    title = "Notes <b>bold</b> <img src=x onerror=window.pwned=1>"
    page.fill("#text-form input[name=title]", title)
    page.fill("#text-form textarea[name=text]", "The Quill Society met in Eastport every spring.")
    run_job(page, "#text-form button[type=submit]")
    row = page.locator("#doc-rows tr", has_text="Notes <b>bold</b>")
    row.wait_for()
    assert page.locator("#doc-rows b, #doc-rows img").count() == 0  # server text is never parsed as HTML
    assert page.evaluate("() => window.pwned") is None
    before = page.locator("#doc-rows tr[data-doc-id]").count()
    delete = row.locator("button.danger")
    delete.click()
    assert delete.inner_text() == "Click to confirm"  # the first click only arms the button
    delete.click()
    page.wait_for_function(f"() => document.querySelectorAll('#doc-rows tr[data-doc-id]').length === {before - 1}")
    assert page.locator("#doc-rows tr", has_text="Notes <b>bold</b>").count() == 0


def test_ask_streams_a_cited_answer_and_opens_the_passage(page: Any, server: ServerThread) -> None:
    open_view(page, server, "ask")
    page.fill("#ask-form textarea[name=question]", "Who founded Harrow & Vale Construction?")
    page.click("#ask-form button[type=submit]")
    page.wait_for_selector("#answer[data-state='done']")
    assert int(page.get_attribute("#answer", "data-deltas") or 0) >= 1  # text arrived as "delta" events
    answer = page.inner_text("#answer")
    assert "Thomas Harrow" in answer
    cites = page.locator("#answer a.cite")
    assert cites.count() >= 1
    n = cites.first.get_attribute("data-n")
    passage = page.locator(f"#passages li[data-n='{n}']")
    assert passage.count() == 1
    cites.first.click()
    mark = page.locator("#ask-viewer:not([hidden]) mark#cited-span")
    mark.wait_for()
    quoted = passage.locator("blockquote").inner_text().split()
    assert mark.inner_text().split() == quoted  # exactly the cited span [start, end) is highlighted
    assert mark.is_visible()
    page.wait_for_function("() => { const r = document.querySelector('#cited-span').getBoundingClientRect();"
                           " const v = document.querySelector('#ask-viewer .doc-text').getBoundingClientRect();"
                           " return r.bottom > v.top && r.top < v.bottom; }")  # scrolled into view
    assert passage.get_attribute("class") == "passage active"
    screenshot(page, "ask.png")


def test_graph_search_open_and_expand(page: Any, server: ServerThread) -> None:
    open_view(page, server, "graph")
    page.fill("#entity-search input[name=q]", "Margaret Vale")
    page.click("#entity-search button[type=submit]")
    page.click("#entity-results button[data-name='Margaret Vale']")
    page.wait_for_function("() => window.banyanGraph.selected() === 'Margaret Vale'")
    canvas = page.locator("#graph-canvas")
    start = int(canvas.get_attribute("data-node-count") or 0)
    assert start >= 2
    labels = page.evaluate("() => window.banyanGraph.labels()")
    assert "Margaret Vale" in labels and "Thomas Harrow" in labels  # names, not ids
    assert not set(labels) & set(page.evaluate("() => window.banyanGraph.ids()"))
    page.wait_for_function("() => window.banyanGraph.drawnLabels().includes('Margaret Vale')")
    page.wait_for_selector("#entity-panel h4:has-text('Relations')")

    pos = page.evaluate("() => window.banyanGraph.position('Thomas Harrow')")
    box = canvas.bounding_box()
    page.mouse.dblclick(box["x"] + pos["x"], box["y"] + pos["y"])  # double-click expands the neighbour
    page.wait_for_function(f"() => window.banyanGraph.nodeCount() > {start}")
    page.wait_for_function("() => window.banyanGraph.selected() === 'Thomas Harrow'")
    grown = page.evaluate("() => window.banyanGraph.labels()")
    assert "Kelby" in grown or "Harrow & Vale Construction" in grown
    assert int(canvas.get_attribute("data-node-count") or 0) == len(grown)

    page.wait_for_selector("#graph-legend li")
    screenshot(page, "graph.png")
    page.check("input[name=colour-by][value=community]")
    page.wait_for_selector("#graph-canvas[data-colour-mode='community']")


def synthetic_subgraph(n_nodes: int, n_edges: int) -> dict[str, Any]:
    rng = random.Random(7)
    types = ["person", "organization", "location", "work", "event", "other"]
    nodes = [{"id": f"e{i:05d}", "name": f"Entity {i}", "type": types[i % len(types)],
              "community": f"c{i % 40}", "chunks": 1 + int(rng.paretovariate(1.5))} for i in range(n_nodes)]
    edges, seen = [], set()
    while len(edges) < n_edges:
        a, b = rng.randrange(n_nodes), rng.randrange(n_nodes)
        key = (min(a, b), max(a, b))
        if a != b and key not in seen:
            seen.add(key)
            edges.append({"source": f"e{key[0]:05d}", "target": f"e{key[1]:05d}", "relation": "related",
                          "weight": 1.0})
    return {"nodes": nodes, "edges": edges, "truncated": True}


def test_graph_overview_of_10000_nodes_stays_responsive(page: Any, server: ServerThread) -> None:
    body = json.dumps(synthetic_subgraph(10_000, 15_000))
    page.route("**/api/v1/graph/overview*", lambda route: route.fulfill(status=200, body=body,
                                                                         content_type="application/json"))
    open_view(page, server, "graph")
    page.fill("#graph-limit", "10000")
    page.click("#graph-overview")
    page.wait_for_selector("#graph-canvas[data-node-count='10000']")
    assert page.get_attribute("#graph-canvas", "data-edge-count") == "15000"
    assert "truncated" in page.inner_text("#graph-status")
    # the page still handles input while the layout runs: a colour toggle and a tab switch
    page.check("input[name=colour-by][value=community]")
    page.wait_for_selector("#graph-canvas[data-colour-mode='community']")
    page.click("[role=tab][data-tab=status]")
    page.wait_for_selector("#view-status:not([hidden]) #status-body section")
    page.click("[role=tab][data-tab=graph]")
    page.wait_for_selector("#view-graph:not([hidden])")
    assert page.evaluate("() => window.banyanGraph.nodeCount()") == 10_000
    screenshot(page, "graph-overview.png")


def test_schema_and_status_views(page: Any, server: ServerThread) -> None:
    open_view(page, server, "schema")
    page.wait_for_selector("#schema-body section[data-kind='entity_types'] table")
    assert "person" in page.inner_text("#schema-body")
    screenshot(page, "schema.png")
    open_view(page, server, "status")
    page.wait_for_selector("#status-body section[data-section='index']")
    assert "Documents" in page.inner_text("#status-body")
    screenshot(page, "status.png")


def test_key_prompt_when_the_server_needs_one(page: Any, bn: Banyan, tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys.json")
    secret = ring.add("alice", groups=["legal"]).secret
    with ServerThread(create_app(bn, ring)) as srv:
        page.goto(srv.url + "#documents")
        page.wait_for_selector("#key-form:not([hidden])")  # the 401 showed the key field
        page.fill("#key-form input[name=key]", secret)
        page.click("#key-form button[type=submit]")
        page.wait_for_selector("#who:has-text('alice')")
        page.wait_for_selector("#doc-rows tr[data-doc-id]")
        assert page.evaluate("() => localStorage.getItem('banyan.apiKey')") == secret
