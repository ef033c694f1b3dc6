"""JSON documents other tools can read: strict JSON, so an infinite ratio (a zero budget) is ``null``.

Python writes ``Infinity`` and ``NaN`` by default, which ``jq`` and most parsers refuse.
"""

from __future__ import annotations

import json
import math
from typing import Any


def finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None, at any depth."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def dumps(document: Any, **options: Any) -> str:
    """Strict JSON; the document is walked for non-finite floats only when it holds one (they are rare)."""
    try:
        return json.dumps(document, allow_nan=False, ensure_ascii=False, **options)
    except ValueError:
        return json.dumps(finite(document), allow_nan=False, ensure_ascii=False, **options)
