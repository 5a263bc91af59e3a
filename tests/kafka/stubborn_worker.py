"""A worker whose handler ignores its timeout (for the liveness tests).

The handler swallows the cancellation the handler timeout delivers and keeps
waiting, the way a handler stuck in a blocking dependency call would: the loop
can never move on, and only a restart of the pod helps.
"""

from __future__ import annotations

import asyncio
from typing import Any

from huleedu_runtime.config import ServiceSettings
from huleedu_runtime.worker import KafkaEventProcessor, Publisher


async def never_returns(_message: Any, _publisher: Publisher) -> None:
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            continue


def create_processor() -> KafkaEventProcessor:
    return KafkaEventProcessor(ServiceSettings(), never_returns)
