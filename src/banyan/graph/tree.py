"""The knowledge tree's community layer: keywords, titles and extractive reports (no LLM).

Built from the labels of ``communities.dual_perception``: for each community at each level,
keywords are the members that best combine centrality inside the community with closeness to
its semantic centroid; the report cites the members' own chunks and the triples among them.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from banyan.graph.kg import KnowledgeGraph
from banyan.types import Community, CommunityReport, ReportEvidence, content_id


def keywords(adj: sp.csr_matrix, vecs: np.ndarray, members: np.ndarray, k: int = 5) -> list[int]:
    """Members ranked by internal degree (normalized) x cosine to the community centroid."""
    sub = adj[members][:, members]
    deg = np.asarray(sub.sum(axis=1)).ravel()
    deg = deg / deg.max() if deg.max() > 0 else np.ones(len(members))
    cent = vecs[members].mean(axis=0)
    cent = cent / max(float(np.linalg.norm(cent)), 1e-12)
    score = (0.5 + 0.5 * deg) * (vecs[members] @ cent)
    return [int(members[i]) for i in np.argsort(-score, kind="stable")[:k]]


def build_tree(kg: KnowledgeGraph, adj: sp.csr_matrix, vecs: np.ndarray, levels: list[np.ndarray],
               chunk_text: dict[str, str], min_size: int = 2) -> list[Community]:
    """Communities of every level (those with at least ``min_size`` members), with reports."""
    out: list[Community] = []
    n_e = kg.n_entities
    for lv, labels in enumerate(levels):
        parent_labels = levels[lv + 1] if lv + 1 < len(levels) else None
        for c in range(int(labels.max()) + 1):
            members = np.flatnonzero(labels == c)
            if len(members) < min_size:
                continue
            top = keywords(adj, vecs, members)
            names = [kg.names[i] for i in top]
            cid = content_id("community", str(lv), *sorted(kg.entity_ids[i] for i in members))
            parent = None
            if parent_labels is not None:
                p = int(parent_labels[members[0]])
                parent = content_id("community", str(lv + 1),
                                    *sorted(kg.entity_ids[i] for i in np.flatnonzero(parent_labels == p)))
            homes = [h for i in top for h in kg.home.get(i, [])][:3]
            cited = [kg.chunk_ids[h - n_e] for h in homes]
            sentences = [first_sentence(chunk_text.get(cid_, "")) for cid_ in cited]
            report = CommunityReport(tuple(names), len(members),
                                     tuple(ReportEvidence(ch, s) for ch, s in zip(cited, sentences) if s))
            out.append(Community(cid, lv, parent, len(members), " / ".join(names[:3]), tuple(names), report,
                                 tuple(kg.entity_ids[m] for m in members)))
    return out


def first_sentence(text: str, limit: int = 300) -> str:
    for end in (". ", "。", "\n"):
        i = text.find(end)
        if 0 < i < limit:
            return text[: i + len(end)].strip()
    return text[:limit].strip()
