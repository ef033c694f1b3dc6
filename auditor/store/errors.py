"""SQLAlchemy and driver errors, translated once into ``StoreError``.

The driver's own errors appear where the store talks to psycopg directly (``COPY``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError, StatementError

from auditor.core.errors import DatabaseUnavailable, StoreError

_PASSING = {
    "25006": "the database is read-only (a replica, or default_transaction_read_only)",
    "42P01": "the database has no schema (a table is missing): run `metrics-auditor db upgrade`",
    "55P03": "a lock was not granted within AUDITOR_DATABASE__LOCK_TIMEOUT",
    "57014": "a statement ran past AUDITOR_DATABASE__STATEMENT_TIMEOUT",
}
"""PostgreSQL states that say "not now" rather than "never": the write is spooled and tried again, like an outage."""


@contextmanager
def translate_errors(doing: str) -> Iterator[None]:
    """``with translate_errors("saving a snapshot"): ...`` turns database errors into ``StoreError``."""
    unavailable, failed = _driver_errors()
    try:
        yield
    except (OperationalError, InterfaceError, *unavailable) as exc:  # type: ignore[misc]
        raise DatabaseUnavailable(f"database unavailable while {doing}: {_first_line(exc)}") from exc
    except (DBAPIError, SQLAlchemyError, OverflowError, *failed) as exc:  # type: ignore[misc]
        if isinstance(exc, StatementError) and not isinstance(exc, DBAPIError) and isinstance(exc.orig, TypeError):
            raise exc.orig from exc  # our own value conversion refused a value: a bug, not a database error
        passing = _PASSING.get(_sqlstate(exc) or "")
        if passing is not None:
            raise DatabaseUnavailable(f"database unavailable while {doing}: {passing}") from exc
        # OverflowError: sqlite3 refuses integers beyond 64 bits before the database sees them.
        raise StoreError(f"database error while {doing}: {_first_line(exc)}") from exc


def _sqlstate(exc: BaseException) -> str | None:
    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    state = getattr(cause, "sqlstate", None)
    return state if isinstance(state, str) else None


def _driver_errors() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """psycopg's own errors, once psycopg is loaded (a SQLite-only run never imports it, and saves the time)."""
    psycopg = sys.modules.get("psycopg")
    if psycopg is None:
        return (), ()
    return (psycopg.OperationalError, psycopg.InterfaceError), (psycopg.Error,)


def _first_line(exc: Exception) -> str:
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]
