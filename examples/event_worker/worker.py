"""The worker: ``huleedu-runtime run-worker examples.event_worker.worker:create_processor``.

Each ``huleedu.content.requested.v1`` event (``{"id": ..., "text": ...}``) yields
one ``huleedu.content.processed.v1`` result. A payload that is not JSON or not
a request is poison: it is dead-lettered at once, without retries.
"""

import asyncio
import json

from examples.event_worker.config import EventWorkerSettings
from pydantic import BaseModel

from huleedu_runtime.worker import KafkaEventProcessor, KafkaMessage, NonRetriableError, Publisher


class ContentRequested(BaseModel):
    id: str
    text: str


class ContentRequestHandler:
    def __init__(self, settings: EventWorkerSettings) -> None:
        self.settings = settings

    async def __call__(self, message: KafkaMessage, publisher: Publisher) -> None:
        try:
            payload = json.loads(message.value)
        except (TypeError, ValueError) as exc:
            raise NonRetriableError(f"payload is not JSON: {exc}") from exc
        event = ContentRequested.model_validate(payload)  # ValidationError -> DLQ
        if self.settings.processing_delay_seconds:
            await asyncio.sleep(self.settings.processing_delay_seconds)
        result = {"id": event.id, "chars": len(event.text), "words": len(event.text.split())}
        await publisher.publish(
            self.settings.result_topic, json.dumps(result).encode(), key=event.id.encode()
        )


def create_processor() -> KafkaEventProcessor:
    settings = EventWorkerSettings()
    return KafkaEventProcessor(settings, ContentRequestHandler(settings))
