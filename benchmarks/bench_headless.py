"""Headless wall time: `list-clusters` and `cluster-status` next to a bare httpx GET.

Each command is run as a subprocess of the installed console script, several
times against a `kostyor-tui serve` subprocess with the demo fleet; the figure
is the median wall time. The baseline, measured in the same run, is
`python -c 'import httpx; httpx.get(URL)'`. Target: within 1.5x of it.
"""

import statistics
import subprocess
import sys
import time

from benchmarks.common import (
    CONSOLE_SCRIPT,
    Result,
    isolated_env,
    median,
    report,
    server_process,
    temporary_directory,
)

RUNS = 11
RATIO_TARGET = 1.5


def wall_times(argv: list[str], env: dict[str, str], runs: int = RUNS) -> list[float]:
    """Wall time of each run (after one unmeasured warm-up run); every run must succeed."""
    times = []
    for index in range(runs + 1):
        started = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, check=False)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{argv} failed ({done.returncode}): {done.stderr.decode()}")
        if index:
            times.append(elapsed)
    return times


def main() -> None:
    with temporary_directory() as directory, server_process(directory / "bench.sqlite3") as url:
        env = isolated_env(directory, url)
        commands = {
            "bare httpx GET": [sys.executable, "-c", f"import httpx; httpx.get('{url}/clusters')"],
            "list-clusters": [str(CONSOLE_SCRIPT), "--command", "list-clusters"],
            "cluster-status home_lab": [
                str(CONSOLE_SCRIPT),
                "--command",
                "cluster-status",
                "home_lab",
            ],
        }
        # Interleave the runs so that a burst of load on the machine hits all alike.
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(RUNS):
            for name, argv in commands.items():
                samples[name] += wall_times(argv, env, runs=1)

    baseline = median(samples["bare httpx GET"])
    spread = statistics.stdev(samples["bare httpx GET"]) * 1000
    results = [
        Result(
            "bare httpx GET", baseline * 1000, "ms", note=f"median of {RUNS}, stdev {spread:.0f}"
        )
    ]
    for name in ("list-clusters", "cluster-status home_lab"):
        value = median(samples[name])
        stdev = statistics.stdev(samples[name]) * 1000
        results.append(Result(f"{name} wall time", value * 1000, "ms", note=f"stdev {stdev:.0f}"))
        results.append(Result(f"{name} / bare httpx", value / baseline, "x", RATIO_TARGET))
    report("headless", results)


if __name__ == "__main__":
    main()
