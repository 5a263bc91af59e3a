"""CPU seconds and memory of processes on this machine, read from /proc.

CPU is ``utime + stime`` of the process plus ``cutime + cstime`` (children it waited
for), in clock ticks; memory is ``VmRSS`` (now) and ``VmHWM`` (peak) of
/proc/<pid>/status. The same reading for the project's operator, the peer and the
control plane's kube-apiserver and etcd, so their figures compare.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime + cutime + cstime of ``pid`` in seconds (fields 14-17 of stat)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = text.rpartition(")")[2].split()
    # fields[0] is field 3 (state): utime is field 14 -> fields[11].
    return sum(int(f) for f in fields[11:15]) / TICK


def memory_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MiB."""
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(value.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


@dataclass
class CpuWindow:
    """CPU seconds a set of named processes spent between :meth:`start` and
    :meth:`stop` (a process that is gone at either end counts as 0 for the window)."""

    pids: dict[str, int]

    def __post_init__(self) -> None:
        self.started: dict[str, float] = {}
        self.seconds: dict[str, float] = {}

    def _read(self) -> dict[str, float]:
        out = {}
        for name, pid in self.pids.items():
            try:
                out[name] = cpu_seconds(pid)
            except OSError:
                continue
        return out

    def start(self) -> CpuWindow:
        self.started = self._read()
        return self

    def stop(self) -> dict[str, float]:
        now = self._read()
        self.seconds = {
            name: round(now[name] - self.started[name], 3)
            for name in self.pids
            if name in now and name in self.started
        }
        return self.seconds
