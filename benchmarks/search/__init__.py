"""The search benchmark: ``python -m benchmarks search`` (see ``benchmarks/README.md``)."""
