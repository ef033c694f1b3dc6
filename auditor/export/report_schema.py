"""``docs/report.schema.json``, generated from the report's types (``report --format json``).

    python -m auditor.export.report_schema > docs/report.schema.json

``tests/test_report.py`` checks the file is current and that a report validates against it.
"""

from __future__ import annotations

import sys

from pydantic import TypeAdapter

from auditor.evaluate.report import SCHEMA_VERSION, Report
from auditor.export.jsondoc import dumps

Schema = dict[str, object]


def report_schema() -> Schema:
    generated = TypeAdapter(Report).json_schema(mode="serialization", ref_template="#/$defs/{model}")
    _nullable_numbers(generated)
    properties = generated["properties"]
    required = generated["required"]
    del properties["metrics"]  # the CSV's rows, not part of the document
    required.remove("metrics")
    properties["total_series"] = {"type": "array", "items": {"$ref": "#/$defs/TrendPoint"}}
    definitions = generated.get("$defs", {})
    definitions.pop("CsvRow")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "metrics-auditor/report.schema.json",
        "title": "metrics-auditor weekly report (report --format json)",
        "type": "object",
        "required": ["schema_version", *required],
        "properties": {"schema_version": {"const": SCHEMA_VERSION}, **properties},
        "$defs": definitions,
    }


def _nullable_numbers(node: object) -> None:
    """A ratio over a zero budget is infinite, and JSON has no infinity: every number may be written as null."""
    if isinstance(node, dict):
        if node.get("type") == "number":
            node["type"] = ["number", "null"]
        for value in node.values():
            _nullable_numbers(value)
    elif isinstance(node, list):
        for value in node:
            _nullable_numbers(value)


def main() -> None:
    sys.stdout.write(dumps(report_schema(), indent=2) + "\n")


if __name__ == "__main__":
    main()
