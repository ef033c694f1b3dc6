"""A demo exporter and a local Prometheus launcher, used by ``make demo`` and by the tests."""
