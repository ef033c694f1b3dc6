"""A remedy as JSON (docs/cli.md) and as text: what is safe to paste, or why nothing is."""

from __future__ import annotations

from rich.console import Console

from auditor.core.label_usage import Reader
from auditor.core.remedies import BY_JOB, Proof, Remedy
from auditor.evaluate.remedies import verdict


def reader_json(reader: Reader) -> dict[str, str]:
    document = {"kind": reader.kind.value, "name": reader.name}
    if reader.fingerprint:
        document["fingerprint"] = reader.fingerprint
    return document


def proof_json(proof: Proof) -> dict[str, object]:
    return {
        "text": proof.text, "series_with": proof.series_with, "series_without": proof.series_without,
        "label_values": proof.label_values, "readers_known": proof.readers_known, "merges": proof.merges,
    }  # fmt: skip


def remedy_json(remedy: Remedy) -> dict[str, object]:
    """``{"action", "metric", "label", "safe", "proof", "series_now", "predicted_series", "blocked_by", "config"}``;
    ``config`` only where it is safe to paste."""
    document: dict[str, object] = {
        "action": remedy.action.value, "metric": remedy.metric, "label": remedy.label, "safe": remedy.safe,
        "proof": proof_json(remedy.proof), "series_now": remedy.series_now,
        "predicted_series": remedy.predicted_series, "blocked_by": [reader_json(r) for r in remedy.blocked_by],
        "note": remedy.note, "verdict": verdict(remedy),
    }  # fmt: skip
    if remedy.action in BY_JOB:
        document["label"], document["job"] = None, remedy.label
    if remedy.config is not None:
        document["config"] = remedy.config
    if remedy.shape:
        document["values_look_like"] = remedy.shape
    if remedy.stream_aggregation:
        document["stream_aggregation"] = remedy.stream_aggregation
    return document


def suggestion_json(remedy: Remedy) -> dict[str, object]:
    """The ``suggestion`` key scripts read before remedies had proofs; ``relabel`` is empty unless it is safe."""
    return {
        "metric": remedy.metric, "action": remedy.action.value, "label": remedy.label,
        "series_now": remedy.series_now, "series_saved": remedy.series_saved if remedy.safe else 0,
        "relabel": remedy.config or "", "recording_rule": remedy.recording_rule, "note": remedy.note,
    }  # fmt: skip


def headline(remedy: Remedy) -> str:
    """``drop_label `pod_ip` (safe: merges nothing, keeps all 40 active series)``."""
    what = f"{remedy.action.value} `{remedy.label}`" if remedy.label else remedy.action.value
    return f"{what} ({verdict(remedy)})"


def print_remedy(term: Console, remedy: Remedy, owner: str, jobs: list[tuple[str, int]]) -> None:
    term.print(f"\nfix for {remedy.metric} ({owner}): {headline(remedy)}", markup=False)
    if jobs:
        term.print("sent by job: " + ", ".join(f"{job} ({n:,})" for job, n in jobs), markup=False)
    term.print(remedy.note, markup=False)
    if remedy.proof.text:
        term.print(f"proof: {remedy.proof.text}", markup=False)
    for reader in remedy.blocked_by:
        term.print(f"  blocked by {reader}", markup=False)
    if remedy.config:
        term.print(remedy.config.rstrip(), markup=False)
    if remedy.stream_aggregation:
        term.print("on VictoriaMetrics, a vmagent -streamAggr.config rule that aggregates it away:", markup=False)
        term.print(remedy.stream_aggregation.rstrip(), markup=False)
