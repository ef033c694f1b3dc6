from datetime import timedelta
from pathlib import Path

import pytest

from auditor.config.settings import load_settings
from auditor.core.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("AUDITOR_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_follow_the_design() -> None:
    settings = load_settings()
    assert settings.prometheus_url == "http://localhost:9090"
    assert settings.database_url.get_secret_value() == "sqlite:///metrics-auditor.db"
    assert settings.audit_interval == timedelta(minutes=5)
    assert settings.listen_address == "127.0.0.1:9920"
    assert settings.rules_dir is None
    assert settings.effective_budgets_file is None


def test_budgets_file_defaults_to_rules_budgets_yml_when_it_exists(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "budgets.yml").write_text("defaults: {}\n")
    assert load_settings().effective_budgets_file == Path("rules/budgets.yml")


def test_environment_overrides_the_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "auditor.yml"
    config.write_text("audit_interval: 1m\nprometheus:\n  timeout: 10s\nsource: from-file\n")
    monkeypatch.setenv("AUDITOR_AUDIT_INTERVAL", "30s")
    monkeypatch.setenv("AUDITOR_PROMETHEUS__TIMEOUT", "3s")
    settings = load_settings(config)
    assert settings.audit_interval == timedelta(seconds=30)
    assert settings.prometheus.timeout == timedelta(seconds=3)
    assert settings.source == "from-file"


def test_nested_auth_settings_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    password = tmp_path / "password"
    password.write_text("s3cret\n")
    monkeypatch.setenv("AUDITOR_PROMETHEUS__BASIC_AUTH__USERNAME", "auditor")
    monkeypatch.setenv("AUDITOR_PROMETHEUS__BASIC_AUTH__PASSWORD_FILE", str(password))
    monkeypatch.setenv("AUDITOR_PROMETHEUS__TLS__INSECURE_SKIP_VERIFY", "true")
    settings = load_settings()
    assert settings.prometheus.basic_auth is not None
    assert settings.prometheus.basic_auth.password_file == password
    assert settings.prometheus.tls.insecure_skip_verify is True
    assert "s3cret" not in repr(settings)


def test_database_password_never_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITOR_DATABASE_URL", "postgresql+psycopg://auditor:hunter2@db:5432/auditor")
    settings = load_settings()
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings.model_dump())
    assert "hunter2" not in settings.database_url_for_logs
    assert settings.database_url_for_logs == "postgresql+psycopg://db:5432/auditor", "no userinfo at all"


def test_credentials_in_the_prometheus_url_are_never_logged_or_stored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITOR_PROMETHEUS_URL", "https://auditor:hunter2@prom.example:9090/prometheus")
    settings = load_settings()
    assert settings.prometheus_url_for_logs == "https://prom.example:9090/prometheus"


def test_bad_value_in_file_names_file_line_and_field(tmp_path: Path) -> None:
    config = tmp_path / "auditor.yml"
    config.write_text("prometheus_url: http://prom:9090\n\naudit_interval: 5x\n")
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    assert f"{config}:3: audit_interval:" in str(info.value)
    assert "invalid duration '5x'" in str(info.value)


def test_unknown_key_in_file_is_an_error_with_its_line(tmp_path: Path) -> None:
    config = tmp_path / "auditor.yml"
    config.write_text("prometheus:\n  timeout: 5s\n  bearer_tokn_file: /x\n")
    with pytest.raises(ConfigError, match=rf"{config}:3: prometheus.bearer_tokn_file: Extra inputs are not permitted"):
        load_settings(config)


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    config = tmp_path / "auditor.yml"
    config.write_text("source: a\nprometheus:\n  timeout: [5s\n")
    with pytest.raises(ConfigError, match=rf"{config}:\d+: invalid YAML"):
        load_settings(config)


def test_config_file_must_be_a_mapping(tmp_path: Path) -> None:
    config = tmp_path / "auditor.yml"
    config.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_settings(config)


def test_bad_env_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITOR_LISTEN_ADDRESS", "9920")
    with pytest.raises(ConfigError, match=r"AUDITOR_LISTEN_ADDRESS: .*is not HOST:PORT"):
        load_settings()


def test_missing_secret_file_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITOR_PROMETHEUS__BEARER_TOKEN_FILE", "/nonexistent/token")
    with pytest.raises(ConfigError, match="AUDITOR_PROMETHEUS__BEARER_TOKEN_FILE"):
        load_settings()


def test_bearer_and_basic_auth_exclude_each_other(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "s"
    secret.write_text("x")
    monkeypatch.setenv("AUDITOR_PROMETHEUS__BEARER_TOKEN_FILE", str(secret))
    monkeypatch.setenv("AUDITOR_PROMETHEUS__BASIC_AUTH__USERNAME", "u")
    monkeypatch.setenv("AUDITOR_PROMETHEUS__BASIC_AUTH__PASSWORD_FILE", str(secret))
    with pytest.raises(ConfigError, match="either bearer_token_file or basic_auth"):
        load_settings()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("AUDITOR_PROMETHEUS_URL", "prometheus:9090", "not an http:// or https:// URL"),
        ("AUDITOR_DATABASE_URL", "not a url", "not a database URL"),
        ("AUDITOR_LOG_LEVEL", "loud", "is not one of"),
        ("AUDITOR_CENSUS__CHUNK_SIZE", "0", "greater than or equal to 1"),
    ],
)
def test_invalid_values(monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"{name}: .*{message}"):
        load_settings()
