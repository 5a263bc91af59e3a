"""A resource whose children could never be stored is refused before any request, with
a message about size that names the fields to move."""

from __future__ import annotations

import pytest

from huleedu_operator.api.v1alpha1 import HuleEduService
from huleedu_operator.render import RenderDefaults, RenderError, render

pytestmark = pytest.mark.unit


def test_a_resource_that_would_render_a_four_megabyte_deployment_is_refused() -> None:
    # 4 MiB of settings become the Deployment's env: an object etcd would refuse.
    settings = {f"SETTING_{i:05d}": "x" * 1000 for i in range(4200)}
    resource = HuleEduService.model_validate(
        {
            "apiVersion": "huleedu.io/v1alpha1",
            "kind": "HuleEduService",
            "metadata": {"name": "big", "namespace": "team-a"},
            "spec": {"type": "http", "image": "e/x:1", "settings": settings},
        }
    )
    with pytest.raises(RenderError) as refused:
        render(resource, RenderDefaults())
    message = str(refused.value)
    assert message.startswith("spec: the rendered ")
    assert "MiB; one object must stay under 1 MiB" in message
    assert "spec.settings (" in message
    assert "spec.envFrom" in message


def test_an_ordinary_resource_is_far_below_the_limit() -> None:
    resource = HuleEduService.model_validate(
        {
            "apiVersion": "huleedu.io/v1alpha1",
            "kind": "HuleEduService",
            "metadata": {"name": "small", "namespace": "team-a"},
            "spec": {"type": "http", "image": "e/x:1", "settings": {"A": "b"}},
        }
    )
    assert render(resource, RenderDefaults()).children
