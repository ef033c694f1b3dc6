"""Command handlers, imported only when their command runs (so `rules diff` does not load the database stack)."""
