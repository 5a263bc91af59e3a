"""dishka wiring for Quart: one request-scoped container per injecting request.

dishka 1.10 ships integrations for Flask, Starlette and others but not Quart
(that lives in the separate ``quart-dishka`` package), and the pattern is small
enough to own: an ``@inject`` handler takes ``FromDishka[T]`` parameters,
resolved from a ``REQUEST`` scope that is opened on first use and closed on
teardown. Requests whose view injects nothing (health probes, metrics scrapes)
never open a scope.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

from dishka import AsyncContainer, FromDishka, Provider, Scope, from_context
from dishka.integrations.base import wrap_injection
from quart import Quart, Request, current_app, g, request

__all__ = ["FromDishka", "QuartProvider", "inject", "setup_dishka"]

P = ParamSpec("P")
T = TypeVar("T")

_APP_CONTAINER = "dishka_container"
_REQUEST_CONTAINER = "huleedu_dishka_container"


def _request_container(_args: Any, _kwargs: Any) -> AsyncContainer:
    app_g = g._get_current_object()  # one lookup of the ``g`` proxy, not two
    container = app_g.get(_REQUEST_CONTAINER)
    if container is None:
        # Entering a scope is synchronous in dishka (``__aenter__`` returns the
        # child); teardown closes it, which runs the providers' finalizers.
        app_container = cast(AsyncContainer, current_app.extensions[_APP_CONTAINER])
        container = app_container({Request: request._get_current_object()})  # type: ignore[attr-defined]
        setattr(app_g, _REQUEST_CONTAINER, container)
    return cast(AsyncContainer, container)


def inject(func: Callable[P, T]) -> Callable[P, T]:
    """Resolve a handler's ``FromDishka[T]`` parameters from the request container."""
    return wrap_injection(func=func, is_async=True, container_getter=_request_container)


class QuartProvider(Provider):
    """Makes the current ``quart.Request`` injectable in ``REQUEST`` scope."""

    request = from_context(provides=Request, scope=Scope.REQUEST)


def setup_dishka(container: AsyncContainer, app: Quart) -> None:
    """Close each request's scope on teardown and the container when serving ends."""

    async def exit_request(_exc: BaseException | None) -> None:
        scoped = g.pop(_REQUEST_CONTAINER, None)
        if scoped is not None:
            await scoped.close()

    async def close_container() -> None:
        await container.close()

    app.teardown_request(exit_request)
    app.after_serving(close_container)
    app.extensions[_APP_CONTAINER] = container
