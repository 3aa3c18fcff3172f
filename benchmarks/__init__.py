"""Hot-path benchmarks: our use cases against hand-written raw-driver code, in the same run."""
