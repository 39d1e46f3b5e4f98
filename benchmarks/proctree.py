"""CPU time and memory of a server's whole process tree (gunicorn master and workers), from /proc.

A multi-process server's cost is the sum over its processes; the load
generator runs in another process and is not counted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue += children.get(current, [])
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the tree so far (live processes only: workers are long-lived)."""
    total = 0
    for member in tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


@dataclass
class Memory:
    rss_mb: float        # now, summed over the tree
    largest_mb: float    # the largest single process now
    peak_mb: float       # the largest single process's peak since it started (VmHWM)


def memory(pid: int) -> Memory:
    rss, largest, peak = 0.0, 0.0, 0.0
    for member in tree(pid):
        status = _status(member)
        now, high = status.get("VmRSS", 0) / 1024, status.get("VmHWM", 0) / 1024
        rss += now
        largest, peak = max(largest, now), max(peak, high)
    return Memory(round(rss, 1), round(largest, 1), round(peak, 1))


def _status(pid: int) -> dict[str, int]:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    found = {}
    for line in lines:
        key, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            found[key] = int(value.split()[0])
    return found
