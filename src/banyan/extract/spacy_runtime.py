"""How the spaCy pipeline runs: its matrix products on numpy's BLAS, one BLAS thread per parsing
process, and forked worker processes that never free what the parent held.

Kept apart from the extraction rules (``extract.english``), which only read parsed documents.
"""

from __future__ import annotations

import gc
import multiprocessing
from contextlib import AbstractContextManager
from functools import partial
from multiprocessing.pool import Pool
from typing import Any


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
