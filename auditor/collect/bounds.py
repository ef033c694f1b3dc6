"""What the collectors read of the settings, as they need it: ``config`` validates the values and the root hands
them over, and ``collect`` does not import the settings' schema (docs/architecture.md)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Protocol


class TlsFiles(Protocol):
    @property
    def ca_file(self) -> Path | None: ...

    @property
    def cert_file(self) -> Path | None: ...

    @property
    def key_file(self) -> Path | None: ...

    @property
    def insecure_skip_verify(self) -> bool: ...


class BasicAuthFile(Protocol):
    @property
    def username(self) -> str: ...

    @property
    def password_file(self) -> Path: ...


class PrometheusAccess(Protocol):
    """How to reach Prometheus: credentials (files re-read per request), TLS, the per-request timeout."""

    @property
    def timeout(self) -> timedelta: ...

    @property
    def bearer_token_file(self) -> Path | None: ...

    @property
    def basic_auth(self) -> BasicAuthFile | None: ...

    @property
    def tls(self) -> TlsFiles: ...


class CensusBounds(Protocol):
    @property
    def tsdb_limit(self) -> int: ...

    @property
    def chunk_size(self) -> int: ...

    @property
    def label_stats_top(self) -> int: ...


class DrilldownBounds(Protocol):
    @property
    def max_metrics(self) -> int: ...

    @property
    def max_requests(self) -> int: ...

    @property
    def max_bytes(self) -> int: ...

    @property
    def max_time(self) -> timedelta: ...

    @property
    def proof_interval(self) -> timedelta: ...


class LabelPolicyBounds(Protocol):
    @property
    def max_queries(self) -> int: ...

    @property
    def max_time(self) -> timedelta: ...

    @property
    def interval(self) -> timedelta: ...


class JobsBounds(Protocol):
    @property
    def enabled(self) -> bool: ...

    @property
    def top_targets(self) -> int: ...

    @property
    def max_jobs(self) -> int: ...

    @property
    def max_attributed(self) -> int: ...
