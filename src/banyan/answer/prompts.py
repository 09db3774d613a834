"""Prompts in English and Chinese, chosen by the question's language."""

from __future__ import annotations

from dataclasses import dataclass

from banyan.llm import ChatMessage, system, user

INSUFFICIENT = {"en": "insufficient evidence", "zh": "证据不足"}
UNCITED_MARK = {"en": "(uncited)", "zh": "（无引用）"}
NO_LLM_NOTE = ("no LLM configured: this answer is extractive (the evidence sentences that best match the question); "
               "set BANYAN_LLM_MODEL (with BANYAN_LLM_BASE_URL / BANYAN_LLM_API_KEY) or pass --llm MODEL or "
               "--llm gguf:PATH for a written answer")


@dataclass(frozen=True, slots=True)
class PromptSet:
    """Every text the engine sends to a model, in one language."""

    answer: str
    open_rule: str
    reject_rule: str
    question: str
    """the user turn: ``{context}`` and ``{question}``"""
    sections: dict[str, str]
    """section key -> heading"""
    rate: str
    """dynamic community selection: ``{question}`` and ``{report}``"""
    map_system: str
    map_user: str
    """``{reports}`` and ``{question}``"""
    reduce_heading: str


EN = PromptSet(
    answer=("You answer questions from the numbered context below. After each statement, cite the passages that "
            "support it with their numbers in square brackets, like [1] or [2, 3]. Cite only numbers that appear in "
            "the context. Be concise: one to three sentences unless the question asks for more."),
    open_rule=(f"If the context does not contain the answer, you may answer from your own knowledge, but end every "
               f"such statement with {UNCITED_MARK['en']} and cite no passage for it."),
    reject_rule=(f"If the context does not support an answer, reply exactly: {INSUFFICIENT['en']}. Do not guess and "
                 "do not use knowledge from outside the context."),
    question="Context:\n{context}\n\nQuestion: {question}\nAnswer:",
    sections={"entities": "Entities", "relations": "Relations", "passages": "Passages",
              "reports": "Community reports", "documents": "Documents"},
    rate=("How useful is this community report for answering the question? Rate it from 0 (unrelated) to 5 (it "
          'answers the question). Reply with JSON {{"score": N}}.\n\nQuestion: {question}\n\nReport:\n{report}'),
    map_system=("You read community reports and list the points that help answer a question. Each point states one "
                "fact and cites the numbered evidence it rests on, like [1]. Score each point from 0 to 100 for how "
                "much it matters to the answer. If the reports say nothing relevant, return no points."),
    map_user=('Reports:\n{reports}\n\nQuestion: {question}\n\nReply with JSON {{"points": [{{"description": '
              '"... [n]", "score": 0-100}}]}}.'),
    reduce_heading="Key points from community reports, most important first",
)

ZH = PromptSet(
    answer=("请根据下面带编号的资料回答问题。每个陈述之后用方括号注明支持它的资料编号，例如 [1] 或 [2, 3]。"
            "只能引用资料中出现的编号。回答要简洁，除非问题需要，一到三句即可。"),
    open_rule=f"如果资料中没有答案，可以根据你自己的知识回答，但每个这样的陈述后要标注{UNCITED_MARK['zh']}，且不要为它引用资料。",
    reject_rule=f"如果资料不足以支持回答，只回答：{INSUFFICIENT['zh']}。不要猜测，也不要使用资料以外的知识。",
    question="资料：\n{context}\n\n问题：{question}\n回答：",
    sections={"entities": "实体", "relations": "关系", "passages": "段落", "reports": "社区报告", "documents": "文档"},
    rate=('这份社区报告对回答问题有多大用处？从 0（无关）到 5（能回答问题）打分。用 JSON 回答 {{"score": N}}。'
          "\n\n问题：{question}\n\n报告：\n{report}"),
    map_system=("你阅读社区报告，列出有助于回答问题的要点。每个要点陈述一个事实，并注明它依据的证据编号，例如 [1]。"
                "为每个要点打 0 到 100 分，表示它对回答的重要程度。如果报告与问题无关，不要列出要点。"),
    map_user='报告：\n{reports}\n\n问题：{question}\n\n用 JSON 回答 {{"points": [{{"description": "…… [n]", "score": 0-100}}]}}。',
    reduce_heading="社区报告中的要点（按重要程度排列）",
)


def prompts_for(lang: str) -> PromptSet:
    return ZH if lang == "zh" else EN


def answer_messages(p: PromptSet, context: str, question: str, *, reject: bool) -> list[ChatMessage]:
    """The system rules (open or reject mode) and the user turn with the context."""
    rules = f"{p.answer} {p.reject_rule if reject else p.open_rule}"
    return [system(rules), user(p.question.format(context=context, question=question))]


def is_insufficient(text: str) -> bool:
    """Whether a reply is the reject-mode refusal (in either language)."""
    head = text.strip().strip("\"'“”.。 ").lower()
    return any(head.startswith(phrase) for phrase in INSUFFICIENT.values())
