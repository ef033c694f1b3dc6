"""The one redaction of the project: what may be printed of a URL, and of a text that may hold secrets.

    redact_url("http://alice:S3cr3t@prom:9090/prom?token=x")   # 'http://prom:9090/prom?***'
    redact_url(webhook, keep_path=False)                         # 'https://hooks.slack.com/***'
    redact(str(exc), urls=[webhook], secrets=[token])            # an error message, safe to log

A URL loses its userinfo (user and password) and its query; a URL whose path is its secret (Slack-style
webhooks: ``/services/T000/B000/XXXX``) loses the path too. A text loses every secret it is told of,
every URL it is told of (written as ``redact_url(url, keep_path=False)``), and the userinfo and query of
any other URL in it. Every log line, error, document and output that names a URL or may echo a credential goes
through here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
_MIN_SECRET = 4
"""Shorter "secrets" (an empty file, a one-letter password) are not searched for: they would mask at random."""


def redact_url(url: str, *, keep_path: bool = True) -> str:
    """``url`` without userinfo and query; without its path too unless ``keep_path``.

    >>> redact_url("postgresql+psycopg://auditor:p%40ss@db:5432/auditor")
    'postgresql+psycopg://db:5432/auditor'
    >>> redact_url("https://hooks.slack.com/services/T0/B0/XXXX", keep_path=False)
    'https://hooks.slack.com/***'
    """
    try:
        parts = urlsplit(_without_userinfo(url))
        host = parts.netloc.rpartition("@")[2]
    except ValueError:
        return MASK
    if not parts.scheme:
        return MASK if "@" in url or "?" in url else url
    path = parts.path if keep_path else (f"/{MASK}" if parts.path.strip("/") else "")
    query = MASK if parts.query else ""
    return urlunsplit((parts.scheme, host, path, query, ""))


def _without_userinfo(url: str) -> str:
    """Everything up to the last ``@`` before the query goes, even where a parser would see a path
    (``https://a/b:pass@host``, which is no valid URL but may still be written somewhere)."""
    scheme, sep, rest = url.partition("://")
    before_query = len(rest.split("?", 1)[0].split("#", 1)[0])
    at = rest.rfind("@", 0, before_query)
    return url if not sep or at < 0 else scheme + sep + rest[at + 1 :]


def redact(text: str, *, urls: Iterable[str] = (), secrets: Iterable[str] = ()) -> str:
    """``text`` with the given URLs redacted (paths included), the given secrets masked, and every other URL in
    it without userinfo and query.

    >>> redact("POST https://h/services/XXXX failed: token abcd1234 refused", urls=["https://h/services/XXXX"],
    ...        secrets=["abcd1234"])
    'POST https://h/*** failed: token *** refused'
    """
    for url in sorted((u for u in urls if u), key=len, reverse=True):
        text = text.replace(url, redact_url(url, keep_path=False))
    for secret in sorted((s for s in secrets if len(s) >= _MIN_SECRET), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return _URL.sub(lambda match: redact_url(match.group(0)), text)
