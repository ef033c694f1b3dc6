"""A circuit breaker for cycles: while Prometheus stays down, try it less and less often.

breaker = Breaker(threshold=3, first_pause=300.0, max_pause=3600.0, monotonic=clock.monotonic)
if breaker.allow():            # closed, or open with its pause over (one trial cycle)
    try: run(); breaker.succeeded()
    except PrometheusUnreachable: breaker.failed()

Three failed cycles in a row open it for ``first_pause`` seconds; each failed trial doubles the
pause up to ``max_pause``; one success closes it. Retries inside a cycle are tenacity's job; this
spaces out whole cycles, so a Prometheus that is down or overloaded is not kept busy by its auditor.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Breaker:
    def __init__(
        self,
        threshold: int = 3,
        first_pause: float = 300.0,
        max_pause: float = 3600.0,
        *,
        monotonic: Callable[[], float],
    ) -> None:
        self.threshold = threshold
        self.first_pause = first_pause
        self.max_pause = max_pause
        self._now = monotonic
        self._lock = threading.Lock()
        self._failures = 0
        self._pause = 0.0
        self._open_until: float | None = None

    @property
    def is_open(self) -> bool:
        return self._open_until is not None

    def seconds_until_trial(self) -> float:
        """0 when a cycle may run now."""
        with self._lock:
            if self._open_until is None:
                return 0.0
            return max(0.0, self._open_until - self._now())

    def allow(self) -> bool:
        return self.seconds_until_trial() == 0.0

    def succeeded(self) -> None:
        with self._lock:
            self._failures, self._pause, self._open_until = 0, 0.0, None

    def failed(self) -> None:
        with self._lock:
            self._failures += 1
            if self._failures < self.threshold:
                return
            self._pause = min(self.max_pause, self._pause * 2 if self._pause else self.first_pause)
            self._open_until = self._now() + self._pause
