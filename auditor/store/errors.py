"""SQLAlchemy and driver errors, translated once into ``StoreError``.

The driver's own errors appear where the store talks to psycopg directly (``COPY``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

from auditor.core.errors import DatabaseUnavailable, StoreError


@contextmanager
def translate_errors(doing: str) -> Iterator[None]:
    """``with translate_errors("saving a snapshot"): ...`` turns database errors into ``StoreError``."""
    try:
        yield
    except (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError) as exc:
        raise DatabaseUnavailable(f"database unavailable while {doing}: {_first_line(exc)}") from exc
    except (DBAPIError, SQLAlchemyError, psycopg.Error, OverflowError) as exc:
        # OverflowError: sqlite3 refuses integers beyond 64 bits before the database sees them.
        raise StoreError(f"database error while {doing}: {_first_line(exc)}") from exc


def _first_line(exc: Exception) -> str:
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]
