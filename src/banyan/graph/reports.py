"""LLM-written community summaries on top of the extractive reports (batched, cached, metered)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from pydantic import BaseModel, Field

from banyan.graph.tree import Community
from banyan.llm import LLM, StructuredResult, run_batch, structured, system, user

PROMPT = ("You summarize a community of related entities from a knowledge graph. Use only the evidence "
          "given. Write a short title and a summary of at most three sentences that cites evidence as [chunk_id].")


class CommunitySummary(BaseModel):
    title: str = Field(description="at most eight words")
    summary: str = Field(description="at most three sentences, citing evidence as [chunk_id]")


def summarize(llm: LLM, communities: Sequence[Community], concurrency: int = 4) -> list[StructuredResult]:
    """One structured call per community; a failed item fails alone (see ``StructuredResult.error``)."""

    def one(c: Community) -> StructuredResult:
        report = json.loads(c.report)
        evidence = "\n".join(f"[{e['chunk_id']}] {e['text']}" for e in report["evidence"])
        body = f"Entities: {', '.join(report['entities'])}\nEvidence:\n{evidence or '(none)'}"
        return structured(llm, [system(PROMPT), user(body)], CommunitySummary, stage="community-report",
                          max_tokens=300)

    return run_batch(list(communities), one, concurrency=concurrency)


def with_summary(c: Community, result: StructuredResult) -> str:
    """The community's report JSON, with the LLM summary (or the reason it failed) added."""
    report = json.loads(c.report)
    if result.ok:
        report["llm_title"] = result.value.title
        report["llm_summary"] = result.value.summary
    else:
        report["llm_error"] = result.error
    return json.dumps(report, ensure_ascii=False)
