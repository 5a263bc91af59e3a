"""Wires the content service: settings, the store provider, the blueprint."""

from dishka import Provider, Scope, provide
from examples.content_service.api.content_routes import content_bp
from examples.content_service.config import ContentServiceSettings
from examples.content_service.store import ContentStore, InMemoryContentStore
from quart import Quart

from huleedu_runtime.http import ServiceRuntime
from huleedu_runtime.http import setup_service as setup_runtime


class ContentProvider(Provider):
    @provide(scope=Scope.APP)
    def store(self) -> ContentStore:
        return InMemoryContentStore()


def setup_service(app: Quart, settings: ContentServiceSettings | None = None) -> ServiceRuntime:
    return setup_runtime(
        app,
        settings=settings or ContentServiceSettings(),
        providers=[ContentProvider()],
        blueprints=[content_bp],
    )
