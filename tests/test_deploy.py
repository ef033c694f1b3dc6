"""The deployment examples: container image, Kubernetes (kustomize), systemd, docker compose.

Rendered and validated with the real tools where the machine has them (kubectl kustomize, Kubernetes
schemas, promtool, amtool, systemd-analyze, docker-compose), and checked for what an operator relies
on: non-root, read-only root filesystem, probes, resources, shared rules, copies in step with sources.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from prometheus_client import CollectorRegistry

from auditor import healthcheck
from auditor.app.http import HttpServer, make_app
from auditor.config.settings import Settings, load_settings
from auditor.demo.prometheus import free_port
from tests.support.builders import CLOCK, missing

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
COMPONENT = K8S / "components" / "metrics-auditor"
KUBERNETES_VERSION = "1.30.0"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing(f"{name} (scripts/install-system-deps installs it)")
    assert path is not None
    return path


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"{' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


# --- container image -------------------------------------------------------------------------------


def final_stage(dockerfile: str) -> str:
    return dockerfile.rsplit("\nFROM ", 1)[1]


def test_dockerfile_final_stage_runs_non_root_with_health_check_and_migrations() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    final = final_stage(text)
    assert text.count("\nFROM ") == 2, "multi-stage: a build stage and a slim final stage"
    assert final.splitlines()[0] == "${BASE_IMAGE}"
    assert "\nARG BASE_IMAGE=python:3.11-slim-bookworm\n" in text, "what users build from, unless told otherwise"
    assert re.search(r"^USER 10001:10001$", final, re.M)
    assert "HEALTHCHECK" in final
    assert '"auditor.healthcheck"' in final
    assert 'ENTRYPOINT ["metrics-auditor"]' in final
    assert 'CMD ["run"]' in final
    assert "AUDITOR_AUTO_MIGRATE=true" in final
    assert "pip" not in final
    assert "apt-get" not in final
    for source in re.findall(r"^COPY (?!--from)(\S+)", text, re.M):
        assert (ROOT / source).exists(), source


def test_hadolint_accepts_the_dockerfile() -> None:
    run(str(Path(sys.executable).parent / "hadolint"), "deploy/Dockerfile")


# --- Kubernetes -------------------------------------------------------------------------------------


def rendered(directory: Path) -> list[dict[str, Any]]:
    """``kubectl kustomize``; where kubectl is missing, the resources and generators as written."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return as_written(directory)
    output = run(kubectl, "kustomize", str(directory)).stdout
    return [doc for doc in yaml.safe_load_all(output) if doc]


def as_written(directory: Path) -> list[dict[str, Any]]:
    """The subset of kustomize these manifests use: resources, components, ConfigMap and Secret generators."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    docs: list[dict[str, Any]] = []
    for resource in kustomization.get("resources", []):
        docs += [doc for doc in yaml.safe_load_all((directory / resource).read_text()) if doc]
    for component in kustomization.get("components", []):
        docs += as_written(directory / component)
    for kind, key in (("ConfigMap", "configMapGenerator"), ("Secret", "secretGenerator")):
        for generator in kustomization.get(key, []):
            data = dict(literal.split("=", 1) for literal in generator.get("literals", []))
            data |= {Path(f).name: (directory / f).read_text() for f in generator.get("files", [])}
            field = "data" if kind == "ConfigMap" else "stringData"
            docs.append({"apiVersion": "v1", "kind": kind, "metadata": {"name": generator["name"]}, field: data})
    return docs


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


def validate(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def as_pod(spec: dict[str, Any]) -> dict[str, Any]:
    """A custom resource's containers and volumes, checked against the Pod schema."""
    pod_spec = {k: spec[k] for k in ("containers", "volumes", "securityContext") if k in spec}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "check"}, "spec": pod_spec}


def auditor_container(containers: list[dict[str, Any]]) -> dict[str, Any]:
    (container,) = [c for c in containers if c["name"] == "metrics-auditor"]
    return container


def assert_hardened(container: dict[str, Any]) -> None:
    context = container["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["runAsUser"] != 0
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    assert {"requests", "limits"} <= container["resources"].keys()
    assert container["livenessProbe"]["exec"]["command"][-1] == "/healthz"
    assert container["readinessProbe"]["exec"]["command"][-1] == "/readyz"


def test_kubernetes_base_renders_validates_and_shares_the_rules_read_only() -> None:
    docs = rendered(K8S / "base")
    for doc in docs:
        validate(doc)
    (statefulset,) = by_kind(docs, "StatefulSet")
    pod = statefulset["spec"]["template"]["spec"]
    auditor = auditor_container(pod["containers"])
    (prometheus,) = [c for c in pod["containers"] if c["name"] == "prometheus"]
    assert_hardened(auditor)
    assert prometheus["securityContext"]["readOnlyRootFilesystem"] is True
    shared = {m["name"] for m in auditor["volumeMounts"] if m.get("readOnly")} & {
        m["name"] for m in prometheus["volumeMounts"] if m.get("readOnly")
    }
    assert "recording-rules" in shared
    settings = configmap(docs, "metrics-auditor")
    assert settings["AUDITOR_PROMETHEUS_URL"] == "http://127.0.0.1:9090"  # the pod's loopback
    assert settings["AUDITOR_LISTEN_ADDRESS"].startswith("127.0.0.1:")
    scrape = yaml.safe_load(configmap(docs, "prometheus-config")["prometheus.yml"])
    targets = [t for job in scrape["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]]
    assert settings["AUDITOR_LISTEN_ADDRESS"] in targets  # Prometheus scrapes the sidecar over loopback


def configmap(docs: list[dict[str, Any]], name: str) -> dict[str, str]:
    """By name, with or without the content-hash suffix kustomize adds."""
    (found,) = [
        d for d in by_kind(docs, "ConfigMap") if re.fullmatch(rf"{name}(-[a-z0-9]{{10}})?", d["metadata"]["name"])
    ]
    data: dict[str, str] = found["data"]
    return data


def test_prometheus_operator_overlay_renders_and_validates(tmp_path: Path) -> None:
    docs = rendered(K8S / "overlays" / "prometheus-operator")
    for doc in docs:
        if doc["apiVersion"].startswith("monitoring.coreos.com/"):
            continue
        validate(doc)
    (prometheus,) = by_kind(docs, "Prometheus")
    validate(as_pod(prometheus["spec"]))
    assert_hardened(auditor_container(prometheus["spec"]["containers"]))
    (rule,) = by_kind(docs, "PrometheusRule")
    assert rule["metadata"]["labels"].items() <= prometheus["spec"]["ruleSelector"]["matchLabels"].items()
    rules_file = tmp_path / "rules.yml"
    rules_file.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    run(tool("promtool"), "check", "rules", str(rules_file))
    names = {r.get("alert") for g in rule["spec"]["groups"] for r in g["rules"]}
    assert {"MetricCardinalityBudgetExceeded", "MetricsAuditorAuditStale"} <= names
    scrape_ref = prometheus["spec"]["additionalScrapeConfigs"]
    (secret,) = [s for s in by_kind(docs, "Secret") if s["metadata"]["name"] == scrape_ref["name"]]
    assert scrape_ref["key"] in secret.get("data", secret.get("stringData", {}))


def test_the_prometheusrule_is_generated_from_the_shipped_rules() -> None:
    result = run(sys.executable, "scripts/prometheusrule.py")
    assert result.stdout == (K8S / "overlays" / "prometheus-operator" / "prometheusrule.yaml").read_text(), (
        "regenerate with scripts/prometheusrule.py --write"
    )


@pytest.mark.parametrize(
    ("copy", "source"),
    [
        (COMPONENT / "config" / "budgets.yml", ROOT / "rules" / "budgets.yml"),
        (COMPONENT / "config" / "recording" / "cardinality.yml", ROOT / "rules" / "recording" / "cardinality.yml"),
        (COMPONENT / "config" / "recording" / "http.yml", ROOT / "rules" / "recording" / "http.yml"),
        (
            K8S / "base" / "config" / "alerts" / "metrics-auditor.rules.yml",
            DEPLOY / "alerts" / "metrics-auditor.rules.yml",
        ),
    ],
    ids=lambda p: str(p.relative_to(ROOT)) if isinstance(p, Path) else p,
)
def test_kustomize_copies_are_in_step_with_their_sources(copy: Path, source: Path) -> None:
    assert copy.read_text() == source.read_text(), f"copy {source} to {copy} (kustomize reads only below its root)"


def test_recording_rules_in_the_component_are_every_shipped_file() -> None:
    shipped = {p.name for p in (ROOT / "rules" / "recording").glob("*.yml")}
    assert {p.name for p in (COMPONENT / "config" / "recording").glob("*.yml")} == shipped


def test_kubernetes_settings_are_valid_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    docs = rendered(K8S / "base")
    (secret,) = [s for s in by_kind(docs, "Secret") if s["metadata"]["name"] == "metrics-auditor-database"]
    environment = configmap(docs, "metrics-auditor") | secret["stringData"]
    assert_valid_settings(environment, monkeypatch, tmp_path)


def assert_valid_settings(environment: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    for name in [n for n in os.environ if n.startswith("AUDITOR_")]:
        monkeypatch.delenv(name)
    for name, value in environment.items():
        assert name.startswith("AUDITOR_"), name
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    return load_settings()


# --- systemd ----------------------------------------------------------------------------------------


def local_unit(tmp_path: Path) -> Path:
    """The unit with its paths pointed at this checkout, for systemd-analyze."""
    text = (DEPLOY / "systemd" / "metrics-auditor.service").read_text()
    text = text.replace(
        "/opt/metrics-auditor/bin/metrics-auditor", str(Path(sys.executable).parent / "metrics-auditor")
    )
    text = text.replace("/etc/metrics-auditor/metrics-auditor.env", str(DEPLOY / "systemd" / "metrics-auditor.env"))
    unit = tmp_path / "metrics-auditor.service"
    unit.write_text(text)
    return unit


def test_systemd_unit_verifies_and_is_hardened(tmp_path: Path) -> None:
    analyze = tool("systemd-analyze")
    unit = local_unit(tmp_path)
    run(analyze, "verify", "--man=no", str(unit))
    security = run(analyze, "security", "--offline=true", str(unit)).stdout
    exposure = float(re.search(r"Overall exposure level for \S+: ([\d.]+)", security).group(1))  # type: ignore[union-attr]
    assert exposure <= 2.0, security
    text = unit.read_text()
    assert "DynamicUser=yes" in text
    assert "ProtectSystem=strict" in text
    assert "User=root" not in text


def test_systemd_environment_file_is_valid_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    lines = (DEPLOY / "systemd" / "metrics-auditor.env").read_text().splitlines()
    environment = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    settings = assert_valid_settings(environment, monkeypatch, tmp_path)
    assert settings.auto_migrate is True


# --- docker compose ---------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DEPLOY / "compose" / "compose.yaml").read_text())
    return document


def test_compose_file_is_valid() -> None:
    run(tool("docker-compose"), "-f", "compose.yaml", "config", "--quiet", cwd=DEPLOY / "compose")


def test_compose_runs_the_whole_loop_with_the_auditor_as_a_non_root_sidecar() -> None:
    services = compose()["services"]
    assert {"prometheus", "alertmanager", "postgres", "metrics-auditor", "exporter"} <= services.keys()
    auditor = services["metrics-auditor"]
    assert auditor["network_mode"] == "service:prometheus"
    assert auditor["user"] == "10001:10001"
    assert auditor["read_only"] is True
    assert auditor["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["exporter"]["user"] == "10001:10001"
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / "compose" / source).exists(), source


def test_compose_settings_are_valid_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    environment = compose()["services"]["metrics-auditor"]["environment"]
    settings = assert_valid_settings({k: str(v) for k, v in environment.items()}, monkeypatch, tmp_path)
    assert settings.prometheus_url == "http://127.0.0.1:9090"


def test_compose_prometheus_and_alertmanager_configs_are_valid() -> None:
    run(tool("promtool"), "check", "config", "--syntax-only", str(DEPLOY / "compose" / "prometheus.yml"))
    run(tool("promtool"), "check", "config", "--syntax-only", str(K8S / "base" / "config" / "prometheus.yml"))
    run(tool("amtool"), "check-config", str(DEPLOY / "compose" / "alertmanager.yml"))


@pytest.mark.parametrize(("ready", "expected"), [(True, 0), (False, 1)])
def test_the_image_health_check_asks_the_local_daemon(
    ready: bool, expected: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = CollectorRegistry(auto_describe=False)
    server = HttpServer(
        "0.0.0.0",
        0,
        make_app(registry, lambda: (True, "ok"), lambda: (ready, "no cycle yet")),
        monotonic=CLOCK.monotonic,
    )
    server.start()
    monkeypatch.setenv("AUDITOR_LISTEN_ADDRESS", f"0.0.0.0:{server.port}")  # a wildcard is asked on loopback
    try:
        assert healthcheck.main(["/healthz"]) == 0
        assert healthcheck.main(["/readyz"]) == expected
        assert healthcheck.main(["/admin"]) == 2
    finally:
        server.stop()
    if not ready:
        assert "HTTP 503: no cycle yet" in capsys.readouterr().err


def test_the_health_check_fails_when_nothing_listens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITOR_LISTEN_ADDRESS", f"127.0.0.1:{free_port()}")
    assert healthcheck.main([]) == 1
