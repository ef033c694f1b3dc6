"""The rule-set versions Prometheus has loaded: a new row when the fingerprint changes, else ``last_seen`` moves on."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Connection, Engine, insert, select, update

from auditor.core.rulesets import RuleSet, StoredRuleVersion, from_json, stored_body
from auditor.store.errors import translate_errors
from auditor.store.models import RuleVersion, Source

COLUMNS = (
    RuleVersion.id,
    RuleVersion.fingerprint,
    RuleVersion.first_seen,
    RuleVersion.last_seen,
    RuleVersion.rule_count,
)


def record(conn: Connection, source_id: int, ruleset: RuleSet, now: datetime) -> int:
    """Continue the newest version when it is the same rule set, else start a new one; returns its id."""
    fingerprint = ruleset.fingerprint()
    newest = conn.execute(
        select(RuleVersion.id, RuleVersion.fingerprint)
        .where(RuleVersion.source_id == source_id)
        .order_by(RuleVersion.last_seen.desc(), RuleVersion.id.desc())
        .limit(1)
    ).first()
    if newest is not None and newest.fingerprint == fingerprint:
        conn.execute(update(RuleVersion).where(RuleVersion.id == newest.id).values(last_seen=now))
        return int(newest.id)
    values = {
        "source_id": source_id,
        "fingerprint": fingerprint,
        "first_seen": now,
        "last_seen": now,
        "rule_count": len(ruleset.rules()),
        "body": json.dumps(stored_body(ruleset), sort_keys=True),
    }
    return int(conn.execute(insert(RuleVersion).values(values).returning(RuleVersion.id)).scalar_one())


def versions(engine: Engine, source: str) -> list[StoredRuleVersion]:
    """Every rule-set version ``source`` has loaded, oldest first."""
    query = (
        select(*COLUMNS)
        .join(Source, Source.id == RuleVersion.source_id)
        .where(Source.name == source)
        .order_by(RuleVersion.first_seen, RuleVersion.id)
    )
    with translate_errors("reading rule versions"), engine.connect() as conn:
        return [StoredRuleVersion(*row) for row in conn.execute(query)]


def version(engine: Engine, version_id: int) -> tuple[StoredRuleVersion, RuleSet] | None:
    query = select(*COLUMNS, RuleVersion.body).where(RuleVersion.id == version_id)
    with translate_errors("reading a rule version"), engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    return StoredRuleVersion(*row[:5]), from_json(json.loads(row[5]), f"@{version_id}")
