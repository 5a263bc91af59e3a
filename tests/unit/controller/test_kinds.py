"""The registry of child kinds is the renderer's: every kind it renders is registered
with its API group and version, and every registered kind is rendered by some case.

The controller watches, reads, applies and prunes only registered kinds (and the
chart's RBAC test grants exactly them), so a child kind the renderer learns without a
registry entry would be applied once and then never found again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from cases.valid_resources import VALID_CASES, ValidCase
from huleedu_operator.controller.kinds import BY_KIND, CHILD_KINDS
from huleedu_operator.render import Capability, RenderDefaults, render

pytestmark = pytest.mark.unit

ALL_ON = frozenset(Capability)


def with_everything(case: ValidCase) -> RenderDefaults:
    """The case on a cluster serving every optional API, with a Gateway to attach to."""
    defaults = case.defaults()
    return dataclasses.replace(
        defaults, capabilities=ALL_ON, gateway_name=defaults.gateway_name or "gw"
    )


def renderings() -> Iterator[tuple[str, ValidCase, RenderDefaults]]:
    """Every case as the matrix renders it, and again with every capability on."""
    for case in VALID_CASES:
        yield case.id, case, case.defaults()
        yield f"{case.id} (all capabilities)", case, with_everything(case)


RENDERINGS = list(renderings())


def group_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def test_the_registry_names_each_kind_once() -> None:
    assert len(BY_KIND) == len(CHILD_KINDS)
    assert len({(k.group, k.plural) for k in CHILD_KINDS}) == len(CHILD_KINDS)


@pytest.mark.parametrize(("label", "case", "defaults"), RENDERINGS, ids=[r[0] for r in RENDERINGS])
def test_every_rendered_child_is_a_registered_kind_at_its_api_version(
    label: str, case: ValidCase, defaults: RenderDefaults
) -> None:
    for child in render(case.resource(), defaults).children:
        registered = BY_KIND.get(child["kind"])
        assert registered is not None, f"{label}: {child['kind']} is not in CHILD_KINDS"
        assert group_version(child["apiVersion"]) == (registered.group, registered.version), (
            f"{label}: {child['kind']} rendered as {child['apiVersion']}, registered as "
            f"{registered.group}/{registered.version}"
        )


def test_every_registered_kind_is_rendered_by_some_case_of_the_matrix() -> None:
    # The matrix as it stands (its own capabilities), so every kind also has a golden
    # file and a server-side dry run (tests/integration/test_render_dry_run.py).
    rendered = {
        child["kind"]
        for case in VALID_CASES
        for child in render(case.resource(), case.defaults()).children
    }
    unrendered = sorted(k.kind for k in CHILD_KINDS if k.kind not in rendered)
    assert not unrendered, f"registered, never rendered (dead, or a case missing): {unrendered}"


@pytest.mark.parametrize("capability", sorted(Capability), ids=str)
def test_a_kind_of_an_optional_api_is_rendered_only_when_the_cluster_serves_it(
    capability: Capability,
) -> None:
    kinds = {k.kind for k in CHILD_KINDS if k.capability is capability}
    assert kinds, f"no registered kind needs {capability}"
    seen: set[str] = set()
    for _, case, defaults in RENDERINGS:
        served = render(case.resource(), defaults).children
        seen |= {c["kind"] for c in served} & kinds
        without = dataclasses.replace(defaults, capabilities=defaults.capabilities - {capability})
        children = render(case.resource(), without).children
        leaked = sorted({c["kind"] for c in children} & kinds)
        assert not leaked, f"{case.id}: {leaked} rendered on a cluster without {capability}"
    assert seen == kinds, f"with {capability} served, never rendered: {sorted(kinds - seen)}"
