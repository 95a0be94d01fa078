"""What the benchmark scripts share: running a step in a child process, latency percentiles, and
``benchmarks/search.py``'s corpus, steps and tables. Library modules only; every benchmark is a
script directly in ``benchmarks/``, and ``tests/benchmarks`` runs each at a tiny size."""
