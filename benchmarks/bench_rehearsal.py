"""Upgrade rehearsal wall time: `kostyor-tui rehearse` on 2,000 hosts.

- the 2,000-host fleet of simulated discovery (8 controllers, 1,980 computes, 12
  storage nodes: 4,144 instances), through the installed console script, as an
  operator runs it (interpreter start, the throw-away server, the engine on its
  virtual clock, the plan as JSON): the median of a few runs. Target: under 10 s.
- the 30,000-instance cluster of `large_fleet` (2,000 hosts, 15 instances on most),
  rehearsed in-process once: no target, for scale. The engine commits one instance a
  step, each in its own transaction; before each forward step it counts the failed
  steps of its host, through the step log's partial index (schema 4). Without that
  index the count scanned the whole log and the time grew with the square of the
  steps: 368 s, 12 ms a step. Last run (2026-12-03, 2 cores, load ~1): 11.5 s,
  0.38 ms a step.

Last run of the first figure: median 4.0 s (3.6-6.6 s), load average 3.4.

    .venv/bin/python -m benchmarks.bench_rehearsal
"""

import statistics
import subprocess
import time

from benchmarks.common import CONSOLE_SCRIPT, Result, report
from benchmarks.large_fleet import large_cluster_hosts
from kostyor_tui.domain.order import NODE_BY_NODE
from kostyor_tui.rehearse import durations, rehearsal
from kostyor_tui.rehearse.topology import Topology

RUNS = 3
TARGET_SECONDS = 10.0


def cli_seconds() -> list[float]:
    argv = [
        str(CONSOLE_SCRIPT),
        "rehearse", "--simulated", "8,1980,12", "--to", "newton",
        "-f", "json", "--section", "summary",
    ]  # fmt: skip
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, check=False)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise RuntimeError(f"rehearse failed ({done.returncode}): {done.stderr.decode()}")
    return times


def large_fleet_seconds() -> tuple[float, int]:
    hosts = large_cluster_hosts(2000)
    fleet = Topology("z-large", "mitaka", hosts, "benchmarks.large_fleet")
    started = time.perf_counter()
    plan = rehearsal.rehearse(
        fleet, to_version="newton", engine=NODE_BY_NODE, durations=durations.uniform(60)
    )
    return time.perf_counter() - started, plan.summary.steps


def main() -> None:
    times = cli_seconds()
    large, steps = large_fleet_seconds()
    report(
        "rehearsal",
        [
            Result(
                "rehearse 2,000 hosts (4,144 instances), the whole command",
                statistics.median(times),
                "s",
                TARGET_SECONDS,
                note=f"median of {RUNS}, range {min(times):.1f}-{max(times):.1f} s",
            ),
            Result(
                "rehearse 2,000 hosts with 30,000 instances, in-process",
                large,
                "s",
                note=f"{steps} steps, {large / steps * 1000:.2f} ms a step",
            ),
        ],
    )


if __name__ == "__main__":
    main()
