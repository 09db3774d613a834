"""Answers: a budgeted context per mode, a prompt in the question's language, a cited answer.

``AnswerEngine`` (``engine``) runs one question: ``ContextBuilder`` (``context``) assembles the
sections a mode needs (``strategies``; ``global_search`` for map-reduce over community reports),
``prompts`` writes the prompt, the LLM answers (streamed or not) and ``citations`` checks the
``[n]`` markers. Without an LLM, ``extractive`` answers with the best evidence sentences.

Names are loaded on first use (PEP 562), so ``from banyan.answer.types import Answer`` (what the
CLI needs to parse its options) does not import the engine, the graph or the LLM layer.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from banyan.answer.context import ContextBuilder, TokenCounter
    from banyan.answer.engine import AnswerEngine, CountingLLM, context_budget, model_counter
    from banyan.answer.sources import IndexReader
    from banyan.answer.types import (
        ANSWER_MODES,
        TRANSFORMS,
        AgentStep,
        Answer,
        AnswerContext,
        Evidence,
        SelectionStats,
    )

_WHERE = {
    "ContextBuilder": "context", "TokenCounter": "context",
    "AnswerEngine": "engine", "CountingLLM": "engine", "context_budget": "engine", "model_counter": "engine",
    "IndexReader": "sources",
    "ANSWER_MODES": "types", "TRANSFORMS": "types", "AgentStep": "types", "Answer": "types",
    "AnswerContext": "types", "Evidence": "types", "SelectionStats": "types",
}

__all__ = ["ANSWER_MODES", "TRANSFORMS", "AgentStep", "Answer", "AnswerContext", "AnswerEngine", "ContextBuilder",
           "CountingLLM", "Evidence", "IndexReader", "SelectionStats", "TokenCounter", "context_budget",
           "model_counter"]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'banyan.answer' has no attribute {name!r}")
    return getattr(import_module(f"banyan.answer.{module}"), name)
