"""`rules diff` of two generated 2,000-rule sets (target: under 2 s)."""

from __future__ import annotations

import io
import random
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import yaml

from auditor.cli.main import main

GROUPS, PER_GROUP = 100, 20
TEMPLATES = (
    "sum by (job, {l}) (rate({m}_total[5m]))",
    'histogram_quantile(0.99, sum by (le, {l}) (rate({m}_bucket{{code=~"5.."}}[5m])))',
    "sum without (instance) ({m}_bytes) / on ({l}) group_left sum by ({l}) ({m}_limit_bytes)",
    "max_over_time({m}_seconds[1h]) > bool 0",
    'count by ({l}) (up{{job="{m}"}} == 1)',
)


def ruleset(seed: int, changed: float) -> dict[str, Any]:
    rng = random.Random(seed)
    groups = []
    for g in range(GROUPS):
        rules = []
        for r in range(PER_GROUP):
            template = TEMPLATES[(g + r) % len(TEMPLATES)]
            expr = template.format(m=f"app{g}_metric{r}", l=f"label{r % 7}")
            if rng.random() < changed:
                expr = expr.replace("5m", "10m") if "5m" in expr else f"({expr}) * 2"
            rules.append({"record": f"level{g}:app{g}_metric{r}:op", "expr": expr, "labels": {"team": f"t{g % 9}"}})
        groups.append({"name": f"group{g}", "interval": "1m", "rules": rules})
    return {"groups": groups}


def run(repeats: int = 5) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        old, new = Path(tmp) / "old.yml", Path(tmp) / "new.yml"
        old.write_text(yaml.safe_dump(ruleset(1, 0.0)))
        new.write_text(yaml.safe_dump(ruleset(2, 0.1)))
        in_process = []
        for _ in range(repeats):
            started = time.perf_counter()
            with redirect_stdout(io.StringIO()) as out:
                code = main(["rules", "diff", str(old), str(new), "--format", "json"])
            in_process.append(time.perf_counter() - started)
        command = [sys.executable, "-m", "auditor", "rules", "diff", str(old), str(new), "--format", "json"]
        whole = []
        for _ in range(repeats):
            started = time.perf_counter()
            subprocess.run(command, capture_output=True, check=False)
            whole.append(time.perf_counter() - started)
    changed = out.getvalue().count('"changes"')
    return {
        "rules": GROUPS * PER_GROUP,
        "changed": changed,
        "exit_code": code,
        "in_process_s": statistics.median(in_process),
        "command_s": statistics.median(whole),
    }
