"""Eval: metrics and benchmarks."""
