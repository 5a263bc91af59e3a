"""The worker side of the runtime: ``WorkerService`` and the Kafka loop.

Write a :data:`MessageHandler`, wrap it in a :class:`KafkaEventProcessor`, and
let ``huleedu-runtime run-worker module:factory`` run it in a
:class:`WorkerService`.
"""

from huleedu_runtime.worker.consumer import (
    HandlerTimeoutError,
    KafkaEventProcessor,
    NonRetriableError,
)
from huleedu_runtime.worker.dead_letter import dead_letter_topic
from huleedu_runtime.worker.protocol import (
    EventProcessorProtocol,
    KafkaMessage,
    MessageHandler,
    Publisher,
)
from huleedu_runtime.worker.service import WorkerService

__all__ = [
    "EventProcessorProtocol",
    "HandlerTimeoutError",
    "KafkaEventProcessor",
    "KafkaMessage",
    "MessageHandler",
    "NonRetriableError",
    "Publisher",
    "WorkerService",
    "dead_letter_topic",
]
