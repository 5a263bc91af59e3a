"""dishka wiring for Quart: one request-scoped container per request.

dishka 1.10 ships integrations for Flask, Starlette and others but not Quart
(that lives in the separate ``quart-dishka`` package), and the pattern is small
enough to own: enter a ``REQUEST`` scope before each request, close it on
teardown, and let ``@inject`` handlers take ``FromDishka[T]`` parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

from dishka import AsyncContainer, FromDishka, Provider, Scope, from_context
from dishka.integrations.base import wrap_injection
from quart import Quart, Request, g, request

__all__ = ["FromDishka", "QuartProvider", "inject", "setup_dishka"]

P = ParamSpec("P")
T = TypeVar("T")

_REQUEST_CONTAINER = "huleedu_dishka_container"


def _request_container(_args: Any, _kwargs: Any) -> AsyncContainer:
    return cast(AsyncContainer, getattr(g, _REQUEST_CONTAINER))


def inject(func: Callable[P, T]) -> Callable[P, T]:
    """Resolve a handler's ``FromDishka[T]`` parameters from the request container."""
    return wrap_injection(func=func, is_async=True, container_getter=_request_container)


class QuartProvider(Provider):
    """Makes the current ``quart.Request`` injectable in ``REQUEST`` scope."""

    request = from_context(provides=Request, scope=Scope.REQUEST)


def setup_dishka(container: AsyncContainer, app: Quart) -> None:
    """Open a request scope per request and close the container when serving ends."""

    async def enter_request() -> None:
        scoped = container({Request: request._get_current_object()})  # type: ignore[attr-defined]
        setattr(g, _REQUEST_CONTAINER, await scoped.__aenter__())
        g.huleedu_dishka_scope = scoped

    async def exit_request(_exc: BaseException | None) -> None:
        scoped = g.pop("huleedu_dishka_scope", None)
        if scoped is not None:
            await scoped.__aexit__(None, None, None)

    async def close_container() -> None:
        await container.close()

    app.before_request(enter_request)
    app.teardown_request(exit_request)
    app.after_serving(close_container)
    app.extensions["dishka_container"] = container
