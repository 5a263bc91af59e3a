"""A missing Secret or ConfigMap reaches status through the pods (the operator has no
Secret permissions): the kubelet's CreateContainerConfigError message is mapped back to
every spec field that names the missing object, with the fix."""

from __future__ import annotations

from typing import Any

import pytest

from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.controller.references import (
    Reference,
    kubelet_complaint,
    spec_references,
)
from huleedu_operator.controller.status import (
    Observation,
    Problem,
    compute_status,
    pod_problems,
)

pytestmark = pytest.mark.unit

NS = "team-a"


def resource(**spec: Any) -> HuleEduService:
    return HuleEduService.model_validate(
        {
            "apiVersion": "huleedu.io/v1alpha1",
            "kind": "HuleEduService",
            "metadata": {"name": "svc", "namespace": NS},
            "spec": {"type": "http", **spec},
        }
    )


def sasl(credentials: str = "kafka-creds", **extra: Any) -> dict[str, Any]:
    return {
        "topics": ["t"],
        "security": {
            "protocol": "SASL_SSL",
            "sasl": {"secretRef": {"name": credentials}, **extra},
            "tls": {"secretRef": {"name": "broker-tls"}},
        },
    }


def failing_pod(message: str, pod: str = "svc-6d4f-x", container: str = "app") -> dict[str, Any]:
    return {
        "metadata": {"name": pod},
        "status": {
            "containerStatuses": [
                {
                    "name": container,
                    "state": {
                        "waiting": {"reason": "CreateContainerConfigError", "message": message}
                    },
                }
            ]
        },
    }


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


# --- which fields reference what ------------------------------------------------------


def test_every_secret_and_configmap_reference_in_the_spec_is_found_with_its_field() -> None:
    refs = spec_references(
        resource(
            env=[
                {"name": "PLAIN", "value": "x"},
                {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}},
                {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "mode"}}},
                {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            ],
            envFrom=[{"configMapRef": {"name": "shared"}}, {"secretRef": {"name": "db"}}],
            kafka=sasl(usernameKey="user", passwordKey="pass"),
        )
    )
    assert refs == [
        Reference("Secret", "db", "spec.env[1].valueFrom.secretKeyRef.name", "pw",
                  "spec.env[1].valueFrom.secretKeyRef.key", can_be_optional=True),
        Reference("ConfigMap", "cfg", "spec.env[2].valueFrom.configMapKeyRef.name", "mode",
                  "spec.env[2].valueFrom.configMapKeyRef.key", can_be_optional=True),
        Reference("ConfigMap", "shared", "spec.envFrom[0].configMapRef.name",
                  can_be_optional=True),
        Reference("Secret", "db", "spec.envFrom[1].secretRef.name", can_be_optional=True),
        Reference("Secret", "kafka-creds", "spec.kafka.security.sasl.secretRef.name", "user",
                  "spec.kafka.security.sasl.usernameKey"),
        Reference("Secret", "kafka-creds", "spec.kafka.security.sasl.secretRef.name", "pass",
                  "spec.kafka.security.sasl.passwordKey"),
        Reference("Secret", "broker-tls", "spec.kafka.security.tls.secretRef.name"),
    ]  # fmt: skip


def test_optional_references_are_left_out_because_the_kubelet_skips_them() -> None:
    refs = spec_references(
        resource(
            env=[
                {
                    "name": "A",
                    "valueFrom": {"secretKeyRef": {"name": "s", "key": "k", "optional": True}},
                }
            ],
            envFrom=[{"secretRef": {"name": "s", "optional": True}}],
        )
    )
    assert refs == []


def test_a_spec_without_references_has_none() -> None:
    assert spec_references(resource()) == []


# --- what the kubelet said ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        # Watch-based object manager (the kubelet default): singular resource name.
        ('secret "db-creds" not found', ("Secret", "db-creds", None)),
        # Get/TTL-cache managers ask the API server: its NotFound uses the plural.
        ('secrets "db-creds" not found', ("Secret", "db-creds", None)),
        ('configmap "cfg" not found', ("ConfigMap", "cfg", None)),
        ('configmaps "cfg" not found', ("ConfigMap", "cfg", None)),
        (
            "couldn't find key password in Secret team-a/db-creds",
            ("Secret", "db-creds", "password"),
        ),
        ("couldn't find key mode in ConfigMap team-a/cfg", ("ConfigMap", "cfg", "mode")),
        ('object "team-a"/"db-creds" not registered', None),
        ("failed to sync secret cache: timed out waiting for the condition", None),
        ("", None),
    ],
)
def test_kubelet_messages_about_missing_objects_and_keys_are_recognised(
    message: str, expected: tuple[str, str, str | None] | None
) -> None:
    assert kubelet_complaint(message) == expected


# --- the Degraded message -------------------------------------------------------------------


def test_a_missing_envfrom_secret_names_the_field_and_the_fix() -> None:
    svc = resource(envFrom=[{"secretRef": {"name": "db-creds"}}])
    problem = only(pod_problems([failing_pod('secret "db-creds" not found', "x", "y")], svc))
    assert problem.reason == "CreateContainerConfigError"
    assert problem.blocking
    assert problem.message == (
        'spec.envFrom[0].secretRef.name: Secret "db-creds" does not exist in namespace team-a '
        '(pod x container y: CreateContainerConfigError: secret "db-creds" not found); '
        "create it or mark the reference optional"
    )
    assert problem.fields == ("spec.envFrom[0].secretRef.name",)


def test_the_plural_kubelet_wording_maps_the_same_way() -> None:
    svc = resource(env=[{"name": "A", "valueFrom": {"secretKeyRef": {"name": "db", "key": "k"}}}])
    problem = only(pod_problems([failing_pod('secrets "db" not found', "x", "y")], svc))
    assert problem.message.startswith(
        'spec.env[0].valueFrom.secretKeyRef.name: Secret "db" does not exist in namespace team-a '
        '(pod x container y: CreateContainerConfigError: secrets "db" not found); '
    )
    assert problem.message.endswith("; create it or mark the reference optional")


def test_every_field_naming_the_missing_secret_is_listed_once() -> None:
    svc = resource(
        env=[
            {"name": "U", "valueFrom": {"secretKeyRef": {"name": "shared", "key": "u"}}},
            {"name": "V", "valueFrom": {"secretKeyRef": {"name": "other", "key": "v"}}},
        ],
        envFrom=[{"secretRef": {"name": "shared"}}],
    )
    problem = only(pod_problems([failing_pod('secret "shared" not found', "x", "y")], svc))
    assert problem.message == (
        "spec.env[0].valueFrom.secretKeyRef.name, spec.envFrom[0].secretRef.name: "
        'Secret "shared" does not exist in namespace team-a '
        '(pod x container y: CreateContainerConfigError: secret "shared" not found); '
        "create it or mark the references optional"
    )
    assert problem.fields == (
        "spec.env[0].valueFrom.secretKeyRef.name",
        "spec.envFrom[0].secretRef.name",
    )


def test_a_missing_sasl_secret_names_the_kafka_field_and_only_asks_to_create_it() -> None:
    # The SASL credentials cannot be optional: a SASL consumer without them cannot log in.
    svc = resource(kafka=sasl("kafka-creds"))
    problem = only(pod_problems([failing_pod('secret "kafka-creds" not found', "x", "y")], svc))
    assert problem.message == (
        'spec.kafka.security.sasl.secretRef.name: Secret "kafka-creds" does not exist in '
        "namespace team-a (pod x container y: CreateContainerConfigError: "
        'secret "kafka-creds" not found); create it'
    )


def test_a_secret_shared_by_sasl_and_envfrom_asks_to_create_it() -> None:
    svc = resource(kafka=sasl("creds"), envFrom=[{"secretRef": {"name": "creds"}}])
    problem = only(pod_problems([failing_pod('secret "creds" not found', "x", "y")], svc))
    assert problem.message.startswith(
        "spec.envFrom[0].secretRef.name, spec.kafka.security.sasl.secretRef.name: "
    )
    assert problem.message.endswith("); create it")


def test_a_missing_secret_also_used_for_tls_names_the_tls_field() -> None:
    svc = resource(kafka=sasl("broker-tls"))
    problem = only(pod_problems([failing_pod('secret "broker-tls" not found', "x", "y")], svc))
    assert problem.message.startswith(
        "spec.kafka.security.sasl.secretRef.name, spec.kafka.security.tls.secretRef.name: "
        'Secret "broker-tls" does not exist'
    )


def test_a_missing_key_names_the_key_field_not_the_name() -> None:
    svc = resource(
        env=[
            {"name": "A", "valueFrom": {"secretKeyRef": {"name": "db-creds", "key": "password"}}},
            {"name": "B", "valueFrom": {"secretKeyRef": {"name": "db-creds", "key": "user"}}},
        ],
        envFrom=[{"secretRef": {"name": "db-creds"}}],
    )
    problem = only(
        pod_problems(
            [failing_pod("couldn't find key password in Secret team-a/db-creds", "x", "y")], svc
        )
    )
    assert problem.message == (
        'spec.env[0].valueFrom.secretKeyRef.key: Secret "db-creds" in namespace team-a has no '
        'key "password" (pod x container y: CreateContainerConfigError: couldn\'t find key '
        "password in Secret team-a/db-creds); add the key to the Secret, correct the key, or "
        "mark the reference optional"
    )
    assert problem.fields == ("spec.env[0].valueFrom.secretKeyRef.key",)


def test_a_missing_sasl_key_names_usernamekey_or_passwordkey() -> None:
    svc = resource(kafka=sasl("kafka-creds"))  # default keys: username, password
    problem = only(
        pod_problems(
            [failing_pod("couldn't find key password in Secret team-a/kafka-creds", "x", "y")],
            svc,
        )
    )
    assert problem.message == (
        'spec.kafka.security.sasl.passwordKey: Secret "kafka-creds" in namespace team-a has no '
        'key "password" (pod x container y: CreateContainerConfigError: couldn\'t find key '
        "password in Secret team-a/kafka-creds); add the key to the Secret or correct the key"
    )


def test_a_missing_configmap_key_ref_is_mapped_like_a_secret() -> None:
    svc = resource(
        env=[{"name": "M", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "mode"}}}]
    )
    problem = only(pod_problems([failing_pod('configmap "cfg" not found', "x", "y")], svc))
    assert problem.message == (
        'spec.env[0].valueFrom.configMapKeyRef.name: ConfigMap "cfg" does not exist in '
        "namespace team-a (pod x container y: CreateContainerConfigError: "
        'configmap "cfg" not found); create it or mark the reference optional'
    )


def test_a_secret_of_the_same_name_as_a_configmap_is_not_confused_with_it() -> None:
    svc = resource(envFrom=[{"configMapRef": {"name": "app"}}, {"secretRef": {"name": "app"}}])
    problem = only(pod_problems([failing_pod('secret "app" not found', "x", "y")], svc))
    assert problem.fields == ("spec.envFrom[1].secretRef.name",)


def test_a_secret_the_spec_no_longer_names_keeps_the_kubelets_message() -> None:
    # An old ReplicaSet's pod can still fail on a reference the current spec dropped.
    svc = resource(envFrom=[{"secretRef": {"name": "new-creds"}}])
    problem = only(pod_problems([failing_pod('secret "old-creds" not found', "x", "y")], svc))
    assert problem.message == (
        'pod x container y: CreateContainerConfigError: secret "old-creds" not found'
    )
    assert problem.fields == ()


def test_an_optional_reference_is_not_blamed() -> None:
    svc = resource(envFrom=[{"secretRef": {"name": "db", "optional": True}}])
    problem = only(pod_problems([failing_pod('secret "db" not found', "x", "y")], svc))
    assert problem.fields == ()
    assert problem.message.startswith("pod x container y: ")


def test_without_the_spec_the_kubelets_message_is_passed_through() -> None:
    problem = only(pod_problems([failing_pod('secret "db" not found', "x", "y")]))
    assert problem.message == 'pod x container y: CreateContainerConfigError: secret "db" not found'


def test_pods_failing_on_the_same_secret_are_reported_once() -> None:
    svc = resource(envFrom=[{"secretRef": {"name": "db"}}])
    pods = [failing_pod('secret "db" not found', f"svc-{i}") for i in range(3)]
    assert len(pod_problems(pods, svc)) == 1


def test_pods_failing_on_different_secrets_are_each_reported() -> None:
    svc = resource(envFrom=[{"secretRef": {"name": "a"}}, {"secretRef": {"name": "b"}}])
    pods = [
        failing_pod('secret "a" not found', "p1"),
        failing_pod('secret "b" not found', "p2"),
        failing_pod('secret "a" not found', "p3"),
    ]
    assert [p.fields for p in pod_problems(pods, svc)] == [
        ("spec.envFrom[0].secretRef.name",),
        ("spec.envFrom[1].secretRef.name",),
    ]


def test_an_init_container_failing_on_a_secret_is_mapped_too() -> None:
    svc = resource(
        envFrom=[{"secretRef": {"name": "db"}}], migrations={"command": ["alembic", "upgrade"]}
    )
    pod = {
        "metadata": {"name": "x"},
        "status": {
            "initContainerStatuses": [
                {
                    "name": "migrations",
                    "state": {
                        "waiting": {
                            "reason": "CreateContainerConfigError",
                            "message": 'secret "db" not found',
                        }
                    },
                }
            ]
        },
    }
    problem = only(pod_problems([pod], svc))
    assert "(pod x container migrations: CreateContainerConfigError" in problem.message
    assert problem.fields == ("spec.envFrom[0].secretRef.name",)


def test_fields_already_reported_by_the_reconciler_are_not_repeated() -> None:
    # The reconciler GETs envFrom ConfigMaps itself (MissingReference); the pods then
    # fail on the same ConfigMap, which would say the same thing twice.
    svc = resource(envFrom=[{"configMapRef": {"name": "cfg"}}])
    known = Problem(
        "MissingReference",
        "spec.envFrom[0].configMapRef.name: ...",
        fields=("spec.envFrom[0].configMapRef.name",),
    )
    pods = [failing_pod('configmap "cfg" not found', "x", "y")]
    assert pod_problems(pods, svc, reported=[known]) == []
    assert len(pod_problems(pods, svc)) == 1


def test_the_message_carries_no_value_from_the_spec() -> None:
    svc = resource(
        env=[
            {"name": "TOKEN", "value": "s3cr3t-literal"},
            {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}},
        ],
        settings={"FEATURE_FLAGS": "another-s3cr3t"},  # a credential name is refused
        envFrom=[{"secretRef": {"name": "db"}}],
    )
    problem = only(pod_problems([failing_pod('secret "db" not found')], svc))
    assert "s3cr3t" not in problem.message


def test_other_waiting_reasons_are_unchanged() -> None:
    svc = resource(envFrom=[{"secretRef": {"name": "db"}}])
    pod = {
        "metadata": {"name": "x"},
        "status": {
            "containerStatuses": [
                {
                    "name": "app",
                    "state": {
                        "waiting": {
                            "reason": "ImagePullBackOff",
                            "message": 'Back-off pulling image "example/w:1.0"',
                        }
                    },
                }
            ]
        },
    }
    problem = only(pod_problems([pod], svc))
    assert problem.reason == "ImagePullBackOff"
    assert problem.message == (
        'pod x container app: ImagePullBackOff: Back-off pulling image "example/w:1.0"'
    )


def test_the_degraded_condition_shows_the_mapped_message() -> None:
    svc = resource(envFrom=[{"secretRef": {"name": "db-creds"}}])
    problems = tuple(pod_problems([failing_pod('secret "db-creds" not found', "x", "y")], svc))
    status = compute_status(Observation(1, "http", None, problems=problems), {}, "T")
    cond = {c["type"]: c for c in status["conditions"]}
    assert cond["Degraded"]["status"] == "True"
    assert cond["Degraded"]["reason"] == "CreateContainerConfigError"
    assert cond["Degraded"]["message"].startswith(
        'spec.envFrom[0].secretRef.name: Secret "db-creds" does not exist in namespace team-a'
    )
    assert cond["Ready"]["status"] == "False"
    assert cond["Ready"]["message"] == cond["Degraded"]["message"]
