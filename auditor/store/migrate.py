"""Schema migrations (Alembic), run from inside the installed package.

upgrade(engine)            # metrics-auditor db upgrade
require_head(engine)       # run/audit refuse a database that is behind
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from auditor.core.errors import SchemaNotAtHead
from auditor.store.errors import translate_errors

MIGRATION_LOCK_KEY = 0x6D61_7564  # "maud": one key for every metrics-auditor database


def migrations_dir() -> Path:
    """``auditor/migrations`` inside a wheel; the checkout's top-level ``migrations/`` otherwise."""
    packaged = Path(__file__).resolve().parent.parent / "migrations"
    if (packaged / "env.py").is_file():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with translate_errors("reading the schema version"), engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Apply every pending migration; returns (revision before, revision after)."""
    before = current_revision(engine)
    config = alembic_config(engine)
    with translate_errors("applying migrations"), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Two auditors starting at once (AUDITOR_AUTO_MIGRATE): the second waits, then finds nothing to do.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    if engine.dialect.name == "sqlite":
        engine.dispose()  # the migration turned foreign keys off on its connection: new ones turn them on
    return before, current_revision(engine)


def require_head(engine: Engine) -> None:
    """Raise ``SchemaNotAtHead`` unless every migration is applied."""
    current, head = current_revision(engine), head_revision(engine)
    if current != head:
        state = "empty (no schema)" if current is None else f"at revision {current}"
        raise SchemaNotAtHead(
            f"database {engine.url.render_as_string(hide_password=True)} is {state}, the code needs {head}: "
            "run `metrics-auditor db upgrade`"
        )


__all__ = ["alembic_config", "current_revision", "head_revision", "require_head", "upgrade"]
