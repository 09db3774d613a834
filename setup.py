"""The one compiled part: graph mode's PageRank loop (src/banyan/graph/_push.c). Everything else
is declared in pyproject.toml. Optional: where it cannot be compiled (no C compiler), the install
goes on without it and graph mode walks by power iteration (banyan.graph.push.compiled())."""

import os

from setuptools import Extension, setup

# no fused multiply-adds: the compiled loop's sums equal banyan.graph.push._push's, bit for bit
setup(ext_modules=[Extension("banyan.graph._push", ["src/banyan/graph/_push.c"], optional=True,
                             extra_compile_args=[] if os.name == "nt" else ["-ffp-contract=off"])])
