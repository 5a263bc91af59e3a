"""Golden files: the exact children of every resource in the render matrix.

A diff here is a change users will see in ``huleedu-operator render`` and in their
cluster. Review it, then regenerate with::

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/render/test_golden.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cases.valid_resources import VALID_CASES, ValidCase
from huleedu_operator.cli import dump_yaml
from huleedu_operator.render import render

pytestmark = pytest.mark.unit

GOLDEN_DIR = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def golden_text(case: ValidCase) -> str:
    rendered = render(case.resource(), case.defaults())
    capabilities = ", ".join(sorted(c.value for c in case.capabilities)) or "none"
    header = [
        f"# Golden render of tests/cases/valid_resources.py case {case.id!r}.",
        "# Regenerate: UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/render/test_golden.py",
        f"# capabilities: {capabilities}",
        *(f"# warning: {w}" for w in rendered.warnings),
    ]
    return "\n".join(header) + "\n" + dump_yaml(rendered.children)


@pytest.mark.parametrize("case", VALID_CASES, ids=lambda c: c.id)
def test_rendered_children_match_the_golden_file(case: ValidCase) -> None:
    path = GOLDEN_DIR / f"{case.id}.yaml"
    actual = golden_text(case)
    if UPDATE:
        path.write_text(actual)
        return
    assert path.exists(), f"{path} missing: run UPDATE_GOLDEN=1 pytest {__file__}"
    assert actual == path.read_text(), (
        f"{case.id}: rendered children differ from {path.name}; if the change is intended, "
        f"run UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/render/test_golden.py and review "
        "the diff"
    )


def test_every_golden_file_belongs_to_a_case() -> None:
    ids = {case.id for case in VALID_CASES}
    orphans = sorted(p.name for p in GOLDEN_DIR.glob("*.yaml") if p.stem not in ids)
    assert not orphans, f"golden files without a case (delete them): {orphans}"


def test_golden_files_have_no_yaml_aliases() -> None:
    # Shared objects between children dump as &id001/*id001, unreadable in review.
    for path in GOLDEN_DIR.glob("*.yaml"):
        text = path.read_text()
        assert "&id0" not in text, path.name
        assert "*id0" not in text, path.name
