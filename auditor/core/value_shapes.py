"""What a label's values look like: the kinds of value that make series unique per request, user or moment.

    shape(["3f2b...-...", "9a1c...-..."])    # Shape.UUID
    shape(["GET", "POST"])                   # None

A shape is named when at least half of the values sampled have it: a fix at the source says what the label
holds ("user ids", "IP addresses"), which tells the team what to remove from the instrumentation.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable, Sequence
from enum import StrEnum

SAMPLED = 200


class Shape(StrEnum):
    UUID = "UUIDs"
    EMAIL = "e-mail addresses"
    IP = "IP addresses"
    PATH_WITH_ID = "paths with ids"
    TIMESTAMP = "timestamps"
    NUMBER_ID = "numeric ids"
    HEX_ID = "hexadecimal ids"


_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_ID_SEGMENT = re.compile(r"/(?:\d{2,}|[0-9a-fA-F-]{16,})(?:/|$)")
_TIMESTAMP = re.compile(r"1\d{9}(?:\d{3})?|\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d)?\S*")
_NUMBER = re.compile(r"\d{4,}")
"""Four digits and more: three are HTTP status codes far more often than ids."""
_HEX = re.compile(r"(?=.*\d)(?=.*[a-fA-F])[0-9a-fA-F]{12,}")


def _ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value.split("%", maxsplit=1)[0])
    except ValueError:
        return False
    return True


_TESTS: tuple[tuple[Shape, Callable[[str], bool]], ...] = (
    (Shape.UUID, lambda v: _UUID.fullmatch(v) is not None),
    (Shape.EMAIL, lambda v: _EMAIL.fullmatch(v) is not None),
    (Shape.IP, _ip),
    (Shape.PATH_WITH_ID, lambda v: v.startswith("/") and _ID_SEGMENT.search(v) is not None),
    (Shape.TIMESTAMP, lambda v: _TIMESTAMP.fullmatch(v) is not None),
    (Shape.NUMBER_ID, lambda v: _NUMBER.fullmatch(v) is not None),
    (Shape.HEX_ID, lambda v: _HEX.fullmatch(v) is not None),
)
"""First test that fits wins: a timestamp is digits too, a UUID is hexadecimal too."""


def shape(values: Sequence[str]) -> Shape | None:
    """The shape most of a sample of ``values`` has; None when no shape covers half of them."""
    sample = values[:SAMPLED]
    if not sample:
        return None
    found = Counter(next((s for s, test in _TESTS if test(v)), None) for v in sample)
    best, n = max(((s, n) for s, n in found.items() if s is not None), key=lambda sn: sn[1], default=(None, 0))
    return best if n * 2 >= len(sample) else None
