"""Input the API server used to admit and then refused, or ran with surprises, later: pod
metadata, disruption budgets, topic names and env entries are judged at admission (and
offline), each naming the field and the fix. The refusals are cases in
``tests/cases/invalid_resources.py``; these are the values just inside the bounds."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from cases.invalid_resources import INVALID_BY_ID
from cases.valid_resources import document
from huleedu_operator.api import v1alpha1
from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.cli import format_validation_error
from huleedu_runtime import contract

pytestmark = pytest.mark.unit


def accepted(**spec: Any) -> HuleEduService:
    return HuleEduService.model_validate(document("svc", {"type": "http", **spec}))


def refused(**spec: Any) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        accepted(**spec)
    return format_validation_error(caught.value, "x")


@pytest.mark.parametrize(
    "key",
    ["team", "example.com/owner", "a", "A_b.c-D", "x" * 63, ("p" * 253) + "/" + ("n" * 63)],
)
def test_label_keys_within_the_kubernetes_syntax_are_accepted(key: str) -> None:
    resource = accepted(podLabels={key: "v"}, nodeSelector={key: "v"}, podAnnotations={key: "v"})
    assert resource.spec.pod_labels == {key: "v"}


@pytest.mark.parametrize(
    "key", ["", "/x", "x/", "-x", "x-", "x" * 64, "Example.com/x", "a/b/c", ("p" * 254) + "/n"]
)
def test_label_keys_outside_the_kubernetes_syntax_are_refused(key: str) -> None:
    assert refused(podLabels={key: "v"}) == [f"x: {v1alpha1._key_message('podLabels', 'label')}"]


@pytest.mark.parametrize("value", ["", "v", "a-b_c.d", "x" * 63])
def test_label_values_within_the_kubernetes_syntax_are_accepted(value: str) -> None:
    assert accepted(podLabels={"team": value}).spec.pod_labels == {"team": value}


@pytest.mark.parametrize("value", ["-v", "v.", "a b", "a/b", "x" * 64, "ü"])
def test_label_values_outside_the_kubernetes_syntax_are_refused(value: str) -> None:
    assert refused(nodeSelector={"kubernetes.io/os": value}) == [
        f"x: {v1alpha1._label_value_message('nodeSelector')}"
    ]


def test_64_entries_and_4096_character_annotations_are_accepted() -> None:
    many = {f"k{i}": "v" for i in range(64)}
    resource = accepted(podLabels=many, nodeSelector=many, podAnnotations={"a": "x" * 4096})
    assert resource.spec.node_selector == many


def test_an_annotation_value_may_be_any_text() -> None:
    value = '{"json": [1, 2], "text": "with spaces / slashes"}'
    assert accepted(podAnnotations={"example.com/config": value}).spec.pod_annotations


@pytest.mark.parametrize(
    "key",
    [
        "container.apparmor.security.beta.kubernetes.io/app",
        "seccomp.security.alpha.kubernetes.io/pod",
        "container.seccomp.security.alpha.kubernetes.io/app",
        "security.alpha.kubernetes.io/sysctls",
        "io.kubernetes.cri-o.userns-mode",
        "io.katacontainers.config.hypervisor.path",
        "dev.gvisor.internal.nvproxy",
        "run.oci.seccomp_fail_unknown_syscall",
    ],
)
def test_annotations_that_loosen_the_pod_security_profile_are_refused(key: str) -> None:
    # Even the harmless-looking "runtime/default": the operator sets the profile itself.
    assert refused(podAnnotations={key: "runtime/default"}) == [
        f"x: {v1alpha1.SECURITY_ANNOTATION_MESSAGE}"
    ]


def test_the_selector_labels_are_the_renderers() -> None:
    from huleedu_operator.render.labels import selector_labels

    resource = accepted()
    assert set(selector_labels(resource)) == set(v1alpha1.SELECTOR_LABEL_KEYS)


@pytest.mark.parametrize(
    ("replicas", "budget"),
    [
        (2, {"minAvailable": "50%"}),  # ceil(1.0) = 1 of 2
        (3, {"minAvailable": "66%"}),  # ceil(1.98) = 2 of 3
        (3, {"minAvailable": 2}),
        (1, {"minAvailable": 0}),
        (1, {"minAvailable": "0%"}),
        (1, {"maxUnavailable": 1}),
        (5, {"maxUnavailable": "1%"}),  # rounded up: 1 pod
        (5, {"maxUnavailable": "100%"}),
        (3, {"maxUnavailable": 0, "enabled": False}),
    ],
)
def test_a_budget_that_leaves_a_pod_evictable_is_accepted(
    replicas: int, budget: dict[str, Any]
) -> None:
    assert accepted(replicas=replicas, disruptionBudget=budget).spec.disruption_budget


@pytest.mark.parametrize(("replicas", "percent"), [(3, "67%"), (4, "76%"), (10, "91%")])
def test_a_min_available_percentage_that_rounds_up_to_every_pod_is_refused(
    replicas: int, percent: str
) -> None:
    (line,) = refused(replicas=replicas, disruptionBudget={"minAvailable": percent})
    assert line.startswith("x: spec.disruptionBudget.minAvailable: must be lower than")


def test_a_min_available_percentage_is_judged_at_the_autoscaling_floor() -> None:
    autoscaling = {"minReplicas": 1, "maxReplicas": 5}
    refused(replicas=5, autoscaling=autoscaling, disruptionBudget={"minAvailable": "50%"})
    accepted(
        replicas=1,
        autoscaling={**autoscaling, "minReplicas": 2},
        disruptionBudget={"minAvailable": "50%"},
    )


@pytest.mark.parametrize(
    "value", ["abc", "1", "-1%", "101%", "50.5%", "05%", " 5%", -1, 1.5, True, [1]]
)
def test_a_budget_value_is_a_count_or_a_whole_percentage(value: object) -> None:
    assert refused(replicas=3, disruptionBudget={"maxUnavailable": value}) == [
        f"x: {v1alpha1._budget_value_message('maxUnavailable')}"
    ]


def test_the_longest_topic_still_leaves_room_for_its_dead_letter_topic() -> None:
    topic = "t" * v1alpha1.TOPIC_MAX_LENGTH
    assert len(topic + contract.DLQ_SUFFIX) == 249
    assert accepted(kafka={"topics": [topic, "...a", "a.b_c-D"]}).spec.kafka


def test_a_wrong_list_item_is_named_by_its_index_as_the_api_server_does() -> None:
    both = INVALID_BY_ID["env-value-and-value-from"].document()["spec"]["env"]
    assert refused(env=[{"name": "OK", "value": "1"}, *both]) == [
        "x: spec.env[1]: set value or valueFrom, not both; a value read from a Secret or "
        "ConfigMap goes in valueFrom alone"
    ]


def test_an_env_entry_with_value_from_alone_is_accepted() -> None:
    ref = {"secretKeyRef": {"name": "db", "key": "url"}}
    assert accepted(env=[{"name": "DB_URL", "valueFrom": ref}]).spec.env


# --- settings: no credential, no name the operator sets --------------------------------


@pytest.mark.parametrize(
    "key",
    ["DB_PASSWORD", "db_passwd", "JWT_SECRET", "SECRET_KEY", "GITHUB_TOKEN", "OPENAI_API_KEY",
     "STRIPE_APIKEY", "JWT_PRIVATE_KEY", "GCP_CREDENTIALS", "AWS_SECRET_ACCESS_KEY"],
)  # fmt: skip
def test_a_setting_named_like_a_credential_is_refused_naming_it(key: str) -> None:
    assert refused(settings={key: "x", "LOG_LEVEL": "INFO"}) == [
        f"x: spec.settings: {v1alpha1.CREDENTIAL_SETTING_MESSAGE.removeprefix('spec.settings: ')}"
        f": {key}"
    ]


@pytest.mark.parametrize(
    "key",
    ["MAX_TOKENS", "TOKEN_URL", "SECRET_NAME", "DB_PASSWORD_FILE", "KEY_PREFIX", "SECRETS_DIR",
     "JWT_ALGORITHM", "TOKENIZER", "PASSWORDLESS_LOGIN", "CACHE_KEY"],
)  # fmt: skip
def test_a_setting_that_only_mentions_a_credential_is_accepted(key: str) -> None:
    assert accepted(settings={key: "x"}).spec.settings == {key: "x"}


def test_a_credential_may_still_be_a_literal_env_entry_on_purpose() -> None:
    # env[] is the explicit way (e.g. a development password); settings are not.
    assert accepted(env=[{"name": "DB_PASSWORD", "value": "dev"}]).spec.env


@pytest.mark.parametrize("name", sorted(v1alpha1.RESERVED_ENV))
def test_every_reserved_name_is_refused_in_settings_and_env_plain_and_prefixed(name: str) -> None:
    prefix = "CONTENT_SERVICE_"
    for spec in (
        {"settings": {name: "x"}},
        {"env": [{"name": name, "value": "x"}]},
        {"envPrefix": prefix, "settings": {prefix + name: "x"}},
        {"envPrefix": prefix, "env": [{"name": prefix + name, "value": "x"}]},
    ):
        # A prefixed KAFKA_SASL_PASSWORD is a credential-looking setting first, offline.
        assert any("is reserved" in ln or "like a credential" in ln for ln in refused(**spec)), spec


def test_a_prefixed_name_is_free_without_that_prefix() -> None:
    assert accepted(settings={"CONTENT_SERVICE_PORT": "9000"}).spec.settings
