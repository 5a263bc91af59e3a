"""Pattern mode lets go of a namespace at the first sign it is being deleted: the
namespace sink's verdicts, without a server."""

from __future__ import annotations

from typing import Any

import pytest

from huleedu_operator.controller.terminating import _NamespaceSink

pytestmark = pytest.mark.unit


def ns(name: str, deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-02T00:00:00Z"
    return {"metadata": meta}


class Record:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.sink = _NamespaceSink(
            lambda n: self.calls.append(("terminating", n)),
            lambda n: self.calls.append(("alive", n)),
        )


def test_a_deletion_timestamp_is_terminating_before_the_namespace_is_gone() -> None:
    r = Record()
    r.sink.listed(None, [ns("team-a"), ns("team-b")])
    r.sink.event("MODIFIED", ns("team-a", deleting=True))
    r.sink.event("DELETED", ns("team-a", deleting=True))
    assert r.calls == [
        ("alive", "team-a"),
        ("alive", "team-b"),
        ("terminating", "team-a"),
        ("terminating", "team-a"),  # the operator ignores the repeat
    ]


def test_a_namespace_gone_while_the_stream_was_down_is_found_by_the_relist() -> None:
    r = Record()
    r.sink.listed(None, [ns("team-a"), ns("team-b")])
    r.calls.clear()
    r.sink.listed(None, [ns("team-b")])
    assert r.calls == [("terminating", "team-a")]


def test_a_namespace_created_again_under_the_same_name_is_alive() -> None:
    r = Record()
    r.sink.event("ADDED", ns("team-a"))
    r.sink.event("DELETED", ns("team-a"))
    r.sink.event("ADDED", ns("team-a"))
    r.sink.event("MODIFIED", ns("team-a"))
    assert r.calls == [("alive", "team-a"), ("terminating", "team-a"), ("alive", "team-a")]
