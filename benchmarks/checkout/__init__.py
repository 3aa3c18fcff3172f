"""The checkout benchmark: ``python -m benchmarks checkout``."""
