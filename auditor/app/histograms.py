"""The histogram view the command and the report print: the newest stored inventory, with every reading of its
families (desired rules, dashboards, the query log's frequent queries) rewritten (docs/histograms.md).

    view = histogram_view(store, settings, "prod", budgets)      # None before any cycle took an inventory
"""

from __future__ import annotations

import logging
from pathlib import Path

import yaml

from auditor.app.usage import desired_rules
from auditor.collect.querylog_tail import frequent_queries
from auditor.config.dashboards import dashboard_queries
from auditor.config.files import read_text
from auditor.config.settings import Settings
from auditor.config.yamlfile import parse_yaml
from auditor.core.budgets import Budgets
from auditor.core.errors import ConfigError
from auditor.core.histogram_queries import families_read, rewrite
from auditor.core.label_usage import Reader, ReaderKind, query_reader
from auditor.evaluate.histograms import HistogramView, Reading, histogram_entries
from auditor.store import Store

log = logging.getLogger(__name__)
LOG_TAIL_BYTES = 16 << 20
LOG_QUERIES = 50


def histogram_view(store: Store, settings: Settings, source: str, budgets: Budgets) -> HistogramView | None:
    newest = store.histograms.newest(source)
    if newest is None:
        return None
    at, inventory = newest
    readings = readings_of(settings, {f.metric for f in inventory.families})
    entries = histogram_entries(inventory, readings, lambda metric: budgets.for_metric(metric + "_bucket").owner)
    return HistogramView(source, at, inventory, entries)


def readings_of(settings: Settings, families: set[str]) -> list[Reading]:
    """Every query that reads one of ``families``' classic series: desired rules, dashboards, the query log."""
    if not families:
        return []
    readings = [Reading(Reader(ReaderKind.RULE, f"{r.group}/{r.name}"), r.expr) for r in desired_rules(settings)]
    if settings.dashboards_dir is not None:
        try:
            readings += [Reading(r, e, grafana=True) for r, e in dashboard_queries(settings.dashboards_dir)]
        except ConfigError as exc:
            log.warning("dashboards not read for the histogram rewrites: %s", exc)
    if settings.query_log_file is not None:
        readings += _logged(settings.query_log_file, families)
    return [r for r in readings if families_read(r.expr, families)]


def _logged(path: Path, families: set[str]) -> list[Reading]:
    """The query log's frequent queries of the families; an unreadable log costs these readings, not the rest."""
    try:
        frequent = frequent_queries(path, max_bytes=LOG_TAIL_BYTES, top=LOG_QUERIES,
                                    keep=lambda query: bool(families_read(query, families)))  # fmt: skip
    except ConfigError as exc:
        log.warning("query log not read for the histogram rewrites: %s", exc)
        return []
    return [Reading(query_reader(text), text) for text, _ in frequent]


def rewrite_rule_files(settings: Settings, families: set[str], out: Path) -> list[Path]:
    """The desired rule files with every rule of a converted family in its dual-period form, written under ``out``
    (same relative paths); the files written. ``rules diff RULES_DIR OUT`` shows what changed."""
    if settings.rules_dir is None:
        raise ConfigError("--rules-out needs AUDITOR_RULES_DIR: the desired rule files to rewrite")
    root = settings.rules_dir
    written = []
    for path in sorted(root.rglob("*.y*ml")) if root.is_dir() else [root]:
        document = parse_yaml(read_text(path, ConfigError, what="rule file"), path).data
        if _rewritten(document, families):
            target = out / (path.relative_to(root) if root.is_dir() else path.name)
            _write(target, yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=1 << 30))
            written.append(target)
    return written


def _write(target: Path, text: str) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--rules-out: cannot write {target}: {exc.strerror}: choose a writable directory") from exc


def _rewritten(document: object, families: set[str]) -> bool:
    changed = False
    groups = document.get("groups") if isinstance(document, dict) else None
    for group in groups if isinstance(groups, list) else []:
        for rule in (group.get("rules") or []) if isinstance(group, dict) else []:
            if isinstance(rule, dict) and isinstance(rule.get("expr"), str):
                done = rewrite(rule["expr"], families)  # never raises: a query it cannot parse is a manual one
                if done is not None and done.dual is not None:
                    rule["expr"], changed = done.dual, True
    return changed
