"""Rendering: the self-metrics collector, the HTTP endpoints, CLI tables and JSON."""
