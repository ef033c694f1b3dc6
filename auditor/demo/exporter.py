"""An exporter whose cardinality the caller controls exactly.

exporter = Exporter()
exporter.set("user_sessions", 50, label="user_id")   # 50 series
port = exporter.start()                               # serves /metrics on 127.0.0.1
exporter.wait_for_scrapes(2)                          # Prometheus has ingested the shape
exporter.set_histogram("req_seconds", {"route": 3}, [0.1, 0.5, 1.0])   # 3 x (4 buckets + 2) = 18 series
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from auditor.core.promql import is_legacy_metric, string
from auditor.core.promql import label as promql_label

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _family(name: str) -> str:
    """A metric name in ``# HELP``/``# TYPE`` lines: bare when it is a legacy name, else quoted."""
    return name if is_legacy_metric(name) else string(name)


@dataclass(frozen=True, slots=True)
class MetricShape:
    labels: tuple[tuple[str, int], ...]
    """(label, distinct values): the series are every combination of them."""
    help: str = "demo metric"
    derived: tuple[tuple[str, str], ...] = ()
    """(label, source label): a label whose value follows the source's (a pod's IP): it makes no series unique."""

    @property
    def series(self) -> int:
        return math.prod(values for _, values in self.labels) if self.labels else 1

    def lines(self, name: str) -> Iterator[str]:
        """Sample lines; a UTF-8 name goes inside the braces, quoted (Prometheus 3's text format)."""
        # The text format writes label names as PromQL matchers do: bare, or quoted when not legacy.
        ranges = [[self._pairs(label, i) for i in range(values)] for label, values in self.labels]
        legacy = is_legacy_metric(name)
        for combination in itertools.product(*ranges):
            if legacy:
                yield f"{name}{{{','.join(combination)}}} 1"
            else:
                yield f"{{{','.join((string(name), *combination))}}} 1"

    def _pairs(self, label: str, i: int) -> str:
        pairs = [f'{promql_label(label)}="{label}-{i:05d}"']
        pairs += [f'{promql_label(d)}="{d}-{i:05d}"' for d, source in self.derived if source == label]
        return ",".join(pairs)


@dataclass(frozen=True, slots=True)
class HistogramShape:
    """A classic histogram: every combination of ``labels``, each with the ``bounds`` buckets and ``+Inf``.

    Each scrape observes, per label set, a fixed number of values in each bucket (none in the ``empty`` ones),
    so the counts grow by the same step every scrape and a rate over any window is known.
    """

    labels: tuple[tuple[str, int], ...]
    bounds: tuple[float, ...]
    empty: frozenset[float] = frozenset()

    @property
    def label_sets(self) -> int:
        return math.prod(values for _, values in self.labels) if self.labels else 1

    def series(self) -> dict[str, int]:
        sets = self.label_sets
        return {"_bucket": sets * (len(self.bounds) + 1), "_sum": sets, "_count": sets}

    def lines(self, name: str, scrapes: int) -> Iterator[str]:
        ranges = [[f'{promql_label(label)}="{label}-{i:05d}"' for i in range(values)] for label, values in self.labels]
        for k, combination in enumerate(itertools.product(*ranges)):
            pairs = ",".join(combination)
            total, weighted = 0, 0.0
            for j, bound in enumerate((*self.bounds, math.inf)):
                step = 0 if bound in self.empty else (k + j) % 3 + 1
                total += step
                weighted += step * (bound if bound != math.inf else 2 * max(self.bounds, default=1.0))
                le = "+Inf" if bound == math.inf else repr(bound)
                yield f'{name}_bucket{{{pairs}{"," if pairs else ""}le="{le}"}} {total * scrapes}'
            yield f"{name}_sum{{{pairs}}} {weighted * scrapes!r}"
            yield f"{name}_count{{{pairs}}} {total * scrapes}"


class Exporter:
    def __init__(self) -> None:
        self._shape: dict[str, MetricShape] = {}
        self._histograms: dict[str, HistogramShape] = {}
        self._lock = threading.Condition()
        self._scrapes = 0
        self._server: ThreadingHTTPServer | None = None
        self._body: bytes | None = None
        """The rendered exposition, until the shape changes: a 100,000-series shape is scraped every second."""

    def set(
        self,
        name: str,
        series: int = 1,
        label: str = "id",
        help: str = "demo metric",
        labels: dict[str, int] | None = None,
        *,
        derived: dict[str, str] | None = None,
    ) -> None:
        """``series`` values of one ``label``, or every combination of ``labels`` (label -> distinct values);
        each ``derived`` label takes the value index of its source label (label -> source)."""
        shape = MetricShape(tuple((labels or {label: series}).items()), help, tuple((derived or {}).items()))
        with self._lock:
            self._shape[name] = shape
            self._body = None

    def set_histogram(
        self, name: str, labels: dict[str, int], bounds: list[float], *, empty: tuple[float, ...] = ()
    ) -> None:
        """A classic histogram ``name`` (``_bucket``, ``_sum``, ``_count``) whose counts grow every scrape."""
        with self._lock:
            self._histograms[name] = HistogramShape(tuple(labels.items()), tuple(bounds), frozenset(empty))

    def remove(self, name: str) -> None:
        with self._lock:
            self._shape.pop(name, None)
            self._histograms.pop(name, None)
            self._body = None

    def shape(self) -> dict[str, int]:
        """Series per metric name that this exporter exposes (its ground truth)."""
        with self._lock:
            out = {name: shape.series for name, shape in self._shape.items() if shape.series > 0}
            for name, histogram in self._histograms.items():
                out |= {name + suffix: n for suffix, n in histogram.series().items()}
            return out

    def render(self) -> bytes:
        with self._lock:
            histograms, scrapes = dict(self._histograms), self._scrapes + 1
            if self._body is not None and not histograms:
                return self._body
            shape = dict(self._shape)
        lines: list[str] = []
        for name, metric in sorted(shape.items()):
            lines.append(f"# HELP {_family(name)} {metric.help}")
            lines.append(f"# TYPE {_family(name)} gauge")
            lines.extend(metric.lines(name))
        for name, histogram in sorted(histograms.items()):
            lines += [f"# HELP {name} demo histogram", f"# TYPE {name} histogram", *histogram.lines(name, scrapes)]
        body = ("\n".join(lines) + "\n").encode()
        with self._lock:
            if self._shape == shape and not histograms:
                self._body = body
        return body

    @property
    def scrapes(self) -> int:
        with self._lock:
            return self._scrapes

    def wait_for_scrapes(self, count: int = 2, timeout: float = 30.0) -> None:
        """Block until ``count`` more scrapes were served; two guarantee that one finished ingesting."""
        with self._lock:
            target = self._scrapes + count
            if not self._lock.wait_for(lambda: self._scrapes >= target, timeout):
                raise TimeoutError(f"exporter was not scraped {count} times within {timeout}s")

    def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # headers and body would otherwise wait for a delayed ACK

            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                body = exporter.render()
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                exporter._served()  # before the body: a client that has it sees the count already
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="exporter", daemon=True).start()
        return int(self._server.server_address[1])

    @property
    def target(self) -> str:
        """``HOST:PORT`` to scrape."""
        if self._server is None:
            raise RuntimeError("exporter not started")
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _served(self) -> None:
        with self._lock:
            self._scrapes += 1
            self._lock.notify_all()
