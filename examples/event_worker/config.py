"""Event worker settings: read as ``EVENT_WORKER_<NAME>`` or plain ``<NAME>``."""

from typing import Annotated

from pydantic import Field
from pydantic_settings import NoDecode, SettingsConfigDict

from huleedu_runtime.config import ServiceSettings


class EventWorkerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EVENT_WORKER_")

    service_name: str = "event-worker"
    kafka_topics: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["huleedu.content.requested.v1"]
    )
    result_topic: str = "huleedu.content.processed.v1"
    processing_delay_seconds: float = 0.0
    """Simulated work per message; the runtime tests use it to stop the worker mid-stream."""
