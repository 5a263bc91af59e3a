"""How the reconciler tells a failure worth retrying from one that is not."""

from __future__ import annotations

import json

from kubernetes.client.exceptions import ApiException

from huleedu_operator.controller.status import bounded

RETRYABLE_STATUSES = frozenset({0, 408, 429, 500, 502, 503, 504})
# A request that cannot succeed as sent (403, 422, too large) is retried this slowly: it
# may start to succeed when RBAC or an admission policy changes, but hammering it would
# only fill the API server's audit log.
TERMINAL_RETRY_SECONDS = 300.0


class RetryableError(Exception):
    """A transient failure; the work queue retries the key with backoff."""


def api_message(exc: ApiException) -> str:
    """The API server's own message, bounded (it may quote a whole object)."""
    try:
        message = str(json.loads(exc.body or "{}").get("message", exc.reason))
    except ValueError:
        message = str(exc.reason)
    return bounded(message, 1024)


def terminal(exc: ApiException) -> bool:
    """The API server refused the request itself: retrying it unchanged cannot help.
    etcd's "request is too large" arrives as a 500, so it is recognised by its text."""
    if exc.status == 413 or "too large" in api_message(exc).lower():
        return True
    # 404 on an apply: the kind is not served (yet): a CRD just created answers 404 for a
    # moment, and one just deleted is the capability grace period's business.
    return exc.status not in RETRYABLE_STATUSES and exc.status != 404
