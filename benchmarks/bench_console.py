"""The console: `--demo` to its first frame with data, and big clusters of 500 to 10,000 hosts.

- `--demo` first frame: `kostyor-tui --demo` in a pseudo-terminal (160x50), from
  spawning it to the first output showing a cluster of the demo fleet; median of
  several runs. Target < 0.8 s.
- For each size (hosts; 15 instances on most, so 10,000 hosts hold 150,000), a
  database built through the server's own store, served by `kostyor-tui serve`
  in a subprocess (its CPU is not counted), and the console in a child process
  (`console_probe.py`, the real app headless): the time to open the cluster's
  detail, then during an upgrade (a step every 50 ms) per poll update, over
  windows of 10 updates (the poller follows the step log 9 times, then reads
  the fleet in full: each window holds one full read): CPU on the main thread
  and across all the console's threads, main-loop stalls over 50 ms,
  the latency from a key to the frame showing its effect, and peak memory.
  The CPU per update divided by the instances gives the per-instance cost, whose
  growth from 500 to 10,000 hosts says whether polling scales linearly.

The code runs from the project's venv with its .pyc files compiled first.
"""

from __future__ import annotations

import argparse
import fcntl
import http.client
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from typing import Any

from benchmarks.common import (
    CONSOLE_SCRIPT,
    REPO,
    Result,
    isolated_env,
    median,
    report,
    server_process,
    temporary_directory,
)
from benchmarks.large_fleet import LARGE_NAME, build
from kostyor_tui.service.poller import FULL_READ_EVERY

SIZES = (500, 2000, 5000, 10000)
DEMO_RUNS = 5
# As many updates as the poller's cycle of polls following the step log and one full
# read (`poller.FULL_READ_EVERY`): each window of updates holds one full read.
UPDATES = FULL_READ_EVERY
DEMO_CLUSTER = b"home_lab"


def probe(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.console_probe", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("PROBE ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"console_probe {args} failed:\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("PROBE "))
    return result


def demo_first_frame(env: dict[str, str]) -> float:
    """Seconds from spawning `kostyor-tui --demo` in a pty to its first frame with data."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(CONSOLE_SCRIPT), "--demo"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**env, "TERM": "xterm-256color"},
        start_new_session=True,
    )
    os.close(slave)
    seen = b""
    try:
        while DEMO_CLUSTER not in seen:
            if time.perf_counter() - started > 60:
                raise RuntimeError("--demo showed no data within 60 s")
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                seen = seen[-len(DEMO_CLUSTER) :] + os.read(master, 65536)
        return time.perf_counter() - started
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        # The terminal is read until the console has gone: one that stopped reading
        # would leave it blocked writing its last frames, killed with its demo files.
        deadline = time.monotonic() + 15
        while process.poll() is None and time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    os.read(master, 65536)
                except OSError:  # EIO: every writer has closed the terminal
                    break
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        os.close(master)


def services_answer_seconds(url: str) -> tuple[float, int]:
    """The server alone: its services answer for the big cluster (best of 3), and its bytes."""
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=120)
    connection.request("GET", "/clusters")
    clusters = json.loads(connection.getresponse().read())
    large_id = next(c["id"] for c in clusters if c["name"] == LARGE_NAME)
    best, size = float("inf"), 0
    for _ in range(3):
        started = time.perf_counter()
        connection.request("GET", f"/clusters/{large_id}/services")
        size = len(connection.getresponse().read())
        best = min(best, time.perf_counter() - started)
    connection.close()
    return best, size


def size_results(
    hosts: int, instances: int, probe_result: dict[str, Any], server: tuple[float, int]
) -> list[Result]:
    r = probe_result
    label = f"{hosts:,} hosts / {instances:,} instances"
    big = hosts >= 10000
    latencies = r["key_latency_ms"]
    return [
        Result(
            f"{label}: open the cluster",
            r["open_seconds"],
            "s",
            0.3 if hosts == 2000 else 2.0 if big else None,
            note=f"the server's services answer alone: {1000 * server[0]:.0f} ms"
            f" ({server[1] / 1e6:.1f} MB)",
        ),
        Result(
            f"{label}: poll update, main thread",
            r["main_thread_ms_per_update"],
            "ms",
            20.0 if hosts == 2000 else 50.0 if big else None,
            note=f"mean of {r['updates']}, one every {r['wall_seconds_per_update']:.1f} s",
        ),
        Result(
            f"{label}: poll update, main thread, less its idle cost",
            r["main_thread_ms_per_update"] - r["main_thread_idle_ms_per_update"],
            "ms",
            note=(
                f"idle (Textual's timers, polls of the settled cluster) "
                f"{r['main_thread_idle_ms_per_update']:.0f} ms over an update's wall time, "
                "measured before the upgrade"
            ),
        ),
        Result(
            f"{label}: poll update, CPU in all threads",
            r["cpu_ms_per_update"],
            "ms",
            80.0 if hosts == 2000 else None,
            note=f"{1000 * r['cpu_ms_per_update'] / instances:.2f} us per instance",
        ),
        Result(
            f"{label}: main-loop stalls over 50 ms during {r['updates']} updates",
            r["stalls_over_50ms"],
            "",
            0.0 if hosts == 2000 else None,
            note=f"worst {r['worst_stall_ms']:.0f} ms",
        ),
        Result(
            f"{label}: key to screen",
            median(latencies),
            "ms",
            100.0 if big else None,
            note=f"median of {len(latencies)} during updates, worst {max(latencies):.0f} ms",
        ),
        Result(f"{label}: peak memory", r["peak_rss_mb"], "MB"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--demo-runs", type=int, default=DEMO_RUNS)
    args = parser.parse_args()
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(REPO / "kostyor_tui")],
        check=False,
        stdout=subprocess.DEVNULL,
    )
    results: list[Result] = []
    per_instance: dict[int, float] = {}
    with temporary_directory() as directory:
        if args.demo_runs:
            env = isolated_env(directory, "http://127.0.0.1:9")
            demo_first_frame(env)  # warm the file cache, as a second start would be
            starts = [demo_first_frame(env) for _ in range(args.demo_runs)]
            results.append(
                Result(
                    "--demo: first frame with data",
                    median(starts),
                    "s",
                    0.8,
                    note=f"median of {len(starts)}, {min(starts):.2f}-{max(starts):.2f} s",
                )
            )
        for hosts in args.sizes:
            db_path = directory / f"large-{hosts}.sqlite3"
            hosts_built, instances = build(db_path, hosts)
            print(f"  {hosts_built} hosts, {instances} instances", flush=True)
            with server_process(db_path, seed="empty", step_seconds=0.05) as url:
                server = services_answer_seconds(url)
                env = isolated_env(directory, url, poll_interval=2.0)
                measured = probe(
                    env, "--hosts", str(hosts), "--server-url", url, "--updates", str(UPDATES)
                )
            print("  " + json.dumps(measured), flush=True)
            results += size_results(hosts, instances, measured, server)
            per_instance[hosts] = measured["cpu_ms_per_update"] / instances
            db_path.unlink()
    if len(per_instance) > 1:
        smallest, largest = min(per_instance), max(per_instance)
        results.append(
            Result(
                f"CPU per poll per instance, {largest:,} hosts / {smallest:,} hosts",
                per_instance[largest] / per_instance[smallest],
                "x",
                1.5,
            )
        )
    report("console", results)


if __name__ == "__main__":
    main()
