"""Benchmarks (`make bench`): figures next to the targets of docs/benchmarks.md. Not shipped in the wheel."""
