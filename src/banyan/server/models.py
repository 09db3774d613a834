"""Request bodies of the REST API (validated by FastAPI: a bad body is a 422)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


class SearchBody(_Body):
    query: str = Field(max_length=4000)
    mode: str | None = Field(None, description="a retrieval mode (auto, dense, bm25, hybrid, graph, "
                             "hybrid+graph, hybrid+facts, hybrid+ppr)")
    k: int | None = Field(None, ge=1, le=100)

    _query = field_validator("query")(_not_blank)


class AskBody(_Body):
    question: str = Field(max_length=4000)
    mode: str = Field("auto", description="auto, naive, mix, local, global, full or agent")
    budget: int | None = Field(None, ge=256, le=1_000_000, description="context tokens")
    reject: bool = Field(False, description="say 'insufficient evidence' rather than guess")
    stream: bool = Field(False, description="server-sent events: delta ..., then answer")

    _question = field_validator("question")(_not_blank)


class TextBody(_Body):
    title: str = Field(max_length=300)
    text: str
    allow: list[str] | None = Field(None, description="principals that may read it (default: public)")

    _title = field_validator("title")(_not_blank)
    _text = field_validator("text")(_not_blank)


class ChatMessage(BaseModel):
    """An OpenAI or Ollama chat message (content: a string or OpenAI's list of parts)."""

    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class OpenAIChatBody(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens ... are accepted and ignored
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False


class OllamaChatBody(BaseModel):
    model_config = ConfigDict(extra="allow")  # options, format, keep_alive ... are accepted and ignored
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = True
