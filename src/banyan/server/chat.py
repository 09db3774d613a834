"""What the OpenAI- and Ollama-compatible endpoints share: models are answer modes, the last user
message is the question, citations follow the answer as ``[n] title (source)`` lines."""

from __future__ import annotations

from collections.abc import Sequence

from banyan.answer import ANSWER_MODES
from banyan.errors import NotFoundError
from banyan.server.answers import Question
from banyan.server.models import ChatMessage

MODEL = "banyan"


class ModelNotFoundError(NotFoundError):
    """A chat request named a model this server does not offer."""


def model_names() -> list[str]:
    """``banyan`` (mode auto) and ``banyan-<mode>`` for every other answer mode."""
    return [MODEL if m == "auto" else f"{MODEL}-{m}" for m in ANSWER_MODES]


def mode_of(model: str) -> str:
    """The answer mode a model name stands for (an Ollama ``:tag`` is ignored)."""
    name = model.split(":", 1)[0].strip().lower()
    if name == MODEL:
        return "auto"
    mode = name.removeprefix(f"{MODEL}-")
    if mode == name or mode not in ANSWER_MODES:
        raise ModelNotFoundError(f"no model {model!r}; this server offers {', '.join(model_names())}")
    return mode


def question_of(model: str, messages: Sequence[ChatMessage]) -> Question:
    """The question a chat asks: its last user message, answered in the model's mode."""
    for m in reversed(messages):
        if m.role == "user" and m.text().strip():
            return Question(m.text().strip(), mode_of(model))
    raise ValueError("the chat has no user message with text: nothing to answer")
