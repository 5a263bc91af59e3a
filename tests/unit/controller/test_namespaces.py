"""Which namespaces an operator serves (HULEEDU_OPERATOR_NAMESPACES), and the kopf
namespace patterns that say the same thing."""

from __future__ import annotations

import pytest
from kopf._cogs.structs.references import NamespaceName, match_namespace

from huleedu_operator.controller.namespaces import NamespaceSelection
from support.operator import IN_CLUSTER_NAMESPACES, OUTSIDE_IN_CLUSTER

pytestmark = pytest.mark.unit


def kopf_serves(selection: NamespaceSelection, namespace: str) -> bool:
    """What kopf does with the patterns: a namespace is served when any pattern matches."""
    if selection.mode == "cluster":
        return True
    return any(match_namespace(NamespaceName(namespace), p) for p in selection.kopf_namespaces())


# --- parsing ------------------------------------------------------------------------------


def test_entries_split_into_inclusive_and_excluded_globs() -> None:
    selection = NamespaceSelection.parse(["team-*", "!team-b", "x", "!e2e-*"])
    assert selection.include == ("team-*", "x")
    assert selection.exclude == ("team-b", "e2e-*")


def test_repeated_entries_count_once() -> None:
    selection = NamespaceSelection.parse(["a", "a", "!b", "!b"])
    assert selection.include == ("a",)
    assert selection.exclude == ("b",)


@pytest.mark.parametrize(
    "entry", ["Team-A", "team_a", "!", "!!a", "a b", "-a", "a-", "[ab]", "a" * 64, "team/a", ""]
)
def test_an_entry_that_is_not_a_namespace_name_or_glob_is_rejected_naming_it(entry: str) -> None:
    with pytest.raises(ValueError, match="HULEEDU_OPERATOR_NAMESPACES") as exc:
        NamespaceSelection.parse([entry])
    assert repr(entry) in str(exc.value)


# --- modes ----------------------------------------------------------------------------------


def test_no_entries_is_the_whole_cluster() -> None:
    selection = NamespaceSelection.parse([])
    assert selection.mode == "cluster"
    assert selection.kopf_namespaces() == []
    assert selection.clusterwide_peering


def test_literal_names_only_are_served_as_a_fixed_list_with_peering_per_namespace() -> None:
    selection = NamespaceSelection.parse(["team-a", "team-b"])
    assert selection.mode == "namespaces"
    assert selection.kopf_namespaces() == ["team-a", "team-b"]
    assert not selection.clusterwide_peering


@pytest.mark.parametrize("entries", [["team-*"], ["team-?"], ["!huleedu"], ["a", "!b"]])
def test_any_glob_or_exclusion_is_pattern_mode_with_cluster_wide_peering(
    entries: list[str],
) -> None:
    # kopf keeps one KopfPeering per served namespace otherwise, and nobody can create
    # those in namespaces that appear later; a ClusterKopfPeering is one known object.
    selection = NamespaceSelection.parse(entries)
    assert selection.mode == "patterns"
    assert selection.clusterwide_peering


# --- the kopf patterns --------------------------------------------------------------------


def test_each_inclusive_glob_carries_every_exclusion() -> None:
    # Inside one kopf pattern, inclusive globs after the first only re-match what an
    # exclusion removed, so "team-*, x" would not serve x: one pattern per inclusive glob.
    selection = NamespaceSelection.parse(["team-*", "x", "!team-b"])
    assert selection.kopf_namespaces() == ["team-*, !team-b", "x, !team-b"]


def test_only_exclusions_make_one_pattern_that_starts_from_everything() -> None:
    assert NamespaceSelection.parse(["!a", "!b"]).kopf_namespaces() == ["!a, !b"]


def test_inclusive_globs_without_exclusions_are_one_pattern_each() -> None:
    assert NamespaceSelection.parse(["team-*", "x"]).kopf_namespaces() == ["team-*", "x"]


CASES = [
    [],
    ["team-a"],
    ["team-a", "team-b"],
    ["team-*"],
    ["team-*", "x"],
    ["team-*", "x", "!team-b"],
    ["!huleedu", "!e2e-*"],
    ["*", "!kube-*"],
    ["team-?", "!team-b"],
    ["e2e-*", "huleedu"],
    ["x", "!x"],
    ["!*"],
]
NAMESPACES = [
    "team-a",
    "team-b",
    "team-cc",
    "x",
    "y",
    "huleedu",
    "huleedu-system",
    "e2e-1234abcd",
    "kube-system",
    "default",
]


@pytest.mark.parametrize("entries", CASES, ids=lambda e: ",".join(e) or "(empty)")
def test_kopf_serves_exactly_the_documented_selection(entries: list[str]) -> None:
    """Any inclusive glob (all namespaces when there is none) minus every exclusion."""
    selection = NamespaceSelection.parse(entries)
    for namespace in NAMESPACES:
        assert kopf_serves(selection, namespace) == selection.matches(namespace), namespace


def test_the_test_suites_local_operators_and_the_in_cluster_one_serve_disjoint_namespaces() -> None:
    local = NamespaceSelection.parse(OUTSIDE_IN_CLUSTER.split(","))
    in_cluster = NamespaceSelection.parse(IN_CLUSTER_NAMESPACES)
    served_locally = {ns for ns in NAMESPACES if kopf_serves(local, ns)}
    served_in_cluster = {ns for ns in NAMESPACES if kopf_serves(in_cluster, ns)}
    assert served_in_cluster == {"huleedu", "e2e-1234abcd"}
    assert served_locally == set(NAMESPACES) - served_in_cluster


def test_matches_follows_the_documented_rule() -> None:
    selection = NamespaceSelection.parse(["team-*", "x", "!team-b"])
    assert selection.matches("team-a")
    assert selection.matches("x")
    assert not selection.matches("team-b")
    assert not selection.matches("y")


def test_the_description_for_the_log_says_what_is_served() -> None:
    assert NamespaceSelection.parse([]).describe() == "all"
    assert NamespaceSelection.parse(["a", "b"]).describe() == "a, b"
    assert NamespaceSelection.parse(["!huleedu", "!e2e-*"]).describe() == (
        "all except huleedu, e2e-*"
    )
    assert NamespaceSelection.parse(["team-*", "!team-b"]).describe() == ("team-* except team-b")
