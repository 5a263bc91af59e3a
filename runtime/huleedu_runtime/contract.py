"""The operator <-> runtime contract, defined once.

Everything both sides must agree on lives here: environment variable names, default
ports and paths, the signal semantics. The operator imports this module to render pod
templates; the runtime imports it to read its settings. A test renders a pod template
and feeds its env to :class:`huleedu_runtime.config.ServiceSettings`, so a name that
drifts on one side fails there and not in production.

This module must stay dependency-free (stdlib only): the operator imports it without
installing the runtime's extras.
"""

from __future__ import annotations

from typing import Final

# --- Ports and paths -------------------------------------------------------------

DEFAULT_HTTP_PORT: Final = 8001
"""Port an http service listens on (``PORT``)."""

DEFAULT_METRICS_PORT: Final = 9090
"""Port a worker serves its health and metrics endpoints on (``METRICS_PORT``).

An http service serves them on its main port, and also on ``METRICS_PORT`` when that
is set to another port (the operator renders it only then): a second, small server
with the health and metrics endpoints and none of the app's routes.
"""

DEFAULT_HOST: Final = "0.0.0.0"
LIVENESS_PATH: Final = "/healthz/live"
READINESS_PATH: Final = "/healthz"
METRICS_PATH: Final = "/metrics"

DEFAULT_SHUTDOWN_TIMEOUT_SECONDS: Final = 25
"""How long the runtime may take to finish in-flight work after SIGTERM (after the
drain, for http) before it gives up."""

DEFAULT_DRAIN_SECONDS: Final = 5
"""How long a terminating http pod keeps serving before it stops accepting connections,
so that endpoints and kube-proxy stop sending it traffic first.

The operator renders it as the container's ``preStop`` sleep (the kubelet waits before
it sends SIGTERM) and tells the runtime ``SHUTDOWN_DRAIN_SECONDS=0`` so the wait is not
doubled. Outside Kubernetes nothing waits for the runtime: its own
``SHUTDOWN_DRAIN_SECONDS`` defaults to 0, and a compose user sets it instead.
"""

RUNTIME_DRAIN_SECONDS_UNDER_PRESTOP: Final = 0
"""``SHUTDOWN_DRAIN_SECONDS`` the operator renders next to a ``preStop`` sleep."""

TERMINATION_GRACE_MARGIN_SECONDS: Final = 5
"""terminationGracePeriodSeconds = drain + shutdown timeout + this margin, so the
kubelet's SIGKILL never lands mid-drain or while the runtime is still committing
offsets."""

DEFAULT_KAFKA_HANDLER_TIMEOUT_SECONDS: Final = 300
"""How long a worker's handler may take for one message (``KAFKA_HANDLER_TIMEOUT_SECONDS``;
0 turns the timeout off). A handler that overruns is cancelled and the attempt counts
as a retriable failure: retried with backoff, then dead-lettered."""

HANDLER_TIMEOUT_GRACE_SECONDS: Final = 10
"""How long past its timeout a cancelled handler may take to return before the worker
reports itself not live (``/healthz/live`` 503, no heartbeat), so the kubelet restarts
a pod whose handler ignores cancellation or blocks the event loop."""

DEFAULT_HEARTBEAT_FILE: Final = "/tmp/huleedu-heartbeat"  # noqa: S108 - the pod's own emptyDir
"""File a worker touches while it is alive (``HEARTBEAT_FILE``; empty = none). It lives
under the writable ``/tmp`` emptyDir the operator mounts, so a worker without a metrics
server gets an exec liveness probe: ``huleedu-runtime check-heartbeat``."""

HEARTBEAT_INTERVAL_SECONDS: Final = 5
"""How often a live worker touches its heartbeat file."""

HEARTBEAT_MAX_AGE_SECONDS: Final = 30
"""A heartbeat older than this is stale: the probe's ``check-heartbeat --max-age``.
Several intervals, so one slow write on a busy node does not restart the pod."""

HEARTBEAT_COMMAND: Final = ("huleedu-runtime", "check-heartbeat")
"""The exec liveness probe's command (``--max-age`` follows), from the runtime image."""

RUNTIME_UID: Final = 10001
"""Numeric non-root UID the base image runs as (``runAsNonRoot`` needs a number)."""

# --- Environment variable names --------------------------------------------------


class Env:
    """Names of the environment variables the runtime reads.

    A class of constants rather than an Enum so that ``Env.PORT`` is a plain ``str``
    usable directly as a dict key or a pydantic alias.
    """

    SERVICE_NAME: Final = "SERVICE_NAME"
    SERVICE_VERSION: Final = "SERVICE_VERSION"
    ENVIRONMENT: Final = "ENVIRONMENT"
    LOG_LEVEL: Final = "LOG_LEVEL"
    LOG_FORMAT: Final = "LOG_FORMAT"
    HOST: Final = "HOST"
    PORT: Final = "PORT"
    METRICS_PORT: Final = "METRICS_PORT"
    METRICS_PATH: Final = "METRICS_PATH"
    SHUTDOWN_TIMEOUT_SECONDS: Final = "SHUTDOWN_TIMEOUT_SECONDS"
    SHUTDOWN_DRAIN_SECONDS: Final = "SHUTDOWN_DRAIN_SECONDS"
    MAX_REQUEST_BODY_BYTES: Final = "MAX_REQUEST_BODY_BYTES"
    HEARTBEAT_FILE: Final = "HEARTBEAT_FILE"

    KAFKA_BOOTSTRAP_SERVERS: Final = "KAFKA_BOOTSTRAP_SERVERS"
    KAFKA_CONSUMER_GROUP: Final = "KAFKA_CONSUMER_GROUP"
    KAFKA_TOPICS: Final = "KAFKA_TOPICS"
    KAFKA_AUTO_OFFSET_RESET: Final = "KAFKA_AUTO_OFFSET_RESET"
    KAFKA_MAX_POLL_RECORDS: Final = "KAFKA_MAX_POLL_RECORDS"
    KAFKA_SESSION_TIMEOUT_MS: Final = "KAFKA_SESSION_TIMEOUT_MS"
    KAFKA_HEARTBEAT_INTERVAL_MS: Final = "KAFKA_HEARTBEAT_INTERVAL_MS"
    KAFKA_MAX_POLL_INTERVAL_MS: Final = "KAFKA_MAX_POLL_INTERVAL_MS"
    KAFKA_HANDLER_TIMEOUT_SECONDS: Final = "KAFKA_HANDLER_TIMEOUT_SECONDS"
    KAFKA_SECURITY_PROTOCOL: Final = "KAFKA_SECURITY_PROTOCOL"
    KAFKA_SASL_MECHANISM: Final = "KAFKA_SASL_MECHANISM"
    KAFKA_SASL_USERNAME: Final = "KAFKA_SASL_USERNAME"
    KAFKA_SASL_PASSWORD: Final = "KAFKA_SASL_PASSWORD"  # noqa: S105 - a name, not a value
    KAFKA_SSL_CAFILE: Final = "KAFKA_SSL_CAFILE"
    KAFKA_SSL_CERTFILE: Final = "KAFKA_SSL_CERTFILE"
    KAFKA_SSL_KEYFILE: Final = "KAFKA_SSL_KEYFILE"
    KAFKA_SSL_DIR: Final = "KAFKA_SSL_DIR"

    DATABASE_URL: Final = "DATABASE_URL"


KAFKA_TOPICS_SEPARATOR: Final = ","
"""``KAFKA_TOPICS`` is a comma-separated list (no spaces)."""

KAFKA_TLS_MOUNT_PATH: Final = "/etc/huleedu/kafka-tls"
"""Where the operator mounts the Kafka TLS Secret (every key of it) and what it renders
as ``KAFKA_SSL_DIR``. The runtime uses whichever of the files below exist there:
``ca.crt`` alone verifies the broker, ``tls.crt`` + ``tls.key`` add a client certificate
(mutual TLS); without ``ca.crt`` the system trust store verifies the broker."""

KAFKA_TLS_CA_KEY: Final = "ca.crt"
"""The TLS Secret's key (and file name) for the CA that signed the broker's certificate."""
KAFKA_TLS_CERT_KEY: Final = "tls.crt"
"""The TLS Secret's key for the client certificate (mutual TLS), as in kubernetes.io/tls."""
KAFKA_TLS_KEY_KEY: Final = "tls.key"
"""The TLS Secret's key for the client certificate's private key (mutual TLS)."""

DEFAULT_KAFKA_MAX_POLL_RECORDS: Final = 100
"""Records per poll (``KAFKA_MAX_POLL_RECORDS``), the API's ``spec.kafka.maxPollRecords``
default and the runtime's, so a worker behaves the same under the operator and outside."""

DEFAULT_KAFKA_SASL_MECHANISM: Final = "SCRAM-SHA-512"
"""SASL mechanism when none is named (``spec.kafka.security.sasl.mechanism``,
``KAFKA_SASL_MECHANISM``)."""

DLQ_SUFFIX: Final = ".DLQ"
"""A poison message from topic ``t`` is produced to ``t`` + this suffix."""

CORRELATION_ID_HEADER: Final = "X-Correlation-ID"

# --- Labels and annotations the operator stamps on what it manages ----------------

LABEL_PREFIX: Final = "huleedu.io"
LABEL_SERVICE: Final = "huleedu.io/service"
LABEL_SERVICE_TYPE: Final = "huleedu.io/service-type"
LABEL_MANAGED_BY: Final = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE: Final = "huleedu-operator"
