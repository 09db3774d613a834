"""Answers: a budgeted context per mode, a prompt in the question's language, a cited answer.

``AnswerEngine`` (``engine``) runs one question: ``ContextBuilder`` (``context``) assembles the
sections a mode needs (``strategies``; ``global_search`` for map-reduce over community reports),
``prompts`` writes the prompt, the LLM answers (streamed or not) and ``citations`` checks the
``[n]`` markers. Without an LLM, ``extractive`` answers with the best evidence sentences.
"""

from banyan.answer.context import ContextBuilder, TokenCounter
from banyan.answer.engine import AnswerEngine, CountingLLM, context_budget, model_counter
from banyan.answer.sources import IndexReader
from banyan.answer.transforms import TRANSFORMS
from banyan.answer.types import ANSWER_MODES, AgentStep, Answer, AnswerContext, Evidence, SelectionStats

__all__ = ["ANSWER_MODES", "TRANSFORMS", "AgentStep", "Answer", "AnswerContext", "AnswerEngine", "ContextBuilder",
           "CountingLLM", "Evidence", "IndexReader", "SelectionStats", "TokenCounter", "context_budget",
           "model_counter"]
