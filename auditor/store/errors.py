"""SQLAlchemy and driver errors, translated once into ``StoreError``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

from auditor.errors import DatabaseUnavailable, StoreError


@contextmanager
def translate_errors(doing: str) -> Iterator[None]:
    """``with translate_errors("saving a snapshot"): ...`` turns database errors into ``StoreError``."""
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        raise DatabaseUnavailable(f"database unavailable while {doing}: {_first_line(exc)}") from exc
    except (DBAPIError, SQLAlchemyError) as exc:
        raise StoreError(f"database error while {doing}: {_first_line(exc)}") from exc


def _first_line(exc: SQLAlchemyError) -> str:
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]
