"""The request body limit (``MAX_REQUEST_BODY_BYTES``), enforced before the body is read.

Quart checks ``MAX_CONTENT_LENGTH`` while it reads a body, and only once a view asks
for the body; until the view is done it keeps taking whatever the client sends and
throws away what is over the limit. hypercorn, for its part, answers ``Expect:
100-continue`` as soon as it has parsed the request head, before the app runs. So a
client announcing a body the service will refuse was invited to upload it all, and a
chunked upload to a handler that awaits something before reading went on as long as
the client liked (over a GiB in three seconds, in the test that found it). Two pieces
close that:

* :class:`BodyLimit`, the ASGI wrapper :func:`~huleedu_runtime.http.app.setup_service`
  puts around the app. A body whose ``Content-Length`` is over the limit is not read
  at all (the before-request hook answers 413 on the declared length). A chunked body
  is read up to the message that crosses the limit, which is passed on so that Quart
  answers 413 as it always has, and no further: once the app stops receiving,
  hypercorn's bounded queue stops reading the socket and TCP stops the client. Either
  way the response says ``Connection: close``, since the rest of the body is never read.
* :func:`install_continue_guard`: hypercorn's HTTP/1.1 protocol withholds ``100
  Continue`` when the declared length is over the limit it was configured with
  (:class:`BodyLimitConfig`), so the client gets the 413 instead of an invitation; RFC
  9110 (10.1.1) lets a server answer with the final status instead. hypercorn has no
  hook for this, so the guard is a subclass of its ``H11Protocol`` put in its place;
  with no limit configured (the metrics server, other hypercorn users in the process)
  it behaves exactly like the original. HTTP/2 sends no automatic ``100 Continue``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any

import h11
import hypercorn.protocol
import structlog
from hypercorn.config import Config
from hypercorn.protocol.h11 import H11Protocol

log = structlog.get_logger(__name__)

AsgiMessage = MutableMapping[str, Any]
AsgiReceive = Callable[[], Awaitable[AsgiMessage]]
AsgiSend = Callable[[AsgiMessage], Awaitable[None]]


def declared_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    """The ``Content-Length`` of a request head (ASGI or h11 headers: lower-case names)."""
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


DRAIN_TIMEOUT_SECONDS = 5.0
"""The longest :class:`BodyLimit` waits for hypercorn to let go of a refused request."""


class BodyLimit:
    """ASGI wrapper: read at most ``max_body_bytes`` of a request body; see the module doc.

    Not reading has one consequence to handle: hypercorn passes body chunks to the app
    through a queue of ten, and it finishes a response (the app's last ``send``) only
    once it could queue ``http.disconnect`` behind them. With the queue full of chunks
    nobody takes, the app's last ``send`` and hypercorn's reading would wait for each
    other until shutdown. So once the app has sent its response, the chunks still queued
    are thrown away until that ``http.disconnect`` (a few chunks at most: hypercorn
    queues no more body once the response is done).
    """

    def __init__(self, app: Any, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: AsgiMessage, receive: AsgiReceive, send: AsgiSend) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = declared_length(scope["headers"])
        refused = declared is not None and declared > limit
        received = 0
        responded = False
        parked: asyncio.Future[None] | None = None

        async def limited_receive() -> AsgiMessage:
            nonlocal received, refused, parked
            if refused:
                # Read nothing more: the app has what it needs to answer 413.
                if not responded:
                    parked = asyncio.get_running_loop().create_future()
                    await parked
                await _discard_until_disconnect(receive)
                await asyncio.get_running_loop().create_future()  # the app cancels this
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                refused = received > limit
            return message

        async def send_closing(message: AsgiMessage) -> None:
            nonlocal responded
            if refused and message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ()) if k != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                responded = True
                if parked is not None and not parked.done():
                    parked.set_result(None)
            await send(message)

        await self.app(scope, limited_receive, send_closing)


async def _discard_until_disconnect(receive: AsgiReceive) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(DRAIN_TIMEOUT_SECONDS):
            while (await receive())["type"] != "http.disconnect":
                pass


class BodyLimitConfig(Config):
    """hypercorn's config plus the body limit the continue guard enforces."""

    max_request_body_bytes: int | None = None


class ContinueGuardH11Protocol(H11Protocol):
    """hypercorn's HTTP/1.1 protocol, minus ``100 Continue`` for a body it will refuse."""

    async def _create_stream(self, request: h11.Request) -> None:
        limit = getattr(self.config, "max_request_body_bytes", None)
        connection = self.connection
        if (
            limit is not None
            and isinstance(connection, h11.Connection)
            and connection.they_are_waiting_for_100_continue
        ):
            length = declared_length(request.headers)
            if length is not None and length > limit:
                # hypercorn sends 100 Continue while h11 says the client waits for one;
                # a final response clears the flag the same way.
                connection.client_is_waiting_for_100_continue = False
        await super()._create_stream(request)


def body_limit_of(app: Any) -> int | None:
    """The body limit ``app`` enforces itself: Quart's ``MAX_CONTENT_LENGTH``, which
    :func:`~huleedu_runtime.http.app.setup_service` sets to ``MAX_REQUEST_BODY_BYTES``."""
    config = getattr(app, "config", None)
    limit = config.get("MAX_CONTENT_LENGTH") if isinstance(config, Mapping) else None
    return limit if isinstance(limit, int) else None


def install_continue_guard() -> None:
    """Make hypercorn's connections use :class:`ContinueGuardH11Protocol` (idempotent)."""
    if not hasattr(H11Protocol, "_create_stream"):  # a hypercorn without the hook point
        log.warning(
            "continue_guard_unavailable",
            hypercorn_h11_protocol=H11Protocol.__qualname__,
            effect="100 Continue is sent even for bodies over MAX_REQUEST_BODY_BYTES",
        )
        return
    hypercorn.protocol.H11Protocol = ContinueGuardH11Protocol  # type: ignore[attr-defined]
