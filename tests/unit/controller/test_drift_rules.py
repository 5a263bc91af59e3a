"""The write-avoidance rules of the reconciler: when a child counts as up to date."""

from __future__ import annotations

import copy

import pytest

from huleedu_operator.api.identity import APPLIED_HASH
from huleedu_operator.controller.drift import is_subset, up_to_date, with_hash

pytestmark = pytest.mark.unit

DESIRED = with_hash(
    {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x", "namespace": "n", "labels": {"a": "b"}},
        "spec": {
            "replicas": 2,
            "template": {"spec": {"containers": [{"name": "app", "image": "i:1"}]}},
        },
    }
)


def live_copy() -> dict:
    live = copy.deepcopy(DESIRED)
    live["metadata"]["uid"] = "u"
    live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "IfNotPresent"
    live["status"] = {"replicas": 2}
    return live


def test_defaults_added_by_the_server_do_not_count_as_drift() -> None:
    assert up_to_date(DESIRED, live_copy())


def test_an_edited_field_is_drift() -> None:
    live = live_copy()
    live["spec"]["template"]["spec"]["containers"][0]["image"] = "evil:6"
    assert not up_to_date(DESIRED, live)


def test_a_changed_desired_state_is_detected_by_its_hash() -> None:
    live = live_copy()
    live["metadata"]["annotations"][APPLIED_HASH] = "old"
    assert not up_to_date(DESIRED, live)


def test_a_missing_child_is_not_up_to_date() -> None:
    assert not up_to_date(DESIRED, None)


def test_lists_must_match_in_length() -> None:
    assert not is_subset([1, 2], [1, 2, 3])
    assert is_subset([{"a": 1}], [{"a": 1, "b": 2}])


def test_hash_ignores_nothing_the_user_can_change() -> None:
    other = copy.deepcopy(DESIRED)
    del other["metadata"]["annotations"]
    other["spec"]["replicas"] = 3
    assert (
        with_hash(other)["metadata"]["annotations"][APPLIED_HASH]
        != DESIRED["metadata"]["annotations"][APPLIED_HASH]
    )


def test_zero_values_the_server_omits_are_not_drift() -> None:
    assert is_subset({"initialDelaySeconds": 0, "period": 10}, {"period": 10})
    assert not is_subset({"replicas": 0}, {"replicas": 1})


@pytest.mark.parametrize(
    ("desired", "live"),
    [
        ({"cpu": 1}, {"cpu": "1"}),
        ({"memory": "0.5Gi"}, {"memory": "512Mi"}),
        ({"cpu": "0.5"}, {"cpu": "500m"}),
        ({"cpu": 0.25, "memory": "1G"}, {"cpu": "250m", "memory": "1e9"}),
        ({"ephemeral-storage": "1Ki"}, {"ephemeral-storage": "1024"}),
    ],
)
def test_resource_quantities_compare_by_value_not_spelling(
    desired: dict[str, object], live: dict[str, object]
) -> None:
    wanted = {"spec": {"containers": [{"resources": {"requests": desired, "limits": desired}}]}}
    seen = {"spec": {"containers": [{"resources": {"requests": live, "limits": live}}]}}
    assert is_subset(wanted, seen)


def test_a_different_quantity_is_drift() -> None:
    wanted = {"resources": {"requests": {"cpu": "1"}}}
    assert not is_subset(wanted, {"resources": {"requests": {"cpu": "2"}}})
    assert not is_subset(wanted, {"resources": {"requests": {"cpu": "not-a-quantity"}}})


def test_only_resource_quantities_get_value_comparison() -> None:
    # Elsewhere "1" and 1 are different values (a label, an env var).
    assert not is_subset({"env": [{"value": "1"}]}, {"env": [{"value": 1}]})
