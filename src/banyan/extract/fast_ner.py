"""spaCy's greedy NER decoding, vectorized over a batch of documents: the same entities, faster.

spaCy's ``ner`` runs its network in two parts: per token (tok2vec, then the lower layer's
precomputed feature vectors) and per transition (sum three precomputed vectors, maxout, the upper
layer, the valid move with the best score). The per-token part is large matrix products; the
per-transition part is a loop in compiled code that, in the released wheels, takes and releases
the GIL for every validity test of every move of every token (74 moves): about two thirds of the
component's time, for a few hundred floating-point operations per token.

Every NER transition consumes exactly one token, so all documents of a batch advance in lockstep:
``decode`` takes step t of every document at once with numpy, using spaCy's own layers for the
per-token part and the same operations in the same order for the per-transition part (the upper
layer's product through BLIS, as spaCy's compiled step computes it, whatever ``ops`` the model's
layers use): the entities are identical. Documents come fresh
from the pipeline (no preset entities), so the validity rules reduce to the few tests below.
``FastNer.load`` gives None for any ``ner`` this does not cover (beam search, another transition
system or state shape): it then stays in the pipeline as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

MISSING, BEGIN, IN, LAST, UNIT, OUT = range(6)
"""spaCy's BILUO move codes (``spacy.pipeline._parser_internals.ner``)."""
_KINDS = {"M": MISSING, "B": BEGIN, "I": IN, "L": LAST, "U": UNIT, "O": OUT}
N_FEATURES = 3
"""Tokens of an NER state's features: the next token, the open entity's first token, the token before."""


@dataclass(frozen=True)
class Moves:
    """Each class's move code and label hash, and the class masks the validity rules need."""

    kind: np.ndarray
    label: np.ndarray

    @classmethod
    def of(cls, names: Sequence[str], strings: Any) -> Moves:
        """From the class names spaCy gives (``B-ORG``, ``U-``, ``O``) and its string store."""
        kinds, labels = [], []
        for name in names:
            move, _, label = name.partition("-")
            kinds.append(_KINDS[move])
            labels.append(strings[label] if label else 0)
        return cls(np.array(kinds, np.int64), np.array(labels, np.uint64))

    def mask(self, kind: int) -> np.ndarray:
        """Classes of move ``kind`` that may be valid: a labelled one (or OUT)."""
        return (self.kind == kind) & ((self.label != 0) | (kind == OUT))


@dataclass(frozen=True)
class Entities:
    """Decoded entities of a batch: document number, first token, end token, label hash."""

    doc: np.ndarray
    start: np.ndarray
    end: np.ndarray
    label: np.ndarray


class FastNer:
    """Decodes with the weights of a loaded spaCy ``ner`` and sets the documents' entities."""

    def __init__(self, ner: Any) -> None:
        self.ner = ner
        self.moves = Moves.of([ner.moves.get_class_name(i) for i in range(ner.moves.n_moves)], ner.vocab.strings)
        upper = ner.model.layers[2]
        self.upper_w = np.ascontiguousarray(upper.get_param("W"), np.float32)
        self.upper_b = np.asarray(upper.get_param("b"), np.float32)
        self.lower_b = np.asarray(ner.model.layers[1].get_param("b"), np.float32).ravel()
        unseen = sorted(ner.model.attrs.get("unseen_classes") or ())
        self.unseen = np.array(unseen, np.int64)
        self._begin, self._in, self._last = (self.moves.mask(k) for k in (BEGIN, IN, LAST))
        self._unit, self._out = self.moves.mask(UNIT), self.moves.mask(OUT)
        from thinc.api import NumpyOps

        self._upper_ops = NumpyOps()  # BLIS, as spaCy's compiled step (thinc's CBlas) multiplies

    @staticmethod
    def supports(ner: Any) -> bool:
        """Whether ``ner`` is a greedy BILUO parser of the shape ``decode`` implements."""
        try:
            from spacy.pipeline._parser_internals.ner import BiluoPushDown
        except ImportError:
            return False
        model = getattr(ner, "model", None)
        layers = getattr(model, "layers", None)
        if not isinstance(getattr(ner, "moves", None), BiluoPushDown) or layers is None or len(layers) != 3:
            return False
        lower = layers[1]
        listens = any("listener" in node.name for node in model.walk())  # reads another component's output
        return (not listens and ner.cfg.get("beam_width", 1) == 1 and bool(model.attrs.get("has_upper"))
                and lower.name == "precomputable_affine" and lower.get_dim("nF") == N_FEATURES
                and lower.get_dim("nP") >= 2 and not getattr(ner, "postprocesses", None))

    def __call__(self, docs: Sequence[Any]) -> None:
        """Set the entities of ``docs`` (fresh from the pipeline's earlier components)."""
        docs = list(docs)
        if not any(len(d) for d in docs):
            for doc in docs:
                doc.set_ents([], default="outside")
            return
        found = self.decode(docs)
        self.set_entities(docs, found)

    def decode(self, docs: Sequence[Any]) -> Entities:
        """The greedy transition sequence of every document, as spaCy's ``greedy_parse`` takes it."""
        model = self.ner.model
        tokvecs = model.layers[0].predict(docs)
        cached = model.layers[1].predict(tokvecs)  # row 0: padding; row i + 1: token i of the batch
        cached = np.ascontiguousarray(cached, np.float32).reshape(cached.shape[0], N_FEATURES, -1)
        lengths = np.array([len(d) for d in docs], np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        space = np.concatenate([d.to_array("IS_SPACE") for d in docs]).astype(bool)
        sent_start = np.concatenate([d.to_array("SENT_START").astype(np.int64) for d in docs]) == 1
        n = len(docs)
        is_open = np.zeros(n, bool)
        ent_start = np.zeros(n, np.int64)
        ent_label = np.zeros(n, np.uint64)
        found: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        ops = self._upper_ops
        n_pieces = model.layers[1].get_dim("nP")
        for t in range(int(lengths.max())):
            act = np.flatnonzero(lengths > t)
            b0 = offsets[act] + t
            opened = is_open[act]
            start = ent_start[act]
            rows_e = np.where(opened, start + 1, 0)
            rows_p = np.where(opened, b0, 0)  # the token before b0 (row b0 - 1 + 1), inside an entity
            unmaxed = cached[b0 + 1, 0] + cached[rows_e, 1]
            unmaxed += cached[rows_p, 2]
            unmaxed += self.lower_b
            hidden = unmaxed.reshape(len(act), -1, n_pieces).max(axis=2)
            scores = ops.gemm(np.ascontiguousarray(hidden), self.upper_w, trans2=True)
            scores += self.upper_b
            if len(self.unseen):
                scores[:, self.unseen] = scores.min()
            has_next = t + 1 < lengths[act]
            next_starts = has_next & sent_start[np.minimum(b0 + 1, len(space) - 1)]
            cur = space[b0]
            same = self.moves.label[None, :] == ent_label[act][:, None]
            closed = ~opened
            valid = ((closed & has_next & ~next_starts & ~cur)[:, None] & self._begin[None, :]) \
                | ((opened & has_next & ~next_starts)[:, None] & self._in[None, :] & same) \
                | (opened[:, None] & self._last[None, :] & same) \
                | ((closed & ~cur)[:, None] & self._unit[None, :]) \
                | (closed[:, None] & self._out[None, :])
            guess = np.where(valid, scores, -np.inf).argmax(axis=1)
            kind = self.moves.kind[guess]
            label = self.moves.label[guess]
            begins = kind == BEGIN
            is_open[act[begins]] = True
            ent_start[act[begins]] = b0[begins]
            ent_label[act[begins]] = label[begins]
            ends = kind == LAST
            units = kind == UNIT
            if ends.any() or units.any():
                done = ends | units
                first = np.where(units, b0, start)
                found.append((act[done], first[done], b0[done] + 1, label[done]))
                is_open[act[ends]] = False
        if not found:
            empty = np.zeros(0, np.int64)
            return Entities(empty, empty, empty, np.zeros(0, np.uint64))
        doc, first, end, label = (np.concatenate(parts) for parts in zip(*found))
        return Entities(doc, first - offsets[doc], end - offsets[doc], label)

    @staticmethod
    def set_entities(docs: Sequence[Any], found: Entities) -> None:
        """What spaCy's ``BiluoPushDown.set_annotations`` sets: the entities, every other token O."""
        from spacy.tokens import Span

        spans: list[list[Any]] = [[] for _ in docs]
        for d, s, e, label in zip(found.doc.tolist(), found.start.tolist(), found.end.tolist(), found.label.tolist()):
            spans[d].append(Span(docs[d], s, e, label=label))
        for doc, ents in zip(docs, spans):
            ents.sort(key=lambda span: span.start)
            doc.set_ents(ents, default="outside")
