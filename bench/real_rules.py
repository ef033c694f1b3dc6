"""The real-world rule corpus: 1,355 rules in 122 files nobody on this project wrote.

The corpus is data outside the project (``../shared/realrules``, or ``AUDITOR_REAL_RULES``); it is read,
never copied. ``make bench`` times ``rules diff`` of the whole corpus against a rewritten copy (every
file loaded and dumped again: other quoting, layout and key order, the same rules), as one whole
command. With ``--live`` it also loads every file, and the directories, into real Prometheus 2.42 and
3.5 (one server per version, reloaded per file) and checks ``rules diff F F`` and ``rules diff F live``. It also
rewrites every rule that reads a classic histogram's buckets for native histograms, and counts what is not::

    python -m bench.real_rules --live
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import httpx
import yaml
from rich.console import Console
from rich.table import Table

from auditor.cli.main import main as cli
from auditor.config.rulefiles import RULE_SUFFIXES, load_path
from auditor.core.histogram_queries import rewrite
from auditor.core.promql_parse import names
from auditor.demo.prometheus import LocalPrometheus
from tests.support.servers import SERVERS

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("AUDITOR_REAL_RULES", ROOT.parent / "shared" / "realrules"))
LIVE_VERSIONS = ("2.42", "3.5")


def units(corpus: Path) -> list[Path]:
    """Every rule file, then every directory holding several below it (the whole corpus last)."""
    files = sorted(p for p in corpus.rglob("*") if p.suffix in RULE_SUFFIXES)
    folders = {folder for p in files for folder in p.parents if corpus in folder.parents}
    several = sorted((f for f in folders if len(_files(f)) > 1), key=lambda p: (len(p.parts), p))
    return [*files, *several, corpus]


def rewritten_copy(corpus: Path, target: Path) -> Path:
    for path in corpus.rglob("*"):
        if path.suffix in RULE_SUFFIXES:
            out = target / path.relative_to(corpus)
            out.parent.mkdir(parents=True, exist_ok=True)
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
            out.write_text(yaml.safe_dump(document, width=1000, allow_unicode=True), encoding="utf-8")
    return target


def timing(corpus: Path, repeats: int = 5) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        copy = rewritten_copy(corpus, Path(tmp) / "rewritten")
        command = [sys.executable, "-m", "auditor", "rules", "diff", str(corpus), str(copy), "--format", "json"]
        seconds, codes = [], set()
        for _ in range(repeats):
            started = time.perf_counter()
            codes.add(subprocess.run(command, capture_output=True, check=False, cwd=tmp).returncode)
            seconds.append(time.perf_counter() - started)
    ruleset = load_path(corpus)
    return {
        "files": sum(1 for p in corpus.rglob("*") if p.suffix in RULE_SUFFIXES),
        "rules": len(ruleset.rules()),
        "exit_codes": sorted(codes),
        "command_s": statistics.median(seconds),
    }


def histogram_rewrites(corpus: Path) -> dict[str, Any]:
    """Every rule of the corpus that reads a ``_bucket`` series, rewritten as if its families were converted
    (docs/histograms.md): how many are, and why the others are not (the reason's first words)."""
    reading, done, why = 0, 0, Counter[str]()
    for rule in load_path(corpus).rules():
        families = {name[: -len("_bucket")] for name in names(rule.expr) if name.endswith("_bucket")}
        result = rewrite(rule.expr, families) if families else None
        if result is None:
            continue
        reading += 1
        done += result.after is not None
        if result.after is None:
            why[" ".join(result.why.replace(next(iter(families)), "m").split()[:6])] += 1
    return {"rules_reading_buckets": reading, "rewritten": done, "not_rewritten": dict(why.most_common())}


def report_histograms(r: dict[str, Any]) -> None:
    print(f"\nhistogram rewrites over the corpus: {r['rules_reading_buckets']} rules read a _bucket series, "
          f"{r['rewritten']} rewritten; not rewritten:")  # fmt: skip
    for why, n in r["not_rewritten"].items():
        print(f"  {n:>4}  {why} ...")


def _quiet_cli(*args: str) -> int:
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        return cli(list(args))


def _files(unit: Path) -> list[Path]:
    return [unit] if unit.is_file() else sorted(p for p in unit.rglob("*") if p.suffix in RULE_SUFFIXES)


def _loaded_rules(url: str) -> int:
    groups = httpx.get(f"{url}/api/v1/rules", timeout=30).json()["data"]["groups"]
    return sum(len(g["rules"]) for g in groups)


def live_runs(version: str, all_units: list[Path], workdir: Path) -> Iterator[tuple[Path, int]]:
    """``rules diff UNIT live`` with only that unit loaded: Prometheus is reloaded per unit."""
    server = SERVERS[version]
    prom = LocalPrometheus(workdir, [], binary=server.binary, extra_args=["--web.enable-lifecycle"])
    with prom:
        os.environ["AUDITOR_PROMETHEUS_URL"] = prom.url
        for unit in all_units:
            prom.rule_files = _files(unit)
            prom.write_config()
            httpx.post(f"{prom.url}/-/reload", timeout=120).raise_for_status()  # returns once applied
            expected = len(load_path(unit).rules())
            if _loaded_rules(prom.url) != expected:
                yield unit, -1
                continue
            yield unit, _quiet_cli("rules", "diff", str(unit), "live")


def live(corpus: Path) -> dict[str, Any]:
    all_units = units(corpus)
    codes: dict[str, dict[str, int]] = {str(u.relative_to(corpus.parent)): {} for u in all_units}
    for unit in all_units:
        codes[str(unit.relative_to(corpus.parent))]["F F"] = _quiet_cli("rules", "diff", str(unit), str(unit))
    with tempfile.TemporaryDirectory() as tmp:
        for version in LIVE_VERSIONS:
            for unit, code in live_runs(version, all_units, Path(tmp) / version):
                codes[str(unit.relative_to(corpus.parent))][f"F live {version}"] = code
    return {"units": len(all_units), "codes": codes}


def history(root: Path) -> dict[str, Any]:
    """What ``rules diff OLD NEW`` reports for each real before/after pair."""
    out = {}
    for old in sorted(root.glob("*.old.yaml")):
        new = old.with_name(old.name.replace(".old.", ".new."))
        buffer = io.StringIO()
        with redirect_stdout(buffer):
            code = cli(["rules", "diff", str(old), str(new), "--format", "json"])
        document = json.loads(buffer.getvalue())
        out[old.name.removesuffix(".old.yaml")] = {
            "exit": code,
            "added": [e.get("alert") or e["record"] for e in document["added"]],
            "removed": [e.get("alert") or e["record"] for e in document["removed"]],
            "changed": [[e.get("alert") or e["record"], e["changes"]] for e in document["changed"]],
            "unchanged": document["unchanged"],
        }
    return out


def report_timing(r: dict[str, Any]) -> None:
    table = Table(title=f"rules diff of the real corpus ({r['rules']:,} rules, {r['files']} files) "
                        "against a rewritten copy, median of 5")  # fmt: skip
    table.add_column("whole command (python startup included)", justify="right")
    table.add_column("exit codes", justify="right")
    table.add_row(f"{r['command_s']:.3f} s", ", ".join(map(str, r["exit_codes"])))
    Console(width=160).print(table)
    Console(width=160).print("target (issue 13): under 1 s, exit 0")


def report_live(r: dict[str, Any]) -> None:
    columns = ["F F", *(f"F live {v}" for v in LIVE_VERSIONS)]
    table = Table(title=f"{r['units']} files and directories of the real corpus: exit codes")
    table.add_column("check")
    table.add_column("exit 0", justify="right")
    table.add_column("other (unit: code)")
    for column in columns:
        others = {unit: codes.get(column) for unit, codes in r["codes"].items() if codes.get(column) != 0}
        zero = r["units"] - len(others)
        table.add_row(column, f"{zero} of {r['units']}", ", ".join(f"{u}: {c}" for u, c in others.items()) or "-")
    Console(width=160).print(table)


def report_history(r: dict[str, Any]) -> None:
    table = Table(title="real before/after pairs (rules diff OLD NEW)")
    for column in ("pair", "exit", "added", "removed", "changed", "unchanged"):
        table.add_column(column)
    for pair, d in r.items():
        changed = "; ".join(f"{name} ({', '.join(kinds)})" for name, kinds in d["changed"][:6])
        more = f" and {len(d['changed']) - 6} more" if len(d["changed"]) > 6 else ""
        table.add_row(pair, str(d["exit"]), ", ".join(d["added"]) or "-", ", ".join(d["removed"]) or "-",
                      (changed + more) or "-", str(d["unchanged"]))  # fmt: skip
    Console(width=200).print(table)


def bench_figures() -> dict[str, Any] | None:
    """``make bench``: the timing, when the corpus is at hand."""
    corpus = CORPUS / "corpus"
    return timing(corpus) if corpus.is_dir() else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live", action="store_true", help="also every file against live Prometheus 2.42 and 3.5")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()
    corpus = args.corpus / "corpus"
    if not corpus.is_dir():
        print(f"no real-rule corpus at {corpus} (set AUDITOR_REAL_RULES): skipped")
        return 0
    report_timing(timing(corpus))
    report_histograms(histogram_rewrites(corpus))
    report_history(history(args.corpus / "history"))
    if args.live:
        results = live(corpus)
        report_live(results)
        (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
        (ROOT / "bench" / "results" / "real_rules_live.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
