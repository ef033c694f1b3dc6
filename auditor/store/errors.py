"""SQLAlchemy and driver errors, translated once into ``StoreError``.

The driver's own errors appear where the store talks to psycopg directly (``COPY``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

from auditor.core.errors import DatabaseUnavailable, StoreError


@contextmanager
def translate_errors(doing: str) -> Iterator[None]:
    """``with translate_errors("saving a snapshot"): ...`` turns database errors into ``StoreError``."""
    unavailable, failed = _driver_errors()
    try:
        yield
    except (OperationalError, InterfaceError, *unavailable) as exc:  # type: ignore[misc]
        raise DatabaseUnavailable(f"database unavailable while {doing}: {_first_line(exc)}") from exc
    except (DBAPIError, SQLAlchemyError, OverflowError, *failed) as exc:  # type: ignore[misc]
        # OverflowError: sqlite3 refuses integers beyond 64 bits before the database sees them.
        raise StoreError(f"database error while {doing}: {_first_line(exc)}") from exc


def _driver_errors() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """psycopg's own errors, once psycopg is loaded (a SQLite-only run never imports it, and saves the time)."""
    psycopg = sys.modules.get("psycopg")
    if psycopg is None:
        return (), ()
    return (psycopg.OperationalError, psycopg.InterfaceError), (psycopg.Error,)


def _first_line(exc: Exception) -> str:
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]
