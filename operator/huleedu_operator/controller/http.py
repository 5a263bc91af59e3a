"""The operator's HTTP to the API server: one aiohttp session per user of it, with the
kubernetes client's configuration (in-cluster or kubeconfig) for the server's address,
its CA, a client certificate and a bearer token that may rotate."""

from __future__ import annotations

import ssl

import aiohttp
from kubernetes.client import Configuration

# What a request accepts: the whole object, or its metadata only (PartialObjectMetadata:
# name, labels, owners, resourceVersion; a fraction of the bytes to send and decode).
FULL = "application/json"
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
METADATA_ONE = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"

# aiohttp closes a connection idle for 15 s by default; a new one costs a TLS handshake,
# which a burst of reconciles after a quiet minute (a drift storm) would pay per request.
KEEPALIVE_SECONDS = 120.0


def _ssl_context(config: Configuration) -> ssl.SSLContext | bool:
    if not config.verify_ssl:
        return False
    context = ssl.create_default_context(cafile=config.ssl_ca_cert)
    if config.cert_file:
        context.load_cert_chain(config.cert_file, config.key_file)
    return context


def session(config: Configuration, connections: int | None) -> aiohttp.ClientSession:
    """A session for ``config``'s server, at most ``connections`` open at once (None: no
    bound, for long-lived watches: a request waits for a free connection, and a watch
    frees none until it ends, so a bound on watches is a bound on scopes watched)."""
    connector = aiohttp.TCPConnector(
        ssl=_ssl_context(config), limit=connections or 0, keepalive_timeout=KEEPALIVE_SECONDS
    )
    return aiohttp.ClientSession(connector=connector)


def auth_headers(config: Configuration) -> dict[str, str]:
    """The Authorization header, if the configuration has a token (read anew each time:
    in-cluster tokens rotate)."""
    if config.refresh_api_key_hook is not None:
        config.refresh_api_key_hook(config)
    token = config.get_api_key_with_prefix("BearerToken") or (
        config.get_api_key_with_prefix("authorization")
    )
    return {"Authorization": token} if token else {}
