"""The only code that talks HTTP to Prometheus."""

from auditor.collect.census import CensusCollector, Deadline
from auditor.collect.client import PrometheusClient
from auditor.collect.connection import build_http_client

__all__ = ["CensusCollector", "Deadline", "PrometheusClient", "build_http_client"]
