"""Operator configuration from the environment (``HULEEDU_OPERATOR_*``)."""

from __future__ import annotations

import socket
import zlib
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from huleedu_operator.api.v1alpha1 import is_label_key, is_label_value
from huleedu_operator.controller.namespaces import NamespaceSelection
from huleedu_operator.render import Capability, RenderDefaults


class OperatorSettings(BaseSettings):
    """Everything the operator can be told without rebuilding it."""

    model_config = SettingsConfigDict(env_prefix="HULEEDU_OPERATOR_", extra="ignore")

    namespaces: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated namespace globs to serve ('*', '?'); an entry starting "
        "with '!' excludes. Served: namespaces matching any inclusive glob (all when there is "
        "none) and no exclusion. Empty: the whole cluster. See controller/namespaces.py.",
    )
    kafka_bootstrap_servers: str | None = Field(
        default=None, description="Default for spec.kafka.bootstrapServers."
    )
    topic_check_bootstrap_servers: str | None = Field(
        default=None,
        pattern=r"^[^,\s:]+:[0-9]{1,5}(,[^,\s:]+:[0-9]{1,5})*$",
        description="Where the operator itself reaches (plaintext) the Kafka cluster of "
        "kafka_bootstrap_servers, to check that consumed topics exist (the TopicsReady "
        "condition). A setting of its own, not a flag on kafka_bootstrap_servers: the "
        "operator often reaches the broker at another address than the pods, or not at "
        "all. Unset: no check (TopicsReady Unknown, TopicCheckDisabled).",
    )
    topic_check_interval_seconds: float = Field(
        default=60,
        ge=1,
        le=3600,
        description="List the broker's topics at most this often (one listing shared by "
        "every resource; reconciles never wait for it).",
    )
    runtime_image: str = Field(
        default=RenderDefaults().runtime_image, description="Default for spec.image."
    )
    gateway_name: str | None = Field(
        default=None,
        max_length=253,
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
        description="Gateway (Gateway API) that HTTPRoutes of spec.expose attach to. Unset: "
        "spec.expose renders an Ingress even when the Gateway API is installed.",
    )
    gateway_namespace: str | None = Field(
        default=None,
        max_length=63,
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description="Namespace of that Gateway. Unset: each route's own namespace.",
    )
    ingress_class_name: str | None = Field(
        default=None,
        max_length=253,
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
        description="ingressClassName of the Ingresses of spec.expose. Unset: the cluster's "
        "default IngressClass.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    metrics_port: int = Field(default=8080, ge=0, le=65535, description="0 disables.")
    liveness_port: int = Field(default=8081, ge=0, le=65535, description="0 disables.")
    bind_address: str = Field(default="0.0.0.0", description="Address for metrics/liveness.")
    workers: int = Field(default=16, ge=1, le=256, description="Concurrent reconciles.")
    peering: str | None = Field(
        default=None,
        description="kopf peering name for HA (needs the peering CRDs); unset: standalone.",
    )
    priority: int | Literal["auto"] | None = Field(
        default=None,
        description="Peering priority; the highest live one acts. Unset or 'auto': derived from "
        "instance_name, so replicas of one Deployment get distinct priorities (kopf pauses "
        "every peer when two share the highest priority).",
    )
    peering_lifetime: int = Field(
        default=15,
        ge=5,
        le=600,
        description="Seconds a silent peer counts as alive: the takeover time after the "
        "active replica dies without saying goodbye (kill -9, node loss).",
    )
    status_interval_seconds: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="Pacing of status writes per resource: a condition change waits at "
        "most this long after the previous write, replica-count progress 2.5x, and a new "
        "resource's first status is written when Ready or after 10x; 0 writes every change.",
    )
    instance_name: str = Field(
        default_factory=socket.gethostname, description="Reported in Events and peering."
    )
    resync_seconds: float = Field(
        default=300,
        ge=0,
        description="Every this many seconds, LIST each served kind in the namespaces that "
        "hold resources and repair the in-memory view where it differs (what a watch missed: "
        "deletions while it was down or re-listing). Only differences queue a reconcile, so "
        "an idle resync writes nothing. 0 relies on watches alone.",
    )
    capability_grace_seconds: float = Field(
        default=600,
        ge=0,
        description="How long a lost optional API (the Prometheus Operator's or KEDA's CRDs) "
        "still counts before resources are rendered without it; a brief CRD flap changes no "
        "pod template. See controller/capabilities.py.",
    )

    network_policies: bool = Field(
        default=True,
        description="Render a NetworkPolicy per resource (ingress only on its declared "
        "ports; a resource opts out with spec.networkPolicy.enabled: false). false: none for "
        "any resource, e.g. where the cluster's own policies govern.",
    )
    scraper_namespace: str = Field(
        default=RenderDefaults().scraper_namespace,
        min_length=1,
        max_length=63,
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description="Namespace of the Prometheus scraping the services: the NetworkPolicy "
        "admits it to the metrics port.",
    )
    scraper_pod_selector: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=lambda: dict(RenderDefaults().scraper_pod_selector),
        description="Labels of the scraper's pods, as key=value[,key=value]; empty: every "
        "pod in scraper_namespace.",
    )

    @field_validator("namespaces", mode="before")
    @classmethod
    def _split_namespaces(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("namespaces")
    @classmethod
    def _check_namespaces(cls, value: list[str]) -> list[str]:
        NamespaceSelection.parse(value)  # a bad entry stops the operator at start, named
        return value

    @field_validator("scraper_pod_selector", mode="before")
    @classmethod
    def _split_selector(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        pairs = [p.strip() for p in value.split(",") if p.strip()]
        bad = [p for p in pairs if "=" not in p]
        if bad:
            raise ValueError(f"expected key=value[,key=value], got {', '.join(bad)}")
        return dict((k.strip(), v.strip()) for k, v in (p.split("=", 1) for p in pairs))

    @field_validator("scraper_pod_selector")
    @classmethod
    def _check_selector(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(
            f"{k}={v}" for k, v in value.items() if not (is_label_key(k) and is_label_value(v))
        )
        if bad:
            raise ValueError(f"not a label key=value: {', '.join(bad)}")
        return value

    def namespace_selection(self) -> NamespaceSelection:
        return NamespaceSelection.parse(self.namespaces)

    def effective_priority(self) -> int:
        if isinstance(self.priority, int):
            return self.priority
        return zlib.crc32(self.instance_name.encode()) % 1_000_000 + 1

    def render_defaults(self, capabilities: frozenset[Capability]) -> RenderDefaults:
        return RenderDefaults(
            runtime_image=self.runtime_image,
            kafka_bootstrap_servers=self.kafka_bootstrap_servers,
            gateway_name=self.gateway_name,
            gateway_namespace=self.gateway_namespace,
            ingress_class_name=self.ingress_class_name,
            capabilities=capabilities,
            network_policies=self.network_policies,
            scraper_namespace=self.scraper_namespace,
            scraper_pod_selector=tuple(sorted(self.scraper_pod_selector.items())),
        )
