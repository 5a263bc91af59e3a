"""Results as JSON, a Markdown table and a plot of convergence time vs N."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TARGET_RATIO = 1.3
TARGET_LATENCY_MS = {"p50": 150, "p99": 500}
TARGET_RSS_MB = 150


def write(results: dict[str, Any], out: Path, stem: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.json", out / f"{stem}.md"]
    paths[0].write_text(json.dumps(results, indent=2) + "\n")
    paths[1].write_text(markdown(results))
    if results.get("convergence") and all("floor" in r for r in results["convergence"]):
        paths.append(plot(results, out / f"{stem}.png"))
    return paths


def write_ratio_result(
    result: dict[str, Any],
    out: Path,
    stem: str,
    *,
    title: str,
    table: list[str],
    ratio_label: str,
    notes: tuple[str, ...] = (),
) -> None:
    """JSON plus a short Markdown page for a "runtime vs baseline" ratio benchmark."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    verdict = "meets" if result["meets_target"] else "MISSES"
    ratios = ", ".join(f"{r:.3f}" for r in result["ratios"])
    md = [
        f"# {title}",
        "",
        f"- environment: {result['environment']}",
        f"- method: {result['method']}",
        "",
        *table,
        "",
        f"**ratio {ratio_label}: {result['ratio_median']:.3f}** (median of per-round ratios "
        f"{ratios}); target >= {result['target_ratio']}: {verdict}.",
        "",
        *(line for note in notes for line in (note, "")),
    ]
    (out / f"{stem}.md").write_text("\n".join(md))


def markdown(results: dict[str, Any]) -> str:
    lines = [f"# Operator benchmark ({results['mode']})", "", results["environment"], ""]
    conv = results.get("convergence") or []
    if conv:
        lines += [
            "## Convergence vs the floor, API requests, memory",
            "",
            "| N | operator s | floor s | ratio | writes/resource (children+2) | "
            "reads/resource | idle writes (s) | RSS MiB |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in conv:
            op, fl = row["operator"], row.get("floor")
            if fl:
                ratio = op["seconds"] / fl["seconds"]
                flag = "" if ratio <= TARGET_RATIO else " (over 1.3)"
                floor_cells = f"{fl['seconds']:.1f} | {ratio:.2f}{flag}"
            else:
                floor_cells = "- | -"
            budget = op["children_per_resource"] + 2
            lines.append(
                f"| {op['n']} | {op['seconds']:.1f} | {floor_cells} | "
                f"{op['writes_per_resource']:.2f} (<= {budget:.0f}) | "
                f"{op['reads_per_resource']:.2f} | {op['idle_writes']:.0f} "
                f"({op['idle_seconds']:.0f} s) | {op['rss_mb']:.0f} |"
            )
        lines.append("")
        verbs = ", ".join(
            f"N={r['operator']['n']}: "
            + " ".join(f"{k} {v:.2f}" for k, v in sorted(r["operator"]["writes_by_verb"].items()))
            for r in conv
        )
        lines += [f"Writes per resource by verb: {verbs}.", ""]
        others = {json.dumps(o) for r in conv for o in r["operator"].get("other_operators", [])}
        if others:
            lines += [
                "Other operator processes were running on this machine during the runs "
                f"(they may watch the benchmark's namespaces too): {', '.join(sorted(others))}.",
                "",
            ]
    latency = next((r["operator"]["latency_ms"] for r in conv if r["operator"]["latency_ms"]), None)
    if latency:
        n = next(r["operator"]["n"] for r in conv if r["operator"]["latency_ms"])
        lines += [
            f"## Apply -> all children present, one resource into a converged {n}",
            "",
            "| samples | p50 ms | p90 ms | p99 ms | max ms |",
            "|---:|---:|---:|---:|---:|",
            f"| {latency['samples']:.0f} | {latency['p50']:.0f} | {latency['p90']:.0f} | "
            f"{latency['p99']:.0f} | {latency['max']:.0f} |",
            "",
            f"Targets: p50 <= {TARGET_LATENCY_MS['p50']} ms, p99 <= {TARGET_LATENCY_MS['p99']} ms.",
            "",
        ]
    if results.get("profile"):
        prof = results["profile"]
        lines += [
            f"## Profile (py-spy --gil at 100 Hz: {prof['samples']} samples, i.e. "
            f"~{prof['samples'] / 100:.0f} s holding the GIL, of `{prof.get('operator', 'run')}` "
            f"converging N={prof['n']} in {prof['seconds_under_profiler']:.0f} s)",
            "",
            "| function | inclusive % | self % |",
            "|---|---:|---:|",
        ]
        for row in prof["top"]:
            lines.append(f"| `{row['function']}` | {row['inclusive']:.1f} | {row['self']:.1f} |")
        lines.append("")
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conv = results["convergence"]
    ns = [r["operator"]["n"] for r in conv]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.plot(ns, [r["operator"]["seconds"] for r in conv], "o-", label="operator")
    left.plot(ns, [r["floor"]["seconds"] for r in conv], "s--", label="floor (plain SSA)")
    left.set_xlabel("resources applied at once (N)")
    left.set_ylabel("seconds until all Ready / Available")
    left.set_title("Convergence time")
    left.grid(alpha=0.3)
    left.legend()
    right.plot(ns, [r["operator"]["seconds"] / r["floor"]["seconds"] for r in conv], "o-")
    right.axhline(TARGET_RATIO, color="red", linestyle=":", label="target 1.3")
    right.set_xlabel("N")
    right.set_ylabel("operator / floor")
    right.set_title("Ratio to the floor")
    right.set_ylim(bottom=0)
    right.grid(alpha=0.3)
    right.legend()
    fig.suptitle(results["environment"], fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
