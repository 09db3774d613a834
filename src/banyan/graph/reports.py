"""LLM-written community summaries on top of the extractive reports (batched, cached, metered)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from pydantic import BaseModel, Field

from banyan.llm import LLM, StructuredResult, run_batch, structured, system, user
from banyan.types import Community

PROMPT = ("You summarize a community of related entities from a knowledge graph. Use only the evidence "
          "given. Write a short title and a summary of at most three sentences that cites evidence as [chunk_id].")


class CommunitySummary(BaseModel):
    title: str = Field(description="at most eight words")
    summary: str = Field(description="at most three sentences, citing evidence as [chunk_id]")


def summarize(llm: LLM, communities: Sequence[Community], concurrency: int = 4) -> list[StructuredResult]:
    """One structured call per community; a failed item fails alone (see ``StructuredResult.error``)."""

    def one(c: Community) -> StructuredResult:
        evidence = "\n".join(f"[{e.chunk_id}] {e.text}" for e in c.report.evidence)
        body = f"Entities: {', '.join(c.report.entities)}\nEvidence:\n{evidence or '(none)'}"
        return structured(llm, [system(PROMPT), user(body)], CommunitySummary, stage="community-report",
                          max_tokens=300)

    return run_batch(list(communities), one, concurrency=concurrency)


def with_summary(c: Community, result: StructuredResult) -> Community:
    """The community with the LLM summary (or the reason it failed) added to its report."""
    if result.ok:
        report = replace(c.report, llm_title=result.value.title, llm_summary=result.value.summary)
    else:
        report = replace(c.report, llm_error=result.error)
    return replace(c, report=report)
