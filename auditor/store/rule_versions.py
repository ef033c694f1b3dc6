"""The rule-set versions Prometheus has loaded: a new row when the fingerprint changes, else ``last_seen`` moves on."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from auditor.core.rulesets import RuleSet, stored_body
from auditor.store.models import RuleVersion


@dataclass(frozen=True, slots=True)
class StoredRuleVersion:
    id: int
    fingerprint: str
    first_seen: datetime
    last_seen: datetime
    rules: int


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
