"""The only code that holds SQL: history of censuses, in Postgres or SQLite."""

from auditor.store.engine import make_engine
from auditor.store.migrate import require_head, upgrade
from auditor.store.repository import Store

__all__ = ["Store", "make_engine", "require_head", "upgrade"]
