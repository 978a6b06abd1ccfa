"""The real console, headless, in this process: measures one scenario for bench_console.py.

    python -m benchmarks.console_probe first-frame
    python -m benchmarks.console_probe idle --seconds 20
    python -m benchmarks.console_probe large --server-url URL

The API URL and poll interval come from the config file named by KOSTYOR_CONFIG
(the parent writes it). The app runs through `App.run_test()` (Textual's
headless driver): layout and rendering happen as in a terminal, only the bytes
are not written anywhere. Prints one line `PROBE <json>`.
"""

import argparse
import asyncio
import gc
import json
import resource
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

# Imports of the console are part of what first-frame measures: they come below,
# inside the scenario, after the process started.


def _peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _until(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.002)


class Spans:
    """CPU time of wrapped synchronous calls, per label and per thread (main or not)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(
        self, owner: Any, name: str, label: str, after: Callable[..., None] | None = None
    ) -> None:
        original = getattr(owner, name, None)
        if original is None:
            return  # the console changed: this span is simply not reported

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                where = "main" if threading.current_thread() is threading.main_thread() else "other"
                self.seconds[f"{label} ({where} thread)"] += time.thread_time() - started
                if after is not None:
                    after(*args)

        setattr(owner, name, wrapper)

    def reset(self) -> None:
        self.seconds.clear()

    def watch_garbage_collection(self) -> None:
        """Also count the collector's passes, per thread and generation (they run
        inside whatever span allocated at the time, so they overlap the others)."""
        started: dict[int, float] = {}

        def callback(phase: str, info: dict[str, int]) -> None:
            thread = threading.get_ident()
            if phase == "start":
                started[thread] = time.thread_time()
                return
            where = "main" if threading.current_thread() is threading.main_thread() else "other"
            label = f"garbage collection gen {info['generation']} ({where} thread)"
            self.seconds[label] += time.thread_time() - started.pop(thread, time.thread_time())

        gc.callbacks.append(callback)


async def first_frame() -> dict[str, Any]:
    from kostyor_tui.app import KostyorApp
    from kostyor_tui.config import load_settings

    app = KostyorApp(load_settings())
    async with app.run_test(size=(160, 50)) as pilot:
        await _until(lambda: app.screen.cluster_list.table.row_count > 0, "the cluster list")
        await pilot.pause(0)
        at = time.time()
        detail_rows = app.screen.detail.component_table.row_count
        await pilot.press("q")
    return {"data_frame_at": at, "clusters": len(app.service.clusters), "detail": detail_rows}


async def idle(seconds: float) -> dict[str, Any]:
    from kostyor_tui.app import KostyorApp
    from kostyor_tui.config import load_settings
    from kostyor_tui.service import ApiService

    polls: list[float] = []
    original = ApiService._poll_once

    async def counting(self: ApiService) -> float:
        polls.append(time.monotonic())
        return await original(self)

    ApiService._poll_once = counting  # type: ignore[method-assign]
    app = KostyorApp(load_settings())
    async with app.run_test(size=(160, 50)) as pilot:
        await _until(lambda: app.screen.detail.component_table.row_count > 0, "the detail")
        await asyncio.sleep(3.0)  # let start-up work settle
        cpu, wall = _cpu_seconds(), time.monotonic()
        window_start = len(polls)
        await asyncio.sleep(seconds)
        cpu, wall = _cpu_seconds() - cpu, time.monotonic() - wall
        polled = len(polls) - window_start
        await pilot.press("q")
    return {"cpu_percent": 100 * cpu / wall, "wall": wall, "polls": polled}


async def large(server_url: str, updates: int) -> dict[str, Any]:
    import httpx
    from textual.screen import Screen

    from benchmarks.large_fleet import LARGE_NAME
    from kostyor_tui import service as service_module
    from kostyor_tui.api.client import KostyorClient
    from kostyor_tui.app import KostyorApp
    from kostyor_tui.config import load_settings
    from kostyor_tui.domain.statuses import Status
    from kostyor_tui.screens.main import MainScreen
    from kostyor_tui.service import ApiService

    large_id: str | None = None
    polled = asyncio.Event()
    updated = asyncio.Event()
    last_seen: dict[str, object] = {}

    def after_apply(service: ApiService, cluster_id: str, *rest: object) -> None:
        snapshot = service.snapshot(cluster_id)
        if cluster_id == large_id and snapshot is not last_seen.get(cluster_id):
            last_seen[cluster_id] = snapshot
            updated.set()

    original_poll = ApiService._poll_once

    async def counted_poll(self: ApiService) -> float:
        result = await original_poll(self)
        polled.set()
        return result

    ApiService._poll_once = counted_poll  # type: ignore[method-assign]
    spans = Spans()
    spans.wrap(KostyorClient, "_answer", "decode JSON")
    spans.wrap(KostyorClient, "_parse", "validate models")
    spans.wrap(service_module, "build_snapshot", "derive progress")
    spans.wrap(ApiService, "_apply_cluster", "apply to the service", after=after_apply)
    spans.wrap(MainScreen, "_show_detail", "update widgets")
    spans.wrap(Screen, "_on_timer_update", "layout and render")
    spans.watch_garbage_collection()

    async def cycles(event: asyncio.Event, count: int) -> tuple[float, float, float]:
        """Main-thread CPU, process CPU and wall time over `count` occurrences of `event`."""
        event.clear()
        await event.wait()  # align on the end of one
        spans.reset()
        main_cpu, cpu, wall = time.thread_time(), _cpu_seconds(), time.monotonic()
        for _ in range(count):
            event.clear()
            await event.wait()
        await asyncio.sleep(0.05)  # the last one's render
        return (
            time.thread_time() - main_cpu,
            _cpu_seconds() - cpu,
            time.monotonic() - wall,
        )

    app = KostyorApp(load_settings())
    async with app.run_test(size=(160, 50)) as pilot:
        main = app.screen
        assert isinstance(main, MainScreen)
        await _until(lambda: main.cluster_list.table.row_count == 2, "the cluster list")
        await _until(lambda: main.detail.component_table.row_count > 0, "the small cluster")
        large_id = next(c.id for c in app.service.clusters if c.name == LARGE_NAME)

        def showing_large() -> bool:
            shown = main.detail.shown_snapshot
            return shown is not None and shown.cluster_id == large_id

        # Opening the large cluster's detail: cursor down, as an operator would, until
        # its summary and the visible (components) table are filled and drawn.
        spans.reset()
        opened = time.perf_counter()
        await pilot.press("down")
        await _until(showing_large, "the large detail")
        await _until(lambda: main.detail.component_table.row_count > 0, "its components")
        await pilot.pause(0)
        open_seconds = time.perf_counter() - opened
        components = main.detail.component_table.row_count
        open_spans = dict(spans.seconds)
        last_seen[large_id] = app.service.snapshot(large_id)

        # Then its hosts tab: 2,000 rows.
        switched = time.perf_counter()
        await pilot.press("t")
        await _until(lambda: main.detail.host_table.row_count == 2000, "the host table")
        await pilot.pause(0)
        hosts_tab_seconds = time.perf_counter() - switched
        await pilot.press("t")

        # Polls with nothing changed (no upgrade yet): the cost of just polling it.
        idle_main, idle_cpu, idle_wall = await cycles(polled, 3)
        idle_spans = dict(spans.seconds)

        started = await asyncio.to_thread(
            httpx.post,
            f"{server_url}/upgrades",
            json={"cluster_id": large_id, "to_version": "newton"},
            timeout=60,
        )
        started.raise_for_status()

        def in_progress() -> bool:
            snapshot = app.service.snapshot(large_id)
            return snapshot is not None and snapshot.status is Status.IN_PROGRESS

        await _until(in_progress, "the upgrade in progress")
        busy_main, busy_cpu, busy_wall = await cycles(updated, updates)
        busy_spans = dict(spans.seconds)
        moved = app.service.snapshot(large_id).progress.services_upgraded
        await pilot.press("q")
    return {
        "open_seconds": open_seconds,
        "open_spans_ms": {k: 1000 * v for k, v in open_spans.items()},
        "hosts_tab_seconds": hosts_tab_seconds,
        "components": components,
        "idle_polls": 3,
        "idle_main_thread_ms_per_poll": 1000 * idle_main / 3,
        "idle_cpu_percent": 100 * idle_cpu / idle_wall,
        "idle_wall_per_poll": idle_wall / 3,
        "idle_spans_ms_per_poll": {k: 1000 * v / 3 for k, v in idle_spans.items()},
        "updates": updates,
        "services_upgraded_at_end": moved,
        "main_thread_ms_per_update": 1000 * busy_main / updates,
        "cpu_ms_per_update": 1000 * busy_cpu / updates,
        "wall_seconds_per_update": busy_wall / updates,
        "spans_ms_per_update": {k: 1000 * v / updates for k, v in busy_spans.items()},
    }


def _record_failed_polls() -> list[str]:
    """Collect the polls that fail: figures of a console showing an error are void."""
    from kostyor_tui.service import ApiService

    failures: list[str] = []
    original = ApiService._record_failure

    def recording(self: ApiService, message: str, unreachable: bool) -> float:
        failures.append(message)
        return original(self, message, unreachable)

    ApiService._record_failure = recording  # type: ignore[method-assign]
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=["first-frame", "idle", "large"])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--server-url")
    parser.add_argument("--updates", type=int, default=5)
    args = parser.parse_args()
    failures = _record_failed_polls()
    if args.scenario == "first-frame":
        result = asyncio.run(first_frame())
    elif args.scenario == "idle":
        result = asyncio.run(idle(args.seconds))
    else:
        result = asyncio.run(large(args.server_url, args.updates))
    if failures:
        sys.exit(f"{len(failures)} polls failed during the benchmark, first: {failures[0]}")
    result["peak_rss_mb"] = _peak_rss_mb()
    print("PROBE " + json.dumps(result), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
