"""Helpers shared by the command modules: the database, a Prometheus client, the stored source, JSON out.

Heavy libraries (SQLAlchemy, Alembic, httpx) are imported where they are used, so a command that
needs neither starts fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any, TextIO

from auditor.config.settings import Settings
from auditor.core.errors import ConfigError
from auditor.export import jsondoc

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from auditor.collect.client import PrometheusClient
    from auditor.store import Store


@contextmanager
def engine_for(settings: Settings) -> Iterator[Engine]:
    from auditor.store import make_engine

    engine = make_engine(settings.database_url.get_secret_value())
    try:
        yield engine
    finally:
        engine.dispose()


def open_store(stack: ExitStack, settings: Settings) -> Store:
    """The store of a database at the latest schema (else the one-line "run db upgrade" error)."""
    from auditor.store import Store, require_head

    engine = stack.enter_context(engine_for(settings))
    require_head(engine)
    return Store(engine)


def open_client(stack: ExitStack, settings: Settings, url: str) -> PrometheusClient:
    from auditor.collect.client import PrometheusClient, build_http_client

    return PrometheusClient(stack.enter_context(build_http_client(url, settings.prometheus)))


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
    out.write(jsondoc.dumps(document, indent=2) + "\n")
