"""The project's one error tree.

Lower-level exceptions (httpx, SQLAlchemy, YAML, pydantic) are translated once,
where they enter the project, and re-raised ``from`` the original::

    AuditorError
    ├── ConfigError                  bad settings, config file or CLI input   (exit 2)
    │   └── BudgetsError             the budgets file
    ├── RuleError                    bad rule file                            (exit 2)
    ├── PrometheusError              Prometheus did not give a usable answer  (exit 3)
    │   ├── PrometheusUnreachable    connection refused, DNS, TLS handshake
    │   ├── PrometheusTimeout        connect/read timeout
    │   ├── PrometheusHTTPError      non-2xx status (carries ``status_code``)
    │   ├── PrometheusResponseError  body is not the documented JSON shape
    │   │   └── PrometheusTooLarge   body over AUDITOR_PROMETHEUS__MAX_RESPONSE_BYTES
    │   └── PrometheusQueryError     ``{"status": "error"}`` from the API
    ├── StoreError                   the database failed                       (exit 4)
    │   ├── DatabaseUnavailable      cannot connect / connection lost
    │   └── SchemaNotAtHead          migrations not applied
    ├── DeliveryError                the report webhook did not take the report (exit 5)
    ├── SourceHeldElsewhere          another auditor writes this source (standby; exit 75)
    └── CycleCancelled               the daemon is stopping                    (exit 0)

    InvalidPromQL (a ``ValueError``)  an expression the parser must not or cannot take; each caller
                                      turns it into what it is there: a ``RuleError`` at FILE:LINE, a
                                      skipped query-log line counted by ``reason``, a live rule compared
                                      as text

Every error carries a short ``reason`` used as a label of
``metrics_auditor_cycle_failures_total`` and an ``exit_code`` the CLI uses.
"""

from __future__ import annotations


class InvalidPromQL(ValueError):
    """Not PromQL the product reads: too long, too deep, out of range, refused or crashed the parser."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason
        """``too_long``, ``too_deep``, ``too_complex``, ``invalid`` or ``panic``."""


class AuditorError(Exception):
    """Base of every error the project raises on purpose."""

    reason = "error"
    exit_code = 1


class ConfigError(AuditorError):
    """Settings, a config file or a command-line argument is wrong."""

    reason = "config"
    exit_code = 2


class BudgetsError(ConfigError):
    """The budgets file cannot be used."""

    reason = "budgets"


class RuleError(AuditorError):
    """A rule file cannot be used."""

    reason = "rules"
    exit_code = 2


class PrometheusError(AuditorError):
    """Prometheus did not give a usable answer."""

    reason = "prometheus"
    exit_code = 3
    path: str | None = None
    """The API path that failed (``/api/v1/rules``), set by the client."""


class PrometheusUnreachable(PrometheusError):
    reason = "unreachable"


class PrometheusTimeout(PrometheusError):
    reason = "timeout"


class PrometheusHTTPError(PrometheusError):
    reason = "http_error"

    def __init__(self, message: str, status_code: int, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after


class PrometheusResponseError(PrometheusError):
    reason = "bad_response"


class PrometheusTooLarge(PrometheusResponseError):
    reason = "too_large"


class PrometheusQueryError(PrometheusError):
    reason = "query_error"

    def __init__(self, message: str, error_type: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class StoreError(AuditorError):
    """The database failed."""

    reason = "database"
    exit_code = 4


class DatabaseUnavailable(StoreError):
    reason = "database_unavailable"


class SchemaNotAtHead(StoreError):
    reason = "schema"


class SourceHeldElsewhere(AuditorError):
    """Another auditor holds this source's writer lease: this one is the standby and stores nothing."""

    reason = "standby"
    exit_code = 75  # EX_TEMPFAIL: try again once the lease lapses


class CycleCancelled(AuditorError):
    """The daemon is stopping; the running cycle was abandoned before it stored anything."""

    reason = "cancelled"
    exit_code = 0


class DeliveryError(AuditorError):
    """The report webhook refused the report or could not be reached, after retries."""

    reason = "webhook"
    exit_code = 5
