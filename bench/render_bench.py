"""How long rendering one HuleEduService takes (median of many runs).

The controller renders on every reconcile, so this is the floor of a reconcile's CPU
cost. Two numbers: ``render`` alone (a validated resource in, children out), and
``validate+render`` (YAML-loaded dict in, as the CLI and the controller do it).

    .venv/bin/python bench/render_bench.py [--runs 1000] [--case worker-sasl-tls-keda]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path[:0] = [
    str(Path(__file__).resolve().parents[1] / p) for p in ("operator", "runtime", "tests")
]

from cases.valid_resources import VALID_BY_ID  # noqa: E402
from huleedu_operator.api.v1alpha1 import HuleEduService  # noqa: E402
from huleedu_operator.render import RenderDefaults, render  # noqa: E402


def _timings(fn: object, runs: int) -> list[float]:
    assert callable(fn)
    for _ in range(min(50, runs)):
        fn()  # warm caches (pydantic validators, imports)
    out = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        fn()
        out.append((time.perf_counter_ns() - start) / 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument(
        "--case",
        action="append",
        help="render-matrix case id (tests/cases/valid_resources.py); repeatable",
    )
    args = parser.parse_args()
    case_ids = args.case or ["example-content-service", "worker-sasl-tls-keda"]
    print(f"python {sys.version.split()[0]}, {args.runs} runs per measurement (microseconds)")
    print(f"{'case':32} {'what':16} {'median':>8} {'p90':>8} {'min':>8}")
    for case_id in case_ids:
        case = VALID_BY_ID[case_id]
        resource = case.resource()
        defaults = case.defaults()
        document = case.document

        def render_only(r: HuleEduService = resource, dflt: RenderDefaults = defaults) -> None:
            render(r, dflt)

        def validate_and_render(
            d: dict[str, object] = document, dflt: RenderDefaults = defaults
        ) -> None:
            render(HuleEduService.model_validate(d), dflt)

        for label, fn in (("render", render_only), ("validate+render", validate_and_render)):
            samples = sorted(_timings(fn, args.runs))
            p90 = samples[int(len(samples) * 0.9) - 1]
            print(
                f"{case_id:32} {label:16} {statistics.median(samples):8.1f} "
                f"{p90:8.1f} {samples[0]:8.1f}"
            )


if __name__ == "__main__":
    main()
