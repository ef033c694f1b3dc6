"""Helpers shared by the command modules: the database, a Prometheus client, the stored source, JSON out.

Heavy libraries (SQLAlchemy, Alembic, httpx) are imported where they are used, so a command that
needs neither starts fast.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, TextIO

from auditor.config.settings import Settings
from auditor.core.domain import Clock
from auditor.core.errors import ConfigError
from auditor.export import jsondoc

if TYPE_CHECKING:
    from auditor.collect.client import PrometheusClient
    from auditor.store import Store


def open_store(stack: ExitStack, settings: Settings) -> Store:
    """The store of a database at the latest schema (else the one-line "run db upgrade" error)."""
    from auditor.app import wiring

    return wiring.open_store(stack, settings)


def open_client(stack: ExitStack, settings: Settings, url: str, clock: Clock) -> PrometheusClient:
    """A Prometheus client built by the composition root: retries, the response cap and the command's deadline."""
    from auditor.app import wiring

    return wiring.prometheus_client(stack, settings, url, command=True, clock=clock)


def stored_source(store: Store, wanted: str | None) -> str | None:
    """The source to read: the one asked for, else the only one stored; several need a choice."""
    sources = store.sources()
    if wanted is not None:
        if wanted not in sources and sources:
            raise ConfigError(f"source {wanted!r} has no history; stored sources: {', '.join(sources)}")
        return wanted
    if len(sources) > 1:
        raise ConfigError(f"the database holds several sources ({', '.join(sources)}): choose one with --source")
    return sources[0] if sources else None


def write_json(document: dict[str, Any], out: TextIO) -> None:
    """Compact: Python's C encoder writes it ten times faster than an indented one (pipe it to ``jq .``)."""
    out.write(jsondoc.dumps(document) + "\n")
