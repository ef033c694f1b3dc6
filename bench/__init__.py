"""Benchmarks (`make bench`): figures next to the DESIGN 5 targets. Not shipped in the wheel."""
