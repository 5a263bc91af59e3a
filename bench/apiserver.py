"""The API server's own request counters and watch gauge (its /metrics endpoint, read
with the kubeconfig's credentials), diffed around a measurement.

``apiserver_request_total`` has no namespace or user label, so the benchmark runs on a
private control plane where nothing else creates objects, and a run's writes and reads
are those on the resources a HuleEduService's owner writes: the parent (and its status)
and the child kinds, main resources only. What the ground's own controllers write is
left out that way: kube-controller-manager writes ``deployments/status``,
``poddisruptionbudgets/status``, ReplicaSets, pods and EndpointSlices; the scheduler
pods/binding; kwok pods/status. All of it is still recorded per resource
(``by_resource``), leases and nodes excepted (node heartbeats). Events are counted apart:
the operators post some, but so do the controllers (ScalingReplicaSet, Scheduled).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.support.kube import Kube

from huleedu_operator.api.v1alpha1 import PLURAL
from huleedu_operator.controller.kinds import CHILD_KINDS

WRITE_VERBS = frozenset({"POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION", "APPLY"})
READ_VERBS = frozenset({"GET", "LIST"})
EXCLUDED = frozenset({"leases", "nodes"})
# (resource, subresource) an owner of HuleEduServices writes; "" = the main resource.
OWNED = frozenset({(PLURAL, ""), (PLURAL, "status"), *((kind.plural, "") for kind in CHILD_KINDS)})
_LINE = re.compile(r"^(\w+)\{(.*)\} (\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')

Key = tuple[str, str, str]  # resource, subresource, verb


@dataclass
class Snapshot:
    requests: dict[Key, float] = field(default_factory=dict)
    watches: dict[str, float] = field(default_factory=dict)  # resource -> open watches

    @property
    def watch_total(self) -> int:
        return round(sum(self.watches.values()))


def scrape(kube: Kube) -> Snapshot:
    snap = Snapshot()
    for line in kube.text("/metrics").splitlines():
        if not line.startswith(("apiserver_request_total{", "apiserver_longrunning_requests{")):
            continue
        match = _LINE.match(line)
        if not match:
            continue
        name, labels_text, value = match.groups()
        labels = dict(_LABEL.findall(labels_text))
        resource = labels.get("resource", "")
        if not resource or resource in EXCLUDED:
            continue
        if name == "apiserver_request_total":
            key = (resource, labels.get("subresource", ""), labels.get("verb", ""))
            snap.requests[key] = snap.requests.get(key, 0.0) + float(value)
        elif labels.get("verb") == "WATCH":
            snap.watches[resource] = snap.watches.get(resource, 0.0) + float(value)
    return snap


def delta(after: Snapshot, before: Snapshot) -> dict[Key, float]:
    out = {}
    for key, value in after.requests.items():
        d = value - before.requests.get(key, 0.0)
        if d:
            out[key] = d
    return out


def count(requests: dict[Key, float], verbs: Iterable[str], owned_only: bool = True) -> float:
    verbs = frozenset(verbs)
    return sum(
        v
        for (res, sub, verb), v in requests.items()
        if verb in verbs and (not owned_only or (res, sub) in OWNED)
    )


def summary(requests: dict[Key, float], n: int) -> dict[str, Any]:
    """Per resource figures of one phase (``n`` HuleEduServices)."""
    events = {
        verb: v for (res, _, verb), v in requests.items() if res == "events" and verb in WRITE_VERBS
    }
    by_resource: dict[str, dict[str, float]] = {}
    for (res, sub, verb), v in sorted(requests.items()):
        name = f"{res}/{sub}" if sub else res
        by_resource.setdefault(name, {})[verb] = v
    return {
        "writes": count(requests, WRITE_VERBS),
        "reads": count(requests, READ_VERBS),
        "writes_per_resource": round(count(requests, WRITE_VERBS) / n, 3),
        "reads_per_resource": round(count(requests, READ_VERBS) / n, 4),
        "event_writes_per_resource": round(sum(events.values()) / n, 3),
        "owned_by_verb": _by_verb(requests, n),
        "by_resource": by_resource,
    }


def _by_verb(requests: dict[Key, float], n: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for (res, sub, verb), v in sorted(requests.items()):
        if (res, sub) in OWNED:
            out.setdefault(f"{res}/{sub}" if sub else res, {})[verb] = round(v / n, 3)
    return out
