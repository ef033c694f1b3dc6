"""Engine construction: built in main and passed in, never at import time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from auditor.core.errors import ConfigError

STATEMENT_TIMEOUT = timedelta(minutes=5)
LOCK_TIMEOUT = timedelta(seconds=30)


def make_engine(
    url: str,
    connect_timeout_seconds: int = 5,
    *,
    statement_timeout: timedelta = STATEMENT_TIMEOUT,
    lock_timeout: timedelta = LOCK_TIMEOUT,
) -> Engine:
    """An engine for ``sqlite:///FILE`` or ``postgresql+psycopg://...``.

    On PostgreSQL every session gets ``statement_timeout`` and ``lock_timeout``: a lock held by someone
    else (a long ``VACUUM FULL``, a stuck migration) or a runaway statement fails the write, which is
    spooled, instead of holding the cycle (and its deadline) forever.

    >>> make_engine("sqlite://").dialect.name
    'sqlite'
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        options = f"-c statement_timeout={_ms(statement_timeout)} -c lock_timeout={_ms(lock_timeout)}"
        connect_args = {"connect_timeout": connect_timeout_seconds, "options": options}
        return create_engine(parsed, pool_pre_ping=True, pool_size=2, connect_args=connect_args)
    raise ConfigError(
        f"AUDITOR_DATABASE_URL: unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql"
    )


def _ms(delta: timedelta) -> int:
    return max(1, round(delta.total_seconds() * 1000))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
