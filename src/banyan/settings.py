"""All of Banyan's settings and their defaults, in one place.

Precedence, highest first: values passed in code or by CLI flags, environment variables
(``BANYAN_SECTION__KEY``, e.g. ``BANYAN_EMBEDDING__BACKEND=e5``), the index's ``banyan.toml``,
then the defaults below. Nothing else in the package defines a default.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator, model_validator

from banyan.errors import ConfigError

SearchMode = str
"""A mode name: ``auto`` or a key of ``retrieval.modes``."""
EmbeddingBackend = Literal["onnx", "sentence-transformers", "e5", "openai", "hash"]

CONFIG_FILE = "banyan.toml"
STORE_SCHEMES = ("postgresql://", "postgres://")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IndexSettings(_Section):
    dir: Path = Path(".banyan")


class StoreSettings(_Section):
    url: str = Field("", description="where the index's data lives: empty for SQLite in the index directory, or "
                                     "postgresql://USER@HOST:PORT/DBNAME for a PostgreSQL server (`banyan index "
                                     "--store`); ${VAR} is taken from the environment; a password is never "
                                     "written to banyan.toml (use PGPASSWORD, ~/.pgpass or ${VAR})")

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(STORE_SCHEMES):
            raise ValueError(f"store.url: {redact_url(value)!r} is not a store URL; use postgresql://USER@HOST/DBNAME "
                             "(or leave it empty for SQLite in the index directory)")
        return value


class IngestSettings(_Section):
    max_file_mb: float = Field(200.0, gt=0, description="files larger than this are skipped and reported")
    extensions: list[str] = [".txt", ".md", ".markdown", ".json", ".jsonl", ".pdf", ".docx", ".html", ".htm"]


class ChunkingSettings(_Section):
    max_tokens: int = Field(200, ge=16, description="chunk size in tokens (words; one CJK character = one token)")
    overlap_tokens: int = Field(32, ge=0)

    @model_validator(mode="after")
    def _overlap_smaller(self) -> ChunkingSettings:
        if self.overlap_tokens >= self.max_tokens:
            raise ValueError("chunking.overlap_tokens must be smaller than chunking.max_tokens")
        return self


LANGUAGES = ("en", "zh")
"""the languages ``text.detect_lang`` tells a question apart by (a test keeps them equal)"""


class EmbeddingSettings(_Section):
    backend: EmbeddingBackend = "onnx"
    model: str = Field("", description="model directory or name; empty = the backend's bundled default")
    quantize: bool = Field(True, description="int8 dynamic quantization (onnx backend)")
    batch_size: int = Field(32, ge=1)
    max_length: int = Field(256, ge=8, description="max word pieces per passage")
    threads: int = Field(0, ge=0, description="inference threads; 0 = all cores")
    include_title: bool = Field(True, description="embed 'title + text' rather than text alone")
    cache_dir: Path | None = Field(None, description="where built ONNX models live; default ~/.cache/banyan")
    languages: list[str] | None = Field(
        None, description="languages the model reads (e.g. [\"en\", \"zh\"]): for a question in another one every "
        "dense step stands aside; unset = the backend's own: English for onnx and sentence-transformers, "
        "every language for e5, openai and hash")
    base_url: str | None = None
    api_key: str | None = None

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: list[str] | None) -> list[str] | None:
        """A language Banyan does not tell apart would silently switch dense retrieval off."""
        unknown = [lang for lang in value or [] if lang not in LANGUAGES]
        if unknown:
            raise ValueError(f"embedding.languages: {', '.join(map(repr, unknown))} is not a language Banyan "
                             f"detects in questions; use {', '.join(LANGUAGES)}")
        return value


class ModeSettings(_Section):
    """A search mode: the routes it fuses (reciprocal-rank fusion) and their weights.

    A mode with one route returns that route's ranking as it is. Route names: dense, bm25,
    hybrid (bm25 + dense fused), ppr, home, bridge, entity, path, community, facts. A route that
    reports how much of the question its hits explain (facts) votes with its weight times the square
    of its best hit's share (``retrieve.search.route_weight``).
    """

    routes: dict[str, float]
    limits: dict[str, int] = Field(default_factory=dict, description="at most this many hits of a route")
    requires: str | None = Field(None, description="if this route finds nothing, answer with `fallback` instead")
    fallback: str | None = None
    min_confidence: dict[str, float] = Field(
        default_factory=dict, description="a route that reports confidence votes only when its best hit's is at "
        "least this (facts in graph mode: only a path that explains every word of the question)")


def _default_modes() -> dict[str, ModeSettings]:
    graph = {"ppr": 1.0, "bridge": 0.5, "home": 1.0}
    return {
        "dense": ModeSettings(routes={"dense": 1.0}),
        "bm25": ModeSettings(routes={"bm25": 1.0}),
        "hybrid": ModeSettings(routes={"hybrid": 1.0}),
        # PPR + the question's entities' own chunks + two-hop bridges; communities once built
        # (2Wiki dev, community at 0.1: recall@5 unchanged, inference +1.0, recall@2 -0.4).
        # With no linked entity that has its own text there is nothing to walk from: hybrid.
        # A fact path that explains the whole question votes too ("the founder of the company that built X":
        # the quickstart's three-hop answer); a partial one does not (2Wiki recall@5 95.7 either way).
        "graph": ModeSettings(routes={**graph, "community": 0.1, "facts": 1.0}, limits={"home": 4},
                              requires="home", fallback="hybrid", min_confidence={"facts": 1.0}),
        # hybrid plus the relation-aware fact walk, which votes by how much of the question its best path
        # explains, and only when that is at least half of it: below, on long medical and narrative
        # questions, its passages were mostly about something else (GraphRAG-Bench recall@5, medical
        # 68.4 -> 68.9, novel 66.1 -> 66.9; everyday English unchanged, everyday Chinese 77.3 -> 76.1, one
        # question). Hybrid alone when the walk finds nothing. What `auto` uses on corpora graph mode does not fit.
        "hybrid+facts": ModeSettings(routes={"hybrid": 1.0, "facts": 1.0}, requires="facts", fallback="hybrid",
                                     min_confidence={"facts": 0.5}),
        # hybrid, the PageRank walk (seeded by hybrid's passages and the linked entities) and the fact walk, equal
        # votes. What `auto` uses where the embedder does not read the question's language: hybrid is then BM25
        # alone, and the walk stands in for the dense route (everyday Chinese recall@5 76.1 -> 86.4, CMRC 3,219
        # questions 99.4 -> 99.3). Where dense applies the walk only adds noise to it (everyday English 75.6 ->
        # 75.6 but recall@2 62.2 -> 58.0, GraphRAG-Bench medical 68.9 -> 65.5, against hybrid+facts).
        "hybrid+ppr": ModeSettings(routes={"hybrid": 1.0, "ppr": 1.0, "facts": 1.0}, min_confidence={"facts": 0.5}),
        # the graph fusion with the baselines and the other graph routes as minor voices
        "hybrid+graph": ModeSettings(routes={"bm25": 0.3, "dense": 0.3, **graph, "entity": 0.3, "path": 0.3},
                                     limits={"home": 4}),
    }


class RetrievalSettings(_Section):
    default_mode: SearchMode = Field(
        "auto", description="auto = graph for English questions on an entity-titled corpus; hybrid+ppr where the "
        "embedder does not read the question's language; hybrid+facts on other "
        "corpora with a graph, hybrid without one")
    modes: dict[str, ModeSettings] = Field(default_factory=_default_modes)
    auto_modes: dict[str, str] = Field(
        default_factory=lambda: {"en": "graph"},
        description="language -> mode `auto` uses when the index has a graph and the corpus is entity-titled "
        "(none for Chinese: its extraction is POS-only, and on CMRC 2018 graph mode trails hybrid, "
        "98.2 vs 99.0 recall@5)")
    auto_with_graph: str = Field(
        "hybrid+facts", description="what `auto` uses when the index has a graph but auto_modes does not apply "
        "(a corpus that is not entity-titled, or a language auto_modes lacks but the embedder reads)")
    auto_uncovered: str = Field(
        "hybrid+ppr", description="what `auto` uses when the index has a graph, auto_modes does not apply and "
        "the embedder does not read the question's language (the default English model, a Chinese question)")
    auto_fallback: str = Field("hybrid", description="what `auto` uses on an index without a graph")
    auto_graph_min_titled: float = Field(
        0.5, ge=0, le=1, description="`auto` uses auto_modes only when at least this share of documents "
        "are about an entity their title names (graph.corpus.entity_titled_share; measured when entities are "
        "resolved: 2Wiki 0.84, our everyday notes 0.01, GraphRAG-Bench medical 0.0); otherwise auto_with_graph")
    k: int = Field(10, ge=1)
    rrf_k: int = Field(60, ge=1, description="reciprocal-rank-fusion constant")
    candidates: int = Field(100, ge=1, description="hits each route contributes before fusion")
    bm25_k1: float = 1.5
    bm25_b: float = 0.75

    @field_validator("modes", mode="before")
    @classmethod
    def _add_to_defaults(cls, value: Any) -> Any:
        """Modes given in settings add to (or replace by name) the built-in ones."""
        if not isinstance(value, dict):
            return value
        return {**_default_modes(), **value}

    @model_validator(mode="after")
    def _uncovered_follows_with_graph(self) -> RetrievalSettings:
        """Settings that choose ``auto_with_graph`` and say nothing of ``auto_uncovered`` (written before it
        existed) keep their choice for every question."""
        if "auto_with_graph" in self.model_fields_set and "auto_uncovered" not in self.model_fields_set:
            self.auto_uncovered = self.auto_with_graph
        return self

    @model_validator(mode="after")
    def _modes_known(self) -> RetrievalSettings:
        names = set(self.modes) | {"auto"}
        for name, mode in self.modes.items():
            if mode.fallback is not None and mode.fallback not in self.modes:
                raise ValueError(f"retrieval.modes.{name}.fallback: unknown mode {mode.fallback!r}")
        for where, mode in [("default_mode", self.default_mode), ("auto_fallback", self.auto_fallback),
                            ("auto_with_graph", self.auto_with_graph), ("auto_uncovered", self.auto_uncovered),
                            *((f"auto_modes.{k}", v) for k, v in self.auto_modes.items())]:
            if mode not in names:
                raise ValueError(f"retrieval.{where}: unknown mode {mode!r}; known: {', '.join(sorted(names))}")
        return self


class GraphSettings(_Section):
    enabled: bool = Field(True, description="extract entities and relations (no LLM) while indexing")
    schema_path: Path | None = Field(None, description="graph schema YAML/JSON; default: the bundled general schema")
    merge_threshold: float = Field(0.93, ge=0, le=1, description="name-embedding cosine to merge two entities")
    relation_threshold: float = Field(0.55, ge=0, le=1, description="phrase-to-relation-type cosine to type a triple")
    ppr_damping: float = Field(0.5, gt=0, lt=1)
    ppr_tol: float = Field(
        3e-3, gt=0, description="PageRank stops when a step moves less than this much mass (L1): about 7 steps "
        "instead of 8 at 1e-3 and 13 at 1e-5; graph and auto recall@2/5/10 on all six dev sets are the same as at "
        "1e-3 (hybrid+graph moved by one question on two sets); 2Wiki graph p50 9.4 -> 8.8 ms")
    ppr_method: Literal["push", "power"] = Field(
        "push", description="how graph mode's PageRank is computed: push (mass moves only where a node holds more "
        "than ppr_eps per edge; graph.push; built for dampings like 0.5: near 1 pushes multiply, and past two "
        "passes' worth of reads over the graph the power iteration takes over) or power (the whole matrix every step until a step "
        "moves less than ppr_tol)")
    ppr_eps: float = Field(
        1e-6, gt=0, description="push: a node passes its mass on once it holds more than this per out-edge. At "
        "1e-6 the top 10 chunks equal the exact walk's (tol 1e-12) more often than the power iteration's at "
        "ppr_tol 3e-3 on all six dev sets (2Wiki 474 vs 467 of 500 questions), and recall@2/5/10 of every mode "
        "is the same on all six; 2Wiki walk 4.5 -> 1.1 ms")
    passage_seed_weight: float = Field(0.05, ge=0, description="weight of dense/BM25 passage seeds vs entity seeds")
    link_threshold: float = Field(0.8, ge=0, le=1, description="cosine for linking a query mention to an entity")
    seed_passages: int = Field(20, ge=0)
    path_hops: int = Field(2, ge=1, le=4)
    relation_boost: float = Field(0.0, ge=0, description="extra weight on edges of relation types the query asks about")
    fact_hops: int = Field(3, ge=1, le=6, description="facts route: at most this many triples from a named entity")
    fact_beam: int = Field(8, ge=1, description="facts route: entities kept per hop of the walk")
    extractor: Literal["nlp", "llm", "hybrid"] = Field(
        "nlp", description="nlp (spaCy/jieba, no LLM), llm (the configured LLM reads every chunk) or hybrid "
        "(NLP everywhere, the LLM only for chunks whose entities NLP left unlinked)")
    llm_batch_tokens: int = Field(900, ge=50, description="passage tokens sent per LLM extraction call (batching)")
    llm_batch_chunks: int = Field(8, ge=1, description="at most this many chunks per LLM extraction call")
    llm_output_tokens_per_chunk: int = Field(
        160, ge=16, description="reply tokens allowed per chunk (a call gets this times its chunks, within "
        "llm.max_output_tokens, which also caps the chunks per call)")
    llm_gleaning: int = Field(0, ge=0, le=3, description="extra 'what was missed?' rounds per call (costly; off)")
    hybrid_min_unlinked: int = Field(
        2, ge=1, description="hybrid: a chunk goes to the LLM when at least this many of its entities are in no "
        "NLP relation")
    proposal_min_chunks: int = Field(3, ge=1, description="a proposed schema type is listed once this many chunks "
                                     "support it")
    auto_accept_min_chunks: int = Field(0, ge=0, description="accept a proposed type once this many chunks support "
                                        "it (0 = only `banyan schema accept`)")


class CommunitySettings(_Section):
    """Dual-perception community detection (graph structure + embedding semantics, no LLM)."""

    lam: float = Field(0.8, ge=0, le=1, description="weight of structure vs semantics (1 - lam)")
    threshold: float = Field(0.1, ge=0, le=1, description="merge two communities while their score passes this")
    size_cap: int = Field(2000, ge=2, description="no merge makes a community larger than this")
    init_size: int = Field(20, ge=2, description="average size of the initial k-means clusters")
    max_levels: int = Field(12, ge=1)
    seed: int = 0


class Price(_Section):
    """US dollars per million tokens."""

    input: float = Field(0.0, ge=0)
    output: float = Field(0.0, ge=0)


class LLMSettings(_Section):
    """The LLM behind extraction, decomposition and answers. Empty model = no LLM configured."""

    model: str = Field("", description="model name for an OpenAI-compatible endpoint, or gguf:PATH")
    base_url: str | None = None
    api_key: str | None = None
    timeout_s: float = Field(60.0, gt=0, description="per-call timeout")
    max_retries: int = Field(5, ge=0)
    backoff_base_s: float = Field(1.0, ge=0, description="first retry delay; doubles each time, with jitter")
    backoff_max_s: float = Field(60.0, ge=0)
    max_concurrency: int = Field(4, ge=1)
    requests_per_minute: float = Field(0.0, ge=0, description="0 = unlimited")
    tokens_per_minute: float = Field(0.0, ge=0, description="0 = unlimited")
    budget_tokens: int = Field(0, ge=0, description="stop cleanly before this many tokens are spent; 0 = no budget")
    context_window: int = Field(8192, ge=256, description="the model's context size in tokens")
    max_output_tokens: int = Field(1024, ge=1)
    temperature: float = Field(0.0, ge=0)
    cache: bool = True
    json_mode: Literal["object", "schema", "none"] = Field(
        "object", description="how JSON is requested: response_format json_object (widest support), json_schema, or prompt only")
    n_ctx: int = Field(4096, ge=256, description="context size for a local GGUF model")
    prices: dict[str, Price] = Field(
        default_factory=lambda: {
            "gpt-4o-mini": Price(input=0.15, output=0.60),
            "gpt-4o": Price(input=2.50, output=10.0),
            "gpt-4.1-mini": Price(input=0.40, output=1.60),
            "deepseek-chat": Price(input=0.27, output=1.10),
        },
        description="price table; models not listed cost 0 (local models)",
    )


class AnswerSettings(_Section):
    """`banyan ask`: context assembly, modes and the global map-reduce (``banyan.answer``)."""

    context_tokens: int = Field(
        5000, ge=100, description="context budget in tokens, sized for an 8k window: with the LLM layer's generous "
        "estimate (words x 1.3), the prompt and `max_answer_tokens` it stays under 8192; ask() also clamps it to "
        "fit a smaller llm.context_window")
    max_answer_tokens: int = Field(800, ge=16, description="reply tokens allowed for the answer (and the reduce step)")
    auto_modes: dict[str, str] = Field(
        default_factory=lambda: {"en": "mix", "zh": "mix"},
        description="language -> mode `auto` uses when the index has a graph and the corpus does not fit the budget")
    auto_fallback: str = Field("naive", description="what `auto` uses on an index without a graph")
    auto_full: bool = Field(True, description="`auto` answers from the full text when the whole corpus fits the budget")
    passages: int = Field(20, ge=1, description="passages retrieved per mode before the budget cuts them")
    naive_search: str = Field("dense", description="retrieval mode of `naive` (hybrid for a language the embedder "
                              "does not cover)")
    mix_searches: dict[str, float] = Field(
        default_factory=lambda: {"auto": 1.0, "hybrid": 0.5},
        description="retrieval modes `mix` and `local` fuse (weighted reciprocal rank) for their passages")
    entity_share: float = Field(0.1, ge=0, le=1, description="mix: at most this share of the budget for entities")
    relation_share: float = Field(0.15, ge=0, le=1, description="mix: at most this share for relations")
    local_entity_share: float = Field(0.2, ge=0, le=1, description="local: share for entities and attributes")
    local_relation_share: float = Field(0.25, ge=0, le=1, description="local: share for relations")
    max_entities: int = Field(8, ge=0, description="linked entities described in a context")
    max_relations: int = Field(40, ge=0, description="relations listed in a context")
    entity_chunks: int = Field(6, ge=0, description="local: chunks per linked entity, those about it first")
    full_seed_passages: int = Field(
        5, ge=1, description="full: when the corpus does not fit, the documents of this many top passages (and of "
        "the question's entities) are read whole, as many as fit")
    extractive_sentences: int = Field(3, ge=1, description="sentences in an answer written without an LLM")
    extractive_min_overlap: float = Field(
        0.34, ge=0, le=1, description="reject mode without an LLM: the best sentence must share this share of the "
        "question's content words (weighted by rarity), else 'insufficient evidence'")
    global_selection: bool = Field(True, description="global: rate community reports top-down and map only the "
                                   "relevant ones (dynamic community selection); off: map every report of "
                                   "`global_level`")
    global_level: int = Field(0, ge=0, description="global without selection: the community level mapped "
                              "(0 = the finest)")
    global_rating_threshold: int = Field(2, ge=0, le=5, description="a report rated below this (0-5) is pruned "
                                         "with its sub-communities")
    global_max_ratings: int = Field(64, ge=1, description="at most this many reports rated per question")
    global_map_tokens: int = Field(3000, ge=100, description="report tokens per map call")
    global_report_tokens: int = Field(24000, ge=100, description="report tokens mapped per question, in all")
    global_map_answer_tokens: int = Field(400, ge=16, description="reply tokens per map call")
    agent_max_steps: int = Field(4, ge=1, description="agent: at most this many retrieval steps (sub-questions) "
                                 "per question")
    agent_bridge_passages: int = Field(3, ge=0, description="agent: the entities the graph links from this many top "
                                       "passages of a step seed the next hop (0: no graph-native bridge)")
    agent_bridge_entities: int = Field(4, ge=0, description="agent: bridge entities whose own chunks join a hop")
    agent_first_hop_share: float = Field(0.6, ge=0, le=1, description="agent without reflection: share of the "
                                         "budget the first hop's passages may take before the bridge hop's")
    transform: str = Field("none", description="query transform applied before any mode (needs an LLM): none, "
                           "multi-query (paraphrases fused by reciprocal rank), hyde (a hypothetical answer passage "
                           "embedded as the query), step-back (a broader question retrieved too)")
    transform_queries: int = Field(3, ge=1, description="multi-query: paraphrases asked for")
    transform_share: float = Field(0.5, ge=0, le=1, description="share of the budget the transform's fused passages "
                                   "may take before the mode's own sections")
    reranker: str = Field("none", description="rerank retrieved passages before they enter the context: none, "
                          "llm (listwise, one call per passage list), http (OpenAI-compatible POST /rerank), "
                          "cross-encoder (sentence-transformers over `rerank_model`)")
    rerank_model: str = Field("", description="http: the model name sent to /rerank; cross-encoder: a model folder")
    rerank_url: str = Field("", description="http: the base URL of /rerank [default: llm.base_url]")
    rerank_top_n: int = Field(20, ge=2, description="passages of each retrieved list that are reranked")
    triple_filter: bool = Field(False, description="graph routes: the LLM keeps the relevant facts among the top "
                                "triples of the question's entities, whose entities then seed the walk (HippoRAG 2's "
                                "recognition memory; one call per question)")
    triple_filter_top: int = Field(20, ge=1, description="triple filter: facts offered to the LLM")
    agent_reflect_tokens: int = Field(300, ge=16, description="agent: reply tokens of a decomposition or "
                                      "reflection call")

    @model_validator(mode="after")
    def _modes_known(self) -> AnswerSettings:
        known = {"naive", "mix", "local", "global", "full", "agent"}
        for where, mode in [("auto_fallback", self.auto_fallback), *((f"auto_modes.{k}", v)
                                                                      for k, v in self.auto_modes.items())]:
            if mode not in known:
                raise ValueError(f"answer.{where}: unknown answer mode {mode!r}; known: {', '.join(sorted(known))}")
        if self.reranker not in {"none", "llm", "http", "cross-encoder"}:
            raise ValueError(f"answer.reranker: unknown reranker {self.reranker!r}; known: none, llm, http, "
                             "cross-encoder")
        if self.transform not in {"none", "multi-query", "hyde", "step-back"}:
            raise ValueError(f"answer.transform: unknown query transform {self.transform!r}; known: none, "
                             "multi-query, hyde, step-back")
        return self


class VectorSettings(_Section):
    """Dense search: exact below ``ann_threshold`` vectors, the ``backend`` index above it (docs/vector-search.md).

    The store stays the source of truth: vectors are cached as a memory-mapped ``.npy`` file and the
    approximate index is built from them under ``<index>/vectors/``, rebuilt when the store's vectors
    change; a missing or damaged cache file is rebuilt, never an error."""

    backend: Literal["exact", "hnsw", "milvus"] = Field(
        "hnsw", description="exact: always brute force; hnsw: usearch HNSW on disk (embedded); milvus: a Milvus "
        "server or cluster through pymilvus (`pip install 'banyan-rag[milvus]'`), milvus-lite when milvus_uri is empty")
    ann_threshold: int = Field(50_000, ge=0, description="below this many vectors search is exact (and exact is "
                               "what a restricted caller seeing fewer chunks than this gets); 0 = always the backend")
    hnsw_connectivity: int = Field(32, ge=4, le=128, description="HNSW M: neighbours per node")
    hnsw_expansion_add: int = Field(128, ge=8, description="HNSW efConstruction: candidates while building")
    hnsw_expansion_search: int = Field(512, ge=8, description="HNSW ef: candidates per search (recall vs latency; "
                                       "512 keeps recall@10 >= 0.95 at 1M vectors, docs/vector-search.md)")
    hnsw_dtype: Literal["f32", "f16", "i8"] = Field(
        "f16", description="how the HNSW file stores vectors; results are rescored with the exact float32 vectors")
    candidates: float = Field(2.0, ge=1.0, description="an ANN search fetches k x this many before exact rescoring")
    build_threads: int = Field(0, ge=0, description="threads building the HNSW index; 0 = all cores")
    milvus_uri: str = Field("", description="e.g. http://milvus:19530 for a server or cluster; empty = milvus-lite "
                            "in <index>/vectors/milvus.db")
    milvus_token: str | None = Field(None, description="user:password or an API key, if the server wants one")
    milvus_db: str = Field("", description="Milvus database; empty = the server's default")
    milvus_collection: str = Field("", description="collection name; empty = banyan_<model>_<index id>")


class Settings(BaseModel):
    """Every setting Banyan reads. Build with :func:`load_settings` to honour ``banyan.toml``.

    ``Settings(**values)`` reads the environment as a pydantic-settings ``BaseSettings`` would
    (``BANYAN_SECTION__KEY``; ``values`` win): see ``env_values``."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    index: IndexSettings = IndexSettings()
    store: StoreSettings = StoreSettings()
    ingest: IngestSettings = IngestSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    embedding: EmbeddingSettings = EmbeddingSettings()
    vectors: VectorSettings = VectorSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    graph: GraphSettings = GraphSettings()
    communities: CommunitySettings = CommunitySettings()
    llm: LLMSettings = LLMSettings()
    answer: AnswerSettings = AnswerSettings()

    def __init__(self, **values: Any) -> None:
        super().__init__(**_deep_merge(env_values(), values))


ENV_PREFIX = "BANYAN_"
ENV_NESTED = "__"


def _env_names_settings() -> bool:
    """Whether an environment variable names a setting (``BANYAN_<SECTION>`` or ``BANYAN_<SECTION>__...``,
    any case, as pydantic-settings matches them); ``BANYAN_LLM_MODEL`` and the like do not."""
    import os

    prefix = ENV_PREFIX.lower()
    sections = Settings.model_fields
    for name in os.environ:
        low = name.lower()
        if low.startswith(prefix):
            section, _, _ = low[len(prefix):].partition(ENV_NESTED)
            if section in sections:
                return True
    return False


def env_values() -> dict[str, Any]:
    """The settings environment variables set, validated, as a nested dict without defaults.

    Read by pydantic-settings, which is imported only when such a variable is set: most processes
    (every ``banyan search``) have none and do not pay for importing it."""
    if not _env_names_settings():
        return {}
    from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

    class _FromEnv(BaseSettings):
        model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter=ENV_NESTED, extra="forbid")

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings)

    fields: dict[str, Any] = {name: (f.annotation, f) for name, f in Settings.model_fields.items()}
    from_env = create_model("SettingsFromEnv", __base__=_FromEnv, **fields)
    dumped: dict[str, Any] = from_env().model_dump(exclude_defaults=True, mode="json")
    return dumped


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_settings(index_dir: Path | str | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Settings from ``<index_dir>/banyan.toml`` (if any), env vars and ``overrides``.

    ``overrides`` is a nested mapping such as ``{"embedding": {"backend": "e5"}}``; it wins over
    everything else, as CLI flags do.
    """
    file_values: dict[str, Any] = {}
    if index_dir is not None:
        path = Path(index_dir) / CONFIG_FILE
        if path.is_file():
            try:
                file_values = _drop_removed(tomllib.loads(path.read_text(encoding="utf-8")))
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    try:
        from_env = _deep_merge(_llm_env_aliases(), env_values())
        merged = _deep_merge(_deep_merge(file_values, from_env), overrides or {})
        if index_dir is not None:
            merged = _deep_merge(merged, {"index": {"dir": str(index_dir)}})
        return Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(f"invalid settings: {exc}") from exc


_LLM_ALIASES = {
    "model": ("BANYAN_LLM_MODEL",),
    "base_url": ("BANYAN_LLM_BASE_URL", "OPENAI_BASE_URL"),
    "api_key": ("BANYAN_LLM_API_KEY", "OPENAI_API_KEY"),
}


def _llm_env_aliases() -> dict[str, Any]:
    """The conventional LLM variables (BANYAN_LLM_MODEL, OPENAI_API_KEY, ...); first one set wins."""
    import os

    found = {}
    for key, names in _LLM_ALIASES.items():
        value = next((os.environ[n] for n in names if os.environ.get(n)), None)
        if value is not None:
            found[key] = value
    return {"llm": found} if found else {}


PINNED_SECTIONS = ("embedding", "chunking")
"""What an index's content depends on: written to ``banyan.toml`` in full, so that later commands
(and other machines) open the index with the same embedder and chunking whatever their defaults."""

_REMOVED = {"graph": ("community_weight",)}
"""Settings that older versions wrote to banyan.toml and that now live elsewhere (ignored on load)."""


def settings_to_toml(settings: Settings) -> str:
    """The pinned sections in full, and every other setting that differs from its default."""
    import tomli_w

    full = settings.model_dump(mode="json", exclude_none=True)
    changed = settings.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    data = {k: full[k] for k in PINNED_SECTIONS}
    data.update({k: v for k, v in changed.items() if k not in PINNED_SECTIONS and k != "index" and v})
    data.get("embedding", {}).pop("api_key", None)
    data.get("llm", {}).pop("api_key", None)
    if data.get("store", {}).get("url"):
        data["store"]["url"] = redact_url(data["store"]["url"])
    return tomli_w.dumps(data)


def _drop_removed(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for section, keys in _REMOVED.items():
        if isinstance(out.get(section), dict):
            out[section] = {k: v for k, v in out[section].items() if k not in keys}
    return out


def redact_url(url: str) -> str:
    """``url`` without a literal password (``${VAR}`` references stay): what may be written or shown."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None or parts.password.startswith("${"):
        return url
    user, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{user.split(':', 1)[0]}@{host}"))


def record_store_url(index_dir: Path | str, settings: Settings, *, write: bool = True) -> bool:
    """Pin ``settings.store.url`` in ``<index_dir>/banyan.toml`` so that later commands in that index
    directory open the same store. Writes the whole config when there is none yet; adds a ``[store]``
    section to an existing one (its other lines untouched). Returns True when the URL carried a
    password that was left out. ConfigError if the file already names another store (``write=False``:
    only that check)."""
    url = settings.store.url
    if not url:
        return False
    path = Path(index_dir) / CONFIG_FILE
    safe = redact_url(url)
    if path.is_file():
        try:
            recorded = tomllib.loads(path.read_text(encoding="utf-8")).get("store", {}).get("url", "")
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
        if recorded and redact_url(recorded) != safe:
            raise ConfigError(f"{Path(index_dir)} already uses the store {redact_url(recorded)} ({path}); "
                              f"index into another --index directory, or edit {path} to move it")
    if not write:
        return safe != url
        if not recorded:
            import tomli_w

            text = path.read_text(encoding="utf-8")
            addition = tomli_w.dumps({"store": {"url": safe}})
            _write_atomic(path, text.rstrip("\n") + "\n\n" + addition)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(path, "# Settings this index was built with. Edit with care: changing the embedder means\n"
                            "# re-embedding every chunk (`banyan index` does it).\n" + settings_to_toml(settings))
    return safe != url


def _write_atomic(path: Path, text: str) -> None:
    """Write beside ``path`` under a name of this process, then rename: writers never see half a file."""
    import os

    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
