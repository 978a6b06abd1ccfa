"""The real console, headless, in this process: measures one big cluster for bench_console.py.

    python -m benchmarks.console_probe --hosts 2000 --server-url URL

The API URL and poll interval come from the config file named by KOSTYOR_CONFIG
(the parent writes it). The app runs through `App.run_test()` (Textual's
headless driver): layout and rendering happen as in a terminal, only the bytes
are not written anywhere. It opens the big cluster (cursor down from the small
one), starts an upgrade of it, and measures the poll updates that follow: CPU
per update on the main thread and across all threads (over `--updates` updates,
by default the poller's cycle, FULL_READ_EVERY: one full read in each window;
with nothing else running in the app), then main-loop stalls (over as many more,
a monitor waking every TICK: its own wake-ups are not in the CPU figures), and
key-to-screen latency, a key every 0.3 s, over as many more. The main thread's cost with no update
to show (Textual's timers) is measured first, for IDLE_SECONDS, scaled to an
update's wall time and reported beside it. Prints one line `PROBE <json>`.

What it observes, it observes through the console's public side (the service's
reactive `snapshots`, the tables' cursor), `gc.callbacks` (the collector's time in
every thread) and one benchmark-only wrapper: the app's `_display` (each frame the
compositor produced: when a key's effect is on screen). `--profile FILE` writes
the main thread's profile of the updates.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import resource
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from kostyor_tui.service.poller import FULL_READ_EVERY

STALL_MS = 50.0
# How often the stall monitor wakes; a wake later than this plus STALL_MS is a stall.
TICK = 0.005
# How long the main thread's idle cost is measured for.
IDLE_SECONDS = 5.0


def _peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _until(condition: Callable[[], bool], what: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.001)


class Frame(NamedTuple):
    """A frame the compositor produced, and what it showed."""

    at: float
    host_cursor: int
    large_open: bool  # the big cluster's summary and components


def _cursor_on(row: int) -> Callable[[Frame], bool]:
    """Whether a frame shows the host cursor on `row`."""
    return lambda frame: frame.host_cursor == row


async def _first_frame(
    frames: list[Frame], since: float, showing: Callable[[Frame], bool], what: str
) -> float:
    """When the first frame after `since` that is `showing` was produced."""
    while True:
        shown = next((frame.at for frame in frames if frame.at > since and showing(frame)), None)
        if shown is not None:
            return shown
        if time.perf_counter() - since > 60:
            raise TimeoutError(f"no frame showed {what}")
        await asyncio.sleep(0.001)


class GarbageCollections:
    """Time the garbage collector spends, per generation, in any thread (`gc.callbacks`)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._started: dict[int, float] = {}
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        thread = threading.get_ident()
        if phase == "start":
            self._started[thread] = time.perf_counter()
            return
        began = self._started.pop(thread, None)
        if began is not None:
            key = f"gen{info['generation']}"
            self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - began

    def stop(self) -> None:
        gc.callbacks.remove(self._callback)


class StallMonitor:
    """Wakes every TICK on the app's loop; a wake-up late by more than STALL_MS means the
    main loop was held up that long (input and frames wait as long)."""

    def __init__(self) -> None:
        self.stalls: list[float] = []
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(TICK)
            late = (time.perf_counter() - before - TICK) * 1000
            self.worst = max(self.worst, late)
            if late > STALL_MS:
                self.stalls.append(late)

    def start(self) -> None:
        self.stalls.clear()
        self.worst = 0.0
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


async def large(
    hosts: int, updates: int, server_url: str, profile: str | None = None
) -> dict[str, Any]:
    import httpx

    from benchmarks.large_fleet import LARGE_NAME
    from kostyor_tui.app import KostyorApp
    from kostyor_tui.config import load_settings
    from kostyor_tui.domain.statuses import Status
    from kostyor_tui.screens.main import MainScreen

    frames: list[Frame] = []
    updated = asyncio.Event()
    update_times: list[float] = []

    app = KostyorApp(load_settings())
    async with app.run_test(size=(160, 50)) as pilot:
        main = app.screen
        assert isinstance(main, MainScreen)
        service = app.service
        await _until(lambda: main.cluster_list.table.row_count == 2, "the cluster list")
        await _until(lambda: main.detail.component_table.row_count > 0, "the small cluster")
        # Its first frame drawn and the app idle, as an operator's key finds it: pressed
        # while that frame was still being drawn, the key waited for it (up to ~50 ms at
        # 2,000 hosts), which is not what opening the next cluster costs.
        await pilot.pause()
        large_id = next(c.id for c in service.clusters if c.name == LARGE_NAME)
        assert large_id is not None

        def snapshot_changed(snapshots: Any) -> None:
            snapshot = snapshots.get(large_id)
            if snapshot is not None and snapshot is not last[0]:
                last[0] = snapshot
                update_times.append(time.perf_counter())
                updated.set()

        last: list[Any] = [None]

        def large_open() -> bool:
            shown = main.detail.shown_snapshot
            return (
                shown is not None
                and shown.cluster_id == large_id
                and main.detail.component_table.row_count > 0
            )

        display = app._display

        def counting_display(screen: Any, renderable: Any) -> None:
            display(screen, renderable)
            frames.append(
                Frame(time.perf_counter(), main.detail.host_table.cursor_row, large_open())
            )

        app._display = counting_display  # type: ignore[method-assign]
        main.watch(service, "snapshots", snapshot_changed, init=False)

        # Opening the big cluster: cursor down, as an operator would, until a frame shows its
        # summary and the visible (components) table filled. (Waiting for the table, then
        # for a frame after that, would miss the frame drawn meanwhile and wait for a poll.)
        opened = time.perf_counter()
        await pilot.press("down")
        open_seconds = (
            await _first_frame(frames, opened, lambda frame: frame.large_open, "the large detail")
            - opened
        )
        open_rss = _peak_rss_mb()

        # Its hosts tab, where the keys go.
        await pilot.press("t")
        await _until(lambda: main.detail.host_table.row_count == hosts, "the host table")
        main.detail.host_table.focus()
        await pilot.pause()

        # The main thread's cost with nothing to show (Textual's own timers, polls of the
        # settled cluster), reported beside each update's. No monitor runs: its wake-ups
        # would be counted as the console's.
        idle_cpu, idle_wall = time.thread_time(), time.perf_counter()
        await asyncio.sleep(IDLE_SECONDS)
        idle_cpu_per_second = (time.thread_time() - idle_cpu) / (time.perf_counter() - idle_wall)

        started = await asyncio.to_thread(
            httpx.post,
            f"{server_url}/upgrades",
            json={"cluster_id": large_id, "to_version": "newton"},
            timeout=120,
        )
        started.raise_for_status()

        def in_progress() -> bool:
            snapshot = service.snapshot(large_id)
            return snapshot is not None and snapshot.status is Status.IN_PROGRESS

        await _until(in_progress, "the upgrade in progress")
        updated.clear()
        await updated.wait()

        async def next_updates() -> None:
            for _ in range(updates):
                updated.clear()
                await updated.wait()
            await _until(lambda: frames[-1].at > update_times[-1], "the last update's frame")

        # CPU per update, on the main thread and across all threads, over `updates`; with
        # no stall monitor, whose own wake-ups (hundreds per update) would cost the main
        # thread more than the update itself.
        profiler = cProfile.Profile() if profile else None
        if profiler is not None:
            profiler.enable()
        collections = GarbageCollections()
        main_cpu, cpu = time.thread_time(), _cpu_seconds()
        wall = time.perf_counter()
        await next_updates()
        main_cpu = time.thread_time() - main_cpu
        cpu = _cpu_seconds() - cpu
        wall = time.perf_counter() - wall
        collections.stop()
        if profiler is not None and profile:
            profiler.disable()
            profiler.dump_stats(profile)

        # Main-loop stalls over the next `updates`, the monitor running.
        monitor = StallMonitor()
        monitor.start()
        await next_updates()
        monitor.stop()
        stalls = list(monitor.stalls)
        worst_stall = monitor.worst

        # Key to screen while the next `updates` updates go on: j moves the host cursor;
        # the latency is until the first frame showing the cursor on its new row.
        latencies = []
        updates_before_keys = len(update_times)
        keys_deadline = time.perf_counter() + 30.0 * updates
        while len(update_times) - updates_before_keys < updates:
            if time.perf_counter() > keys_deadline:
                raise RuntimeError(f"fewer than {updates} updates came while keys were pressed")
            moved_to = main.detail.host_table.cursor_row + 1
            pressed = time.perf_counter()
            await pilot.press("j")
            shown = await _first_frame(frames, pressed, _cursor_on(moved_to), "the cursor moved")
            latencies.append(1000 * (shown - pressed))
            await asyncio.sleep(0.3)
        snapshot = service.snapshot(large_id)
        moved = snapshot.progress.services_upgraded if snapshot and snapshot.progress else 0
        await pilot.press("q")
    return {
        "open_seconds": open_seconds,
        "open_peak_rss_mb": open_rss,
        "updates": updates,
        "main_thread_ms_per_update": 1000 * main_cpu / updates,
        "main_thread_idle_ms_per_update": 1000 * idle_cpu_per_second * wall / updates,
        "cpu_ms_per_update": 1000 * cpu / updates,
        "wall_seconds_per_update": wall / updates,
        "gc_ms_per_update": {k: 1000 * v / updates for k, v in collections.seconds.items()},
        "stalls_over_50ms": len(stalls),
        "worst_stall_ms": worst_stall,
        "key_latency_ms": sorted(latencies),
        "services_upgraded_at_end": moved,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, required=True)
    parser.add_argument("--updates", type=int, default=FULL_READ_EVERY)
    parser.add_argument("--server-url", required=True)
    parser.add_argument("--profile", help="write the main thread's profile of the updates here")
    args = parser.parse_args()
    result = asyncio.run(large(args.hosts, args.updates, args.server_url, args.profile))
    result["peak_rss_mb"] = _peak_rss_mb()
    print("PROBE " + json.dumps(result), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
