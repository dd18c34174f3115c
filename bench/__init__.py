"""The benchmark harness (``make bench``; docs/benchmarks.md). Not part of the app."""
