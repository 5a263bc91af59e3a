"""A processor whose consumer task dies after its first message (for the exit-code test).

It wraps the runtime's real Kafka loop and then fails the way a bug in a loop
would: an exception escapes ``start_processing``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from huleedu_runtime.config import ServiceSettings
from huleedu_runtime.worker import KafkaEventProcessor, Publisher


class DiesAfterFirstMessage:
    def __init__(self) -> None:
        self.settings = ServiceSettings()
        self.first = asyncio.Event()
        self.inner = KafkaEventProcessor(self.settings, self.handle)

    async def handle(self, _message: Any, _publisher: Publisher) -> None:
        self.first.set()

    async def start_processing(self) -> None:
        loop = asyncio.create_task(self.inner.start_processing())
        await self.first.wait()
        await self.inner.stop_processing()
        await loop
        raise RuntimeError("consumer task crashed")

    async def stop_processing(self) -> None:
        await self.inner.stop_processing()


def create_processor() -> DiesAfterFirstMessage:
    return DiesAfterFirstMessage()
