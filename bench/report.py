"""Results of ``python -m bench``: operator.json, a Markdown table, a plot, and the
README's benchmark block generated from the JSON.

    python -m bench.report --readme     rewrite README.md's block from
                                        bench/results/operator.json
    python -m bench.report --md         rewrite operator.md (and the plot) from it

tests/docs/test_readme_figures.py checks that the README block is what this module
generates from the committed JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
README = REPO / "README.md"
BEGIN = "<!-- bench:operator:begin -->"
END = "<!-- bench:operator:end -->"

Row = dict[str, Any]

# The targets of the benchmark (issue 13): (key, description, test of one N's row).
CHILDREN_RATIO = 1.25
CPU_MS = 10.0
READS = 0.05
IDLE_CPU = 0.1
RSS_AT_1000 = 100.0
KIB = 12.0
PEER_CPU_FACTOR = 3.0


def row(n: int, floor: Row, project: Row, peer: Row | None) -> Row:
    """One N's figures in the shape of operator.json's ``runs``."""
    p_idle = project.get("idle") or {}
    out: Row = {
        "children_ratio": round(project["t_children"] / floor["t_children"], 3),
        "available_ratio": round(project["t_available"] / floor["t_available"], 3),
        "cpu_ms_per_resource": round(1000 * project["cpu_seconds"] / n, 3),
        "writes_per_resource": project["requests"]["writes_per_resource"],
        "floor_writes_per_resource": floor["requests"]["writes_per_resource"],
        "reads_per_resource": project["requests"]["reads_per_resource"],
        "watches": project["watches"],
        "idle_writes": p_idle.get("writes"),
        "idle_cpu_s_per_min": p_idle.get("cpu_s_per_min"),
        "idle_seconds": p_idle.get("seconds"),
        "idle_event_writes": p_idle.get("event_writes"),
        "rss_mib": project["rss_mib"],
        "kib_per_resource": round((project["rss_mib"] - project["rss_idle_mib"]) * 1024 / n, 2),
        "seconds": {
            "floor": {"children": floor["t_children"], "available": floor["t_available"]},
            "project": {
                "children": project["t_children"],
                "available": project["t_available"],
                "ready": project.get("t_ready"),
            },
        },
        "event_writes_per_resource": project["requests"]["event_writes_per_resource"],
        "floor_concurrency": floor["concurrency"],
        "control_plane_cpu_seconds": {
            "floor": floor["cpu_seconds"],
            "project": project["control_plane_cpu_seconds"],
        },
        "detail": {"floor": floor, "project": project},
    }
    if "latency_ms" in project:
        out["latency_ms"] = project["latency_ms"]
    if peer is not None:
        out["peer"] = {
            "children_ratio": round(peer["t_children"] / floor["t_children"], 3),
            "available_ratio": round(peer["t_available"] / floor["t_available"], 3),
            "cpu_ms_per_resource": round(1000 * peer["cpu_seconds"] / n, 3),
            "writes_per_resource": peer["requests"]["writes_per_resource"],
            "reads_per_resource": peer["requests"]["reads_per_resource"],
            "event_writes_per_resource": peer["requests"]["event_writes_per_resource"],
            "watches": peer["watches"],
            "rss_mib": peer["rss_mib"],
        }
        out["seconds"]["peer"] = {"children": peer["t_children"], "available": peer["t_available"]}
        out["control_plane_cpu_seconds"]["peer"] = peer["control_plane_cpu_seconds"]
        out["detail"]["peer"] = peer
    return out


def targets(runs: dict[str, Row]) -> list[dict[str, Any]]:
    """Each target, its value at every N it applies to, and whether it is met."""
    sizes = sorted(runs, key=int)
    largest = sizes[-1:] if sizes else []

    def check(name: str, where: list[str], value: Any, ok: Any, show: Any = None) -> dict[str, Any]:
        values = {n: (show or value)(runs[n]) for n in where}
        met = bool(where) and all(ok(runs[n]) for n in where)
        return {"target": name, "values": values, "met": met if where else None}

    def peer_factor(r: Row) -> float | None:
        if "peer" not in r or not r["cpu_ms_per_resource"]:
            return None
        return round(float(r["peer"]["cpu_ms_per_resource"]) / r["cpu_ms_per_resource"], 2)

    return [
        check(
            f"children_ratio <= {CHILDREN_RATIO} at every N",
            sizes,
            lambda r: r["children_ratio"],
            lambda r: r["children_ratio"] <= CHILDREN_RATIO,
        ),
        check(
            f"cpu_ms_per_resource <= {CPU_MS:g}",
            sizes,
            lambda r: r["cpu_ms_per_resource"],
            lambda r: r["cpu_ms_per_resource"] <= CPU_MS,
        ),
        check(
            "writes_per_resource <= floor_writes_per_resource + 1",
            sizes,
            lambda r: [r["writes_per_resource"], r["floor_writes_per_resource"]],
            lambda r: r["writes_per_resource"] <= r["floor_writes_per_resource"] + 1,
        ),
        check(
            f"reads_per_resource <= {READS}",
            sizes,
            lambda r: r["reads_per_resource"],
            lambda r: r["reads_per_resource"] <= READS,
        ),
        check(
            f"idle_writes == 0 and idle_cpu_s_per_min <= {IDLE_CPU}",
            [n for n in sizes if runs[n].get("idle_writes") is not None],
            lambda r: [r["idle_writes"], r["idle_cpu_s_per_min"]],
            lambda r: r["idle_writes"] == 0 and r["idle_cpu_s_per_min"] <= IDLE_CPU,
        ),
        check(
            f"rss_mib <= {RSS_AT_1000:g} at N=1000",
            [n for n in sizes if n == "1000"],
            lambda r: r["rss_mib"],
            lambda r: r["rss_mib"] <= RSS_AT_1000,
        ),
        check(
            f"kib_per_resource <= {KIB:g} (at the largest N)",
            largest,
            lambda r: r["kib_per_resource"],
            lambda r: r["kib_per_resource"] <= KIB,
        ),
        check(
            f"peer cpu / project cpu >= {PEER_CPU_FACTOR:g}",
            [n for n in sizes if peer_factor(runs[n]) is not None],
            peer_factor,
            lambda r: (peer_factor(r) or 0) >= PEER_CPU_FACTOR,
        ),
    ]


def one_line(r: Row) -> str:
    peer = r.get("peer") or {}
    return (
        f"children x{r['children_ratio']:.2f} of the floor "
        f"(peer x{peer.get('children_ratio', 0):.2f}), "
        f"CPU {r['cpu_ms_per_resource']:.1f} ms/resource "
        f"(peer {peer.get('cpu_ms_per_resource', 0):.1f}), "
        f"writes {r['writes_per_resource']:.2f}/resource "
        f"(floor {r['floor_writes_per_resource']:.2f}), "
        f"reads {r['reads_per_resource']:.3f}, RSS {r['rss_mib']:.0f} MiB"
    )


def write(results: dict[str, Any], out: Path, stem: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.json", out / f"{stem}.md"]
    paths[0].write_text(json.dumps(results, indent=2) + "\n")
    paths[1].write_text(markdown(results))
    if results.get("runs"):
        try:
            paths.append(plot(results, out / f"{stem}.png"))
        except ImportError:
            print("matplotlib is not installed: no plot (pip install matplotlib)", flush=True)
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


def _f(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(_f(v, digits) for v in value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def _peer(r: Row, key: str, digits: int = 2) -> str:
    peer = r.get("peer")
    return f" ({_f(peer.get(key), digits)})" if peer else ""


def table(results: dict[str, Any]) -> list[str]:
    runs = results["runs"]
    lines = [
        "| N | children / floor (peer) | Available / floor (peer) | CPU ms per resource "
        "(peer) | writes per resource (floor; peer) | reads per resource | watches | "
        "idle writes, CPU s/min | RSS MiB (peer) | KiB per resource |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in sorted(runs, key=int):
        r = runs[n]
        peer = r.get("peer") or {}
        peer_writes = f"; {_f(peer['writes_per_resource'])}" if peer else ""
        idle = (
            f"{_f(r['idle_writes'])}, {_f(r['idle_cpu_s_per_min'], 3)} "
            f"({_f(r.get('idle_seconds'), 0)} s)"
        )
        lines.append(
            f"| {n} | {_f(r['children_ratio'])}{_peer(r, 'children_ratio')} | "
            f"{_f(r['available_ratio'])}{_peer(r, 'available_ratio')} | "
            f"{_f(r['cpu_ms_per_resource'], 1)}{_peer(r, 'cpu_ms_per_resource', 1)} | "
            f"{_f(r['writes_per_resource'])} ({_f(r['floor_writes_per_resource'])}{peer_writes}) | "
            f"{_f(r['reads_per_resource'], 3)} | {r['watches']} | {idle} | "
            f"{_f(r['rss_mib'], 0)}{_peer(r, 'rss_mib', 0)} | {_f(r['kib_per_resource'], 1)} |"
        )
    return lines


def seconds_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "| N | floor: children s | Available s | project: children s | Available s | "
        "Ready s | peer: children s | Available s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in sorted(results["runs"], key=int):
        sec = results["runs"][n]["seconds"]
        fl, pr, pe = sec["floor"], sec["project"], sec.get("peer") or {}
        lines.append(
            f"| {n} | {_f(fl['children'], 1)} | {_f(fl['available'], 1)} | "
            f"{_f(pr['children'], 1)} | {_f(pr['available'], 1)} | {_f(pr.get('ready'), 1)} | "
            f"{_f(pe.get('children'), 1)} | {_f(pe.get('available'), 1)} |"
        )
    return lines


def cpu_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "| N | floor: apiserver + etcd | project | apiserver + etcd | peer | apiserver + etcd |",
        "|---:|---:|---:|---:|---:|---:|",
    ]

    def plane(cpu: dict[str, float] | None) -> str:
        if not cpu:
            return "-"
        return _f(cpu.get("kube-apiserver", 0.0) + cpu.get("etcd", 0.0), 1)

    for n in sorted(results["runs"], key=int):
        r = results["runs"][n]
        detail, planes = r["detail"], r["control_plane_cpu_seconds"]
        peer = detail.get("peer") or {}
        lines.append(
            f"| {n} | {plane(planes.get('floor'))} | {_f(detail['project']['cpu_seconds'], 1)} | "
            f"{plane(planes.get('project'))} | {_f(peer.get('cpu_seconds'), 1)} | "
            f"{plane(planes.get('peer'))} |"
        )
    return lines


def target_lines(results: dict[str, Any]) -> list[str]:
    lines = []
    for t in results.get("targets") or []:
        verdict = {True: "met", False: "**missed**", None: "not measured"}[t["met"]]
        values = "; ".join(f"N={n}: {_f(v)}" for n, v in t["values"].items())
        lines.append(f"- {t['target']}: {verdict}" + (f" ({values})" if values else ""))
    return lines


def ground_line(results: dict[str, Any]) -> str:
    g = results["ground"]
    sweep = g.get("floor_sweep") or {}
    points = ", ".join(
        f"{p['concurrency']}: {p['t_children']:.1f} s" for p in sweep.get("points", [])
    )
    sha = results["commit"]
    dirty = "-dirty" if sha.endswith("-dirty") else ""
    return (
        f"Commit `{sha[:12]}{dirty}`, "
        f"{g['started']}, {g['cores']} cores shared with the whole control plane "
        f"({g.get('kubernetes')}, kwok nodes only), python {g['python']}, kopf {g['kopf']}; "
        f"kube-controller-manager and scheduler at {g.get('controller_qps')} QPS / burst "
        f"{g.get('controller_burst')}. Floor: the fastest concurrency of a sweep at "
        f"N={sweep.get('n')} ({points}): {sweep.get('best')}."
    )


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Operator benchmark",
        "",
        ground_line(results),
        "",
        "## Against the floor and the peer",
        "",
        *table(results),
        "",
        "## Seconds",
        "",
        *seconds_table(results),
        "",
        "## CPU seconds over the creation phase (owner; kube-apiserver + etcd)",
        "",
        *cpu_table(results),
        "",
        "## Targets",
        "",
        *target_lines(results),
        "",
        "## API requests per resource by resource and verb (creation phase)",
        "",
    ]
    for n in sorted(results["runs"], key=int):
        detail = results["runs"][n]["detail"]
        for system in ("floor", "project", "peer"):
            if system in detail:
                by = detail[system]["requests"]["owned_by_verb"]
                text = "; ".join(
                    f"{res} " + " ".join(f"{verb} {v:g}" for verb, v in verbs.items())
                    for res, verbs in by.items()
                )
                ev = detail[system]["requests"]["event_writes_per_resource"]
                lines.append(f"- N={n} {system}: {text}; events {ev:g}")
    lines.append("")
    lines += ["## Phases", "", "| phase | seconds |", "|---|---:|"]
    lines += [f"| {p['phase']} | {p['seconds']:.0f} |" for p in results.get("phases", [])]
    lines.append("")
    if results.get("profile"):
        prof = results["profile"]
        lines += [
            f"## Profile (py-spy --gil, {prof['samples']} samples, N={prof['n']})",
            "",
            "| function | inclusive % | self % |",
            "|---|---:|---:|",
        ]
        lines += [
            f"| `{r['function']}` | {r['inclusive']:.1f} | {r['self']:.1f} |" for r in prof["top"]
        ]
        lines.append("")
    return "\n".join(lines)


def readme_block(results: dict[str, Any]) -> str:
    """The README's benchmark block: a pure function of operator.json."""
    lines = [
        BEGIN,
        "<!-- generated by `python -m bench.report --readme` from bench/results/operator.json;"
        " tests/docs/test_readme_figures.py checks it -->",
        "",
        *_wrap(ground_line(results)),
        "",
        *table(results),
        "",
        *_wrap(
            "Ratios are the project's operator over the floor (a plain client that "
            "server-side-applies each parent and its rendered children and writes its status "
            "once, with no operator running), in parentheses the peer (`bench/peer.py`, a kopf "
            "operator as kopf's documentation writes one). *children*: first apply until a watch "
            "has seen every child; *Available*: every Deployment Available. Requests, watches "
            "and their verbs come from the API server's `apiserver_request_total` and "
            "`apiserver_longrunning_requests`, CPU and RSS from `/proc`; writes and reads count "
            "the parents, their status and the child kinds (what the ground's controllers write "
            "is in `bench/results/operator.md`, with the seconds and the phases of the run)."
        ),
        "",
        "Targets:",
        "",
        *target_lines(results),
        "",
        END,
    ]
    return "\n".join(lines)


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, 90, break_on_hyphens=False, break_long_words=False)


def replace_block(text: str, block: str) -> str:
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README has no {BEGIN} ... {END} block")
    return text[:start] + block + text[end + len(END) :]


def current_block(text: str) -> str:
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README has no {BEGIN} ... {END} block")
    return text[start : end + len(END)]


def plot(results: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = results["runs"]
    sizes = sorted(runs, key=int)
    ns = [int(n) for n in sizes]
    fig, (left, mid, right) = plt.subplots(1, 3, figsize=(14, 4.2))
    for system, style in (("floor", "s--"), ("project", "o-"), ("peer", "^:")):
        xs = [int(n) for n in sizes if system in runs[n]["seconds"]]
        ys = [runs[n]["seconds"][system]["children"] for n in sizes if system in runs[n]["seconds"]]
        if xs:
            left.plot(xs, ys, style, label=system)
    left.set_xlabel("resources applied at once (N)")
    left.set_ylabel("seconds until every child exists")
    left.set_title("T_children")
    left.grid(alpha=0.3)
    left.legend()
    mid.plot(ns, [runs[n]["children_ratio"] for n in sizes], "o-", label="project")
    peer_ns = [int(n) for n in sizes if "peer" in runs[n]]
    mid.plot(
        peer_ns,
        [runs[n]["peer"]["children_ratio"] for n in sizes if "peer" in runs[n]],
        "^:",
        label="peer",
    )
    mid.axhline(CHILDREN_RATIO, color="red", linestyle=":", label=f"target {CHILDREN_RATIO}")
    mid.set_xlabel("N")
    mid.set_ylabel("T_children / floor")
    mid.set_ylim(bottom=0)
    mid.grid(alpha=0.3)
    mid.legend()
    right.plot(ns, [runs[n]["cpu_ms_per_resource"] for n in sizes], "o-", label="project")
    right.plot(
        peer_ns,
        [runs[n]["peer"]["cpu_ms_per_resource"] for n in sizes if "peer" in runs[n]],
        "^:",
        label="peer",
    )
    right.axhline(CPU_MS, color="red", linestyle=":", label=f"target {CPU_MS:g}")
    right.set_xlabel("N")
    right.set_ylabel("operator CPU ms per resource")
    right.set_ylim(bottom=0)
    right.grid(alpha=0.3)
    right.legend()
    fig.suptitle(f"{results['commit'][:12]} {results['ground']['started']}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.report", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--json", type=Path, default=RESULTS / "operator.json")
    parser.add_argument("--readme", action="store_true", help="rewrite README.md's block")
    parser.add_argument("--md", action="store_true", help="rewrite the .md and .png")
    args = parser.parse_args(argv)
    results = json.loads(args.json.read_text())
    if args.readme:
        README.write_text(replace_block(README.read_text(), readme_block(results)))
        print(f"rewrote the benchmark block of {README}")
    if args.md:
        for path in write(results, args.json.parent, args.json.stem):
            print(f"wrote {path}")
    if not (args.readme or args.md):
        print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
