"""The README's benchmark block is what ``python -m bench.report --readme`` generates
from the committed bench/results/operator.json (pure: reads two files)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench import report  # noqa: E402


def test_readme_block_is_generated_from_operator_json() -> None:
    results = json.loads((REPO / "bench" / "results" / "operator.json").read_text())
    readme = (REPO / "README.md").read_text()
    assert report.current_block(readme) == report.readme_block(results), (
        "README.md's benchmark block differs from bench/results/operator.json: "
        "run `python -m bench.report --readme`"
    )


def test_operator_json_has_the_published_shape() -> None:
    results = json.loads((REPO / "bench" / "results" / "operator.json").read_text())
    assert {"commit", "ground", "runs"} <= results.keys()
    keys = {
        "children_ratio",
        "available_ratio",
        "cpu_ms_per_resource",
        "writes_per_resource",
        "floor_writes_per_resource",
        "reads_per_resource",
        "watches",
        "idle_writes",
        "idle_cpu_s_per_min",
        "rss_mib",
        "kib_per_resource",
        "peer",
    }
    peer_keys = {"children_ratio", "cpu_ms_per_resource", "writes_per_resource", "rss_mib"}
    for n, run in results["runs"].items():
        assert keys <= run.keys(), (n, keys - run.keys())
        assert peer_keys <= run["peer"].keys(), (n, peer_keys - run["peer"].keys())
