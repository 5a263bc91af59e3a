"""``huleedu-runtime new`` renders pattern-conformant services."""

from __future__ import annotations

import ast

import pytest

from huleedu_runtime.scaffold import ScaffoldError, render_service

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("kind", ["http", "worker"])
def test_every_rendered_python_file_parses(kind: str) -> None:
    files = render_service(kind, "essay-service")
    for path, content in files.items():
        if path.endswith(".py"):
            ast.parse(content, filename=path)
    assert "huleeduservice.yaml" in files
    assert "Dockerfile" in files


def test_http_scaffold_follows_the_app_and_startup_setup_pattern() -> None:
    files = render_service("http", "essay-service")
    assert "setup_service(app)" in files["essay_service/app.py"]
    assert 'env_prefix="ESSAY_SERVICE_"' in files["essay_service/config.py"]
    assert "serve-http" in files["Dockerfile"]


def test_worker_scaffold_runs_a_kafka_event_processor() -> None:
    files = render_service("worker", "essay-worker")
    assert "KafkaEventProcessor" in files["essay_worker/worker.py"]
    assert "topics: [huleedu.essay-worker.requested.v1]" in files["huleeduservice.yaml"]


def test_names_that_are_not_dns_labels_are_refused() -> None:
    with pytest.raises(ScaffoldError, match="DNS label"):
        render_service("http", "Essay_Service")
