"""``huleedu-operator render`` and ``crd``, driven through click's CliRunner."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from cases.invalid_resources import INVALID_BY_ID, INVALID_CASES
from cases.valid_resources import BOOTSTRAP, EXAMPLES, VALID_BY_ID
from huleedu_operator.api.crd import custom_resource_definition
from huleedu_operator.cli import main
from huleedu_operator.render import render

pytestmark = pytest.mark.unit


def invoke(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Result:
    runner = CliRunner()
    return runner.invoke(main, list(args), input=stdin, env=env or {}, catch_exceptions=False)


def documents(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def test_render_prints_the_children_of_the_http_example_as_yaml() -> None:
    result = invoke("render", "-f", str(EXAMPLES / "content-service.yaml"))
    assert result.exit_code == 0, result.stderr
    children = documents(result.stdout)
    assert [c["kind"] for c in children] == [
        "NetworkPolicy",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
    ]
    assert all(c["metadata"]["namespace"] == "huleedu" for c in children)
    assert result.stderr == ""


def test_render_output_is_exactly_what_the_renderer_returns() -> None:
    case = VALID_BY_ID["example-event-worker-keda"]
    result = invoke(
        "render",
        "-f",
        str(EXAMPLES / "event-worker.yaml"),
        "--capability",
        "keda",
        "--kafka-bootstrap-servers",
        BOOTSTRAP,
    )
    assert result.exit_code == 0, result.stderr
    assert documents(result.stdout) == list(render(case.resource(), case.defaults()).children)


def test_render_reads_the_operator_default_bootstrap_servers_from_the_environment() -> None:
    result = invoke(
        "render",
        "-f",
        str(EXAMPLES / "event-worker.yaml"),
        env={"HULEEDU_OPERATOR_KAFKA_BOOTSTRAP_SERVERS": "from-env:9092"},
    )
    assert result.exit_code == 0, result.stderr
    (config,) = [c for c in documents(result.stdout) if c["kind"] == "ConfigMap"]
    assert config["data"]["KAFKA_BOOTSTRAP_SERVERS"] == "from-env:9092"


def test_worker_without_any_bootstrap_servers_exits_1_naming_the_field_and_the_fix() -> None:
    result = invoke("render", "-f", str(EXAMPLES / "event-worker.yaml"))
    assert result.exit_code == 1
    assert "spec.kafka.bootstrapServers" in result.stderr
    assert "HULEEDU_OPERATOR_KAFKA_BOOTSTRAP_SERVERS" in result.stderr
    assert result.stdout == ""


def test_capabilities_switch_annotations_to_a_service_monitor() -> None:
    path = str(EXAMPLES / "content-service.yaml")
    plain = documents(invoke("render", "-f", path).stdout)
    monitored = documents(invoke("render", "-f", path, "--capability", "monitoring").stdout)
    assert "ServiceMonitor" not in [c["kind"] for c in plain]
    assert "ServiceMonitor" in [c["kind"] for c in monitored]


def test_worker_autoscaling_without_keda_is_a_warning_not_an_error() -> None:
    result = invoke(
        "render", "-f", str(EXAMPLES / "event-worker.yaml"), "--kafka-bootstrap-servers", BOOTSTRAP
    )
    assert result.exit_code == 0
    assert "warning: spec.autoscaling: worker autoscaling needs KEDA" in result.stderr
    assert "Deployment" in [c["kind"] for c in documents(result.stdout)]


def test_render_reads_several_documents_from_stdin_and_applies_the_namespace_flag() -> None:
    text = (EXAMPLES / "content-service.yaml").read_text()
    doc = yaml.safe_load(text)
    del doc["metadata"]["namespace"]
    second = {**doc, "metadata": {"name": "other-service"}}
    stdin = yaml.safe_dump_all([doc, second])
    result = invoke("render", "-f", "-", "-n", "team-a", stdin=stdin)
    assert result.exit_code == 0, result.stderr
    children = documents(result.stdout)
    assert {c["metadata"]["namespace"] for c in children} == {"team-a"}
    assert {c["metadata"]["name"] for c in children} == {"content-service", "other-service"}


def test_runtime_image_flag_replaces_the_default_image() -> None:
    result = invoke(
        "render",
        "-f",
        str(EXAMPLES / "content-service.yaml"),
        "--runtime-image",
        "registry.local/huleedu-runtime:9.9.9",
    )
    (deployment,) = [c for c in documents(result.stdout) if c["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.local/huleedu-runtime:9.9.9"
    assert deployment["metadata"]["labels"]["app.kubernetes.io/version"] == "9.9.9"


def test_invalid_input_exits_1_and_lists_every_error_with_its_field_path(tmp_path: Path) -> None:
    chosen = [
        INVALID_BY_ID["worker-without-kafka"],
        INVALID_BY_ID["sasl-protocol-without-sasl"],
        INVALID_BY_ID["replicas-negative"],
        INVALID_BY_ID["env-prefix-lowercase"],
        INVALID_BY_ID["settings-key-not-an-env-name"],
    ]
    valid = yaml.safe_load((EXAMPLES / "content-service.yaml").read_text())
    path = tmp_path / "services.yaml"
    path.write_text(yaml.safe_dump_all([c.document() for c in chosen] + [valid]))

    result = invoke("render", "-f", str(path))

    assert result.exit_code == 1
    assert result.stdout == "", "nothing is printed when any resource is invalid"
    lines = result.stderr.splitlines()
    for index, case in enumerate(chosen):
        source = f"{path}[{index}]: "
        assert any(
            line.startswith(source) and case.field in line and case.message in line
            for line in lines
        ), (case.id, lines)
    for line in lines:
        detail = line.split("]: ", 1)[1]
        assert detail.startswith(("spec.", "metadata.")), line


def test_one_resource_with_several_mistakes_gets_one_line_per_mistake(tmp_path: Path) -> None:
    doc = INVALID_CASES[0].document()
    doc["spec"] = {
        "type": "http",
        "replicas": -1,
        "port": 70000,
        "envPrefix": "bad",
        "autoscaling": {"minReplicas": 4, "maxReplicas": 2},
    }
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = invoke("render", "-f", str(path))
    assert result.exit_code == 1
    fields = ["spec.replicas", "spec.port", "spec.envPrefix", "spec.autoscaling.minReplicas"]
    lines = result.stderr.splitlines()
    for field in fields:
        assert [line for line in lines if f": {field}" in line], (field, lines)
    assert len(lines) == len(fields)


def test_a_document_without_a_name_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "nameless.yaml"
    path.write_text(
        "apiVersion: huleedu.io/v1alpha1\nkind: HuleEduService\nmetadata: {}\nspec: {type: http}\n"
    )
    result = invoke("render", "-f", str(path))
    assert result.exit_code == 1
    assert f"{path}[0]: metadata.name: required" in result.stderr


def test_wrong_kind_is_rejected_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "deploy.yaml"
    path.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {}\n")
    result = invoke("render", "-f", str(path))
    assert result.exit_code == 1
    assert "apiVersion:" in result.stderr
    assert "kind:" in result.stderr


def test_unknown_capability_is_a_usage_error() -> None:
    result = invoke("render", "-f", str(EXAMPLES / "content-service.yaml"), "--capability", "istio")
    assert result.exit_code == 2
    assert "istio" in result.stderr


def test_crd_prints_the_generated_crd(tmp_path: Path) -> None:
    result = invoke("crd")
    assert result.exit_code == 0
    assert yaml.safe_load(result.stdout) == custom_resource_definition()
    out = tmp_path / "crd.yaml"
    assert invoke("crd", "--output", str(out)).exit_code == 0
    assert yaml.safe_load(out.read_text()) == custom_resource_definition()


def test_yaml_output_never_uses_anchors_for_shared_objects() -> None:
    from huleedu_operator.cli import dump_yaml

    shared = {"configMapRef": {"name": "svc-kafka"}}
    text = dump_yaml([{"envFrom": [shared, shared]}])
    assert "&" not in text
    assert "*" not in text
    assert documents(text) == [{"envFrom": [shared, shared]}]


@pytest.mark.parametrize(
    "command", [["crd"], ["render", "-f", str(EXAMPLES / "event-worker.yaml")]]
)
def test_crd_and_render_print_no_yaml_anchors(command: list[str]) -> None:
    result = invoke(*command, env={"HULEEDU_OPERATOR_KAFKA_BOOTSTRAP_SERVERS": BOOTSTRAP})
    assert result.exit_code == 0, result.stderr
    assert not re.search(r"[&*]id[0-9]", result.stdout)
