"""The Kafka tier: the runtime's worker and http processes against the real broker named
by KAFKA_BOOTSTRAP_SERVERS (``scripts/kafka-local.sh``).

They fail (never skip) when it is missing: a skipped broker test proves nothing.
"""

from __future__ import annotations

import pytest
from kafka_harness import bootstrap_servers


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/kafka/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.kafka)


@pytest.fixture
def kafka() -> str:
    return bootstrap_servers()
