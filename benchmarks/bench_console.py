"""The console: start to first frame, idle CPU, a 2,000-host cluster, peak memory.

Each measurement runs the real app in a child process (`console_probe.py`)
against a `kostyor-tui serve` subprocess, so the figures are the console's
own (the server's CPU and memory are not counted):

- start to first frame with data, demo fleet: from spawning the child to the
  first frame showing the cluster list (interpreter start and imports included);
  median of several runs; target under 1 s;
- CPU while idle, polling every 2 s, demo fleet: getrusage over 20 s; target
  under 2% of one core;
- the 2,000-host / 30,000-instance cluster: opening its detail (cursor onto it
  until both tables are filled and drawn; target under 0.5 s), and one poll
  update during an upgrade in main-thread CPU time (target under 50 ms), with
  where the time goes; peak memory (ru_maxrss) with it open (target under 150 MB).
"""

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import (
    REPO,
    Result,
    isolated_env,
    median,
    report,
    server_process,
    temporary_directory,
)
from benchmarks.large_fleet import LARGE_NAME, build

FIRST_FRAME_RUNS = 5
IDLE_SECONDS = 20.0
UPDATES = 4


def probe(env: dict[str, str], *args: str) -> tuple[dict[str, Any], float]:
    """Run console_probe with `args`; return its result and the wall time it was spawned at."""
    spawned = time.time()
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.console_probe", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("PROBE ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"console_probe {args} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(lines[-1].removeprefix("PROBE ")), spawned


def demo_fleet(directory: Path) -> list[Result]:
    with server_process(directory / "demo.sqlite3") as url:
        env = isolated_env(directory, url, poll_interval=2.0)
        probe(env, "first-frame")  # warm the file cache, as a second start would be
        starts = []
        for _ in range(FIRST_FRAME_RUNS):
            result, spawned = probe(env, "first-frame")
            starts.append(result["data_frame_at"] - spawned)
        idle, _ = probe(env, "idle", "--seconds", str(IDLE_SECONDS))
    return [
        Result(
            "console start to first frame with data (demo fleet)",
            median(starts),
            "s",
            1.0,
            note=f"median of {FIRST_FRAME_RUNS}, range {min(starts):.2f}-{max(starts):.2f} s",
        ),
        Result(
            "CPU while idle, polling every 2 s (demo fleet)",
            idle["cpu_percent"],
            "% of a core",
            2.0,
            note=f"{idle['wall']:.0f} s, {idle['polls']} polls",
        ),
    ]


def _breakdown(spans: dict[str, float]) -> str:
    return ", ".join(f"{label} {ms:.0f} ms" for label, ms in spans.items() if ms >= 0.5)


def raw_fetch_seconds(url: str) -> float:
    """What the server alone takes to answer the reads of one cluster poll (best of 3)."""
    with httpx.Client(base_url=url, timeout=60) as client:
        large_id = next(c["id"] for c in client.get("/clusters").json() if c["name"] == LARGE_NAME)
        paths = [f"/clusters/{large_id}/hosts", f"/clusters/{large_id}/services", "/upgrades"]
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            for path in paths:
                client.get(path).raise_for_status()
            timings.append(time.perf_counter() - started)
    return min(timings)


def large_cluster(directory: Path) -> list[Result]:
    db_path = directory / "large.sqlite3"
    hosts, instances = build(db_path)
    with server_process(db_path, seed="empty", step_seconds=0.05) as url:
        fetch = raw_fetch_seconds(url)
        env = isolated_env(directory, url, poll_interval=2.0)
        large, _ = probe(env, "large", "--server-url", url, "--updates", str(UPDATES))
    size = f"{hosts} hosts, {instances} instances"
    return [
        Result(
            f"open the large cluster's detail ({size})",
            large["open_seconds"],
            "s",
            0.5,
            note=f"raw GETs of its hosts, services, upgrades: {fetch:.2f} s; CPU in it: "
            + _breakdown(large["open_spans_ms"]),
        ),
        Result("then its hosts tab (2,000 rows)", large["hosts_tab_seconds"], "s"),
        Result(
            "poll update during an upgrade: main-thread CPU",
            large["main_thread_ms_per_update"],
            "ms",
            50.0,
            note=f"mean of {UPDATES} updates; per update: "
            + _breakdown(large["spans_ms_per_update"]),
        ),
        Result(
            "poll update during an upgrade: CPU of the whole console, all threads",
            large["cpu_ms_per_update"],
            "ms",
            note=f"one update every {large['wall_seconds_per_update']:.1f} s",
        ),
        Result(
            "poll of the large cluster with nothing changed: main-thread CPU",
            large["idle_main_thread_ms_per_poll"],
            "ms",
        ),
        Result(
            "CPU while polling the large cluster every 2 s, nothing changing",
            large["idle_cpu_percent"],
            "% of a core",
            note=f"a poll every {large['idle_wall_per_poll']:.1f} s",
        ),
        Result("peak memory with the large cluster open", large["peak_rss_mb"], "MB", 150.0),
    ]


def main() -> None:
    with temporary_directory() as directory:
        results = demo_fleet(directory) + large_cluster(directory)
    report("console", results)


if __name__ == "__main__":
    main()
