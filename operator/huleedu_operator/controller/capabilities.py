"""Which optional APIs (Prometheus Operator, KEDA) the operator renders for, with
hysteresis. Pure.

A capability is *served* while all of its CRDs exist and are Established. Rendering
follows the *effective* set: a capability counts at once when it appears, but a lost one
keeps counting for ``grace`` seconds. Why: a CRD that vanishes briefly (a Helm upgrade
that re-creates it, an API server discovery blip) would otherwise re-render every
resource without it: ServiceMonitors dropped, ``prometheus.io/*`` annotations added to
every pod template, replicas reset where KEDA owned them, so every pod restarts twice per
flap. Within the grace period nothing changes in any pod template; the children of the
missing kind are neither applied nor pruned (they cannot be: the API is gone, and the
API server deleted them with their CRD) and are re-created when it returns. A capability
absent for longer than the grace period is really gone, and resources are rendered
without it (scraping falls back to annotations, replicas come back to the Deployment).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from huleedu_operator.render import Capability


@dataclass
class CapabilityTracker:
    grace: float
    served: frozenset[Capability] = frozenset()
    effective: frozenset[Capability] = frozenset()
    _lost_at: dict[Capability, float] = field(default_factory=dict)

    def seed(self, served: frozenset[Capability]) -> None:
        """At start there is no history: what is served now is what counts."""
        self.served = self.effective = served
        self._lost_at.clear()

    def observe(self, served: frozenset[Capability], now: float) -> bool:
        """Record what is served at ``now``; True when the effective set changed."""
        for capability in self.effective - served:
            self._lost_at.setdefault(capability, now)
        for capability in served:
            self._lost_at.pop(capability, None)
        self.served = served
        return self.tick(now)

    def tick(self, now: float) -> bool:
        """Let lost capabilities whose grace period ended go; True when that changed the
        effective set."""
        for capability, lost in list(self._lost_at.items()):
            if now - lost >= self.grace:
                del self._lost_at[capability]
        effective = self.served | frozenset(self._lost_at)
        changed = effective != self.effective
        self.effective = effective
        return changed

    def next_expiry(self) -> float | None:
        """When the earliest pending loss takes effect (None: nothing pending)."""
        return min((lost + self.grace for lost in self._lost_at.values()), default=None)
