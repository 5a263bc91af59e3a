"""Where content lives: a protocol and the in-memory store the example uses."""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from examples.content_service.errors import ContentNotFoundError


@dataclass(frozen=True)
class StoredContent:
    content_id: str
    text: str
    content_type: str
    created_at: datetime


class ContentStore(Protocol):
    async def save(self, text: str, content_type: str) -> StoredContent: ...

    async def get(self, content_id: str) -> StoredContent: ...


class InMemoryContentStore:
    """A dict behind a lock; enough for the example and its tests, lost on restart."""

    def __init__(self) -> None:
        self._items: dict[str, StoredContent] = {}
        self._lock = asyncio.Lock()

    async def save(self, text: str, content_type: str) -> StoredContent:
        item = StoredContent(uuid.uuid4().hex, text, content_type, datetime.now(UTC))
        async with self._lock:
            self._items[item.content_id] = item
        return item

    async def get(self, content_id: str) -> StoredContent:
        try:
            return self._items[content_id]
        except KeyError:
            raise ContentNotFoundError(content_id) from None
