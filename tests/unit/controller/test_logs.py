"""The operator's logs are JSON, kopf's per-object records included, with the object."""

from __future__ import annotations

import json
import logging

import pytest

from huleedu_operator.controller.logs import configure_logging

pytestmark = pytest.mark.unit


def test_kopf_object_records_become_json_with_namespace_and_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "json")
    try:
        # kopf's ObjectLogger is a LoggerAdapter whose extra carries k8s_ref.
        adapter = logging.LoggerAdapter(
            logging.getLogger("kopf.activities"),
            {"k8s_ref": {"namespace": "huleedu", "name": "content-service"}},
        )
        adapter.warning("Handler failed")
        record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    finally:
        logging.getLogger().handlers.clear()
    assert record["event"] == "Handler failed"
    assert record["namespace"] == "huleedu"
    assert record["name"] == "content-service"
    assert record["level"] == "warning"
