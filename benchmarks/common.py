"""Shared by the benchmarks: results, a server subprocess, an isolated environment.

Every benchmark script prints its figures for a human and, last, one line
`RESULTS <json>` that `run_all.py` collects into RESULTS.md.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from kostyor_tui.server.process import ServerProcess

REPO = Path(__file__).resolve().parent.parent
CONSOLE_SCRIPT = Path(sys.executable).with_name("kostyor-tui")


@dataclass
class Result:
    """One measured figure and its target, if it has one (lower is better)."""

    name: str
    value: float
    unit: str
    target: float | None = None
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.value <= self.target

    def target_text(self) -> str:
        """The target as RESULTS.md shows it: "< 0.3 s", or "0" for none at all."""
        if self.target is None:
            return ""
        if self.target == 0:
            return "0"
        return f"< {self.target:g} {self.unit}"

    def verdict(self) -> str:
        """ "met", "missed by 23%" (by how many, against a target of none), or ""."""
        if self.target is None:
            return ""
        if self.met:
            return "met"
        if self.target == 0:
            return f"missed by {self.value:g}"
        return f"missed by {100 * (self.value / self.target - 1):.0f}%"

    def line(self) -> str:
        target = f"  (target {self.target_text()}: {self.verdict()})" if self.target_text() else ""
        note = f"  [{self.note}]" if self.note else ""
        return f"{self.name}: {self.value:.3g} {self.unit}{target}{note}"


def report(benchmark: str, results: list[Result]) -> None:
    """Print the figures, then the machine-readable line for run_all.py."""
    from benchmarks.machine import describe

    print(f"== {benchmark} on {describe()}")
    for result in results:
        print("  " + result.line())
    payload = {"benchmark": benchmark, "results": [asdict(r) for r in results]}
    print("RESULTS " + json.dumps(payload), flush=True)


def isolated_env(config_dir: Path, api_url: str, poll_interval: float = 2.0) -> dict[str, str]:
    """The process environment minus KOSTYOR_*, with a config file of our own."""
    config = config_dir / "bench-config.toml"
    config.write_text(
        f'[profiles.default]\napi_url = "{api_url}"\npoll_interval = {poll_interval}\n'
    )
    config.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOSTYOR_")}
    env["KOSTYOR_CONFIG"] = str(config)
    env["PYTHONPATH"] = str(REPO)
    return env


@contextmanager
def server_process(
    db_path: Path, *, seed: str = "demo", step_seconds: float = 1.0
) -> Iterator[str]:
    """The embedded server (`ServerProcess`) on a free port; yields its URL, stops it after."""
    server = ServerProcess(db_path, seed=seed, step_seconds=step_seconds)
    server.start(timeout=60)
    try:
        yield server.url
    finally:
        server.stop()


@contextmanager
def temporary_directory() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="kostyor-bench-") as directory:
        yield Path(directory)


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2
