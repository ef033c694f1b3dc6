"""Schema migrations (Alembic), run from inside the installed package.

upgrade(engine)            # metrics-auditor db upgrade
require_head(engine)       # run/audit refuse a database that is behind

The schema check that every command runs reads the migration files' ``revision`` lines and the
``alembic_version`` row itself: loading Alembic's machinery for it cost a third of a second of each
command's start-up. ``upgrade`` uses Alembic; a test keeps the two heads equal.
"""

from __future__ import annotations

import re
import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from auditor import __version__
from auditor.core.errors import SchemaNotAtHead
from auditor.core.redact import redact_url
from auditor.store.errors import translate_errors

MIGRATION_LOCK_KEY = 0x6D61_7564  # "maud": one key for every metrics-auditor database


def migrations_dir() -> Path:
    """``auditor/migrations`` inside a wheel; the checkout's top-level ``migrations/`` otherwise."""
    packaged = Path(__file__).resolve().parent.parent / "migrations"
    if (packaged / "env.py").is_file():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "migrations"


if TYPE_CHECKING:
    from alembic.config import Config

_REVISION = re.compile(r'^(down_revision|revision)\b[^=]*=\s*(?:"([^"]*)"|None)', re.MULTILINE)


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    # Alembic's default stdout is the sys.stdout of when alembic.config was first imported: whatever
    # replaced it then (a test's capture, a closed pipe) would be written to later. Today's, always.
    config = Config(stdout=sys.stdout)
    config.set_main_option("script_location", str(migrations_dir()))
    # The options are interpolated like ConfigParser's: a password that needs percent-encoding (p%40ss)
    # would be read as `%(...)` syntax and fail with the whole URL in the message.
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return config


def head_revision() -> str | None:
    """The newest migration: the one no other migration names as its ``down_revision``."""
    return _head(migrations_dir())


@cache
def _head(folder: Path) -> str | None:
    revisions, parents = _revisions(folder)
    heads = revisions - parents
    return min(heads) if len(heads) == 1 else None


@cache
def _revisions(folder: Path) -> tuple[frozenset[str], frozenset[str]]:
    """(every revision this version ships, every revision some migration names as its parent)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (folder / "versions").glob("*.py"):
        for key, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            (revisions if key == "revision" else parents).add(value)
    return frozenset(revisions), frozenset(parents)


def _refuse_newer(engine: Engine, current: str | None) -> None:
    """A revision this version does not ship: the database was migrated by a newer metrics-auditor."""
    if current is not None and current not in _revisions(migrations_dir())[0]:
        raise SchemaNotAtHead(
            f"database {redact_url(engine.url.render_as_string(hide_password=False))} is at revision {current}, "
            f"which this metrics-auditor ({__version__}) does not know: a newer version migrated it. Run that "
            "version (or a newer one); this one would misread its tables"
        )


def current_revision(engine: Engine) -> str | None:
    with translate_errors("reading the schema version"), engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Apply every pending migration; returns (revision before, revision after)."""
    from alembic import command

    before = current_revision(engine)
    _refuse_newer(engine, before)
    config = alembic_config(engine)
    with translate_errors("applying migrations"), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Two auditors starting at once (AUDITOR_AUTO_MIGRATE): the second waits, then finds nothing to do.
            # A migration may rewrite big tables: its own wait and statements get longer bounds than a cycle's.
            conn.execute(text("SET LOCAL lock_timeout = '10min'"))
            conn.execute(text("SET LOCAL statement_timeout = '1h'"))
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    if engine.dialect.name == "sqlite":
        engine.dispose()  # the migration turned foreign keys off on its connection: new ones turn them on
    return before, current_revision(engine)


def require_head(engine: Engine) -> None:
    """Raise ``SchemaNotAtHead`` unless every migration is applied."""
    current, head = current_revision(engine), head_revision()
    _refuse_newer(engine, current)
    if current != head:
        state = "empty (no schema)" if current is None else f"at revision {current}"
        raise SchemaNotAtHead(
            f"database {redact_url(engine.url.render_as_string(hide_password=False))} is {state}, the code needs "
            f"{head}: run `metrics-auditor db upgrade`"
        )


__all__ = ["alembic_config", "current_revision", "head_revision", "require_head", "upgrade"]
