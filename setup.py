"""The one compiled part: graph mode's PageRank loop (src/banyan/graph/_push.c). Everything else
is declared in pyproject.toml."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("banyan.graph._push", ["src/banyan/graph/_push.c"],
                             extra_compile_args=["-O2"] if __import__("os").name != "nt" else [])])
