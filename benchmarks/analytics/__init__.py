"""Benchmark of the admin reports against hand-written SQL (``python -m benchmarks analytics``)."""
