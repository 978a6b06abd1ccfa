"""Headless wall time: `list-clusters` and `cluster-status` next to a bare request.

In one run, against one `kostyor-tui serve` subprocess with the demo fleet, each
round runs once each of (interleaved, so that a burst of load on this shared
machine hits all alike; the figure is the median over the rounds):

- the baseline: `python -c 'import httpx; httpx.get(URL)'` in a throwaway venv
  holding only httpx and its dependencies (no CLI extras: what a bare request
  costs, as the old kostyor-cli's requests would);
- the floor: `python -S` (no site) and `http.client`;
- the design's floor: in kostyor-tui's venv, the least any list-clusters on this
  project's two libraries does (httpcore for HTTP, pydantic at the API
  boundary): import both, create one model, send the request, validate the
  answer, print a line per cluster; nothing of kostyor-tui (which also
  validates its config file with pydantic);
- kostyor-tui installed from a wheel into a throwaway venv, with its .pyc files
  compiled as a wheel install has them, running `list-clusters` and
  `cluster-status home_lab`.

Target (issue 14): each command <= 1.0x the baseline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import (
    REPO,
    Result,
    median,
    report,
    server_process,
    temporary_directory,
)

ROUNDS = 15
RATIO_TARGET = 1.0
CLUSTER = "home_lab"
FLOOR = (
    "import http.client,sys;c=http.client.HTTPConnection(sys.argv[1],int(sys.argv[2]));"
    "c.request('GET',sys.argv[3]);r=c.getresponse();r.read()"
)

DESIGN_FLOOR = """\
import os, sys
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "1")
import httpcore
from pydantic import BaseModel, TypeAdapter
class Cluster(BaseModel):
    id: str
    name: str
    status: str | None = None
    version: str | None = None
answer = httpcore.request("GET", sys.argv[1])
clusters = TypeAdapter(list[Cluster]).validate_json(answer.content)
print("\\n".join(f"{c.name} {c.version} {c.status}" for c in clusters))
"""
DESIGN_FLOOR_NAME = "httpcore + pydantic, one model (the design's floor)"


def make_venv(path: Path, *requirements: str) -> Path:
    """A fresh venv at `path` with `requirements` installed and every .py compiled;
    returns its bin directory."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    bin_dir = path / "bin"
    subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", *requirements],
        check=True,
        cwd=REPO,
    )
    # As a wheel install leaves it (pip compiles at install time); compileall writes the
    # .pyc even under PYTHONDONTWRITEBYTECODE.
    subprocess.run(
        [str(bin_dir / "python"), "-m", "compileall", "-q", "-j", "0", str(path / "lib")],
        check=False,
        stdout=subprocess.DEVNULL,
    )
    return bin_dir


def environment(directory: Path, api_url: str) -> dict[str, str]:
    """The environment minus KOSTYOR_* and PYTHONPATH, a config file of our own, and the
    cluster-name cache in `directory`."""
    config = directory / "bench-config.toml"
    config.write_text(f'[profiles.default]\napi_url = "{api_url}"\n')
    config.chmod(0o600)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("KOSTYOR_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    env["KOSTYOR_CONFIG"] = str(config)
    env["XDG_CACHE_HOME"] = str(directory / "cache")
    return env


def run_once(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{argv} failed ({done.returncode}): {done.stderr.decode()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    rounds = parser.parse_args().rounds
    with temporary_directory() as directory:
        print("  making the throwaway venvs (httpx alone; kostyor-tui from a wheel)", flush=True)
        httpx_bin = make_venv(directory / "httpx-venv", "httpx")
        kostyor_bin = make_venv(
            directory / "kostyor-venv", "-c", str(REPO / "constraints.txt"), str(REPO)
        )
        with server_process(directory / "bench.sqlite3") as url:
            env = environment(directory, url)
            host, port = url.removeprefix("http://").split(":")
            kostyor = str(kostyor_bin / "kostyor-tui")
            commands = {
                "httpx.get (clean venv)": [
                    str(httpx_bin / "python"),
                    "-c",
                    f"import httpx; httpx.get('{url}/clusters')",
                ],
                "python -S + http.client": [
                    str(httpx_bin / "python"),
                    "-S",
                    "-c",
                    FLOOR,
                    host,
                    port.rstrip("/"),
                    "/clusters",
                ],
                DESIGN_FLOOR_NAME: [
                    str(kostyor_bin / "python"),
                    "-c",
                    DESIGN_FLOOR,
                    f"{url}/clusters",
                ],
                "list-clusters": [kostyor, "--command", "list-clusters"],
                f"cluster-status {CLUSTER}": [kostyor, "--command", "cluster-status", CLUSTER],
            }
            for argv in commands.values():  # warm the file cache and the server
                run_once(argv, env)
            samples: dict[str, list[float]] = {name: [] for name in commands}
            for _ in range(rounds):
                for name, argv in commands.items():
                    samples[name].append(run_once(argv, env))

    baseline = median(samples["httpx.get (clean venv)"])
    results = []
    for name, times in samples.items():
        spread = statistics.stdev(times) * 1000
        results.append(
            Result(
                f"{name}: wall time",
                1000 * median(times),
                "ms",
                note=f"median of {rounds} interleaved rounds, stdev {spread:.0f} ms",
            )
        )
    for name in ("list-clusters", f"cluster-status {CLUSTER}"):
        results.append(
            Result(
                f"{name} / httpx.get",
                median(samples[name]) / baseline,
                "x",
                RATIO_TARGET,
                note="installed from a wheel, with .pyc",
            )
        )
    floor = median(samples[DESIGN_FLOOR_NAME])
    results.append(
        Result(
            f"{DESIGN_FLOOR_NAME} / httpx.get",
            floor / baseline,
            "x",
            note="no kostyor-tui: a lower bound for a client on pydantic and httpcore",
        )
    )
    for name in ("list-clusters", f"cluster-status {CLUSTER}"):
        results.append(Result(f"{name} / the design's floor", median(samples[name]) / floor, "x"))
    results.append(
        Result(
            "python -S + http.client / httpx.get",
            median(samples["python -S + http.client"]) / baseline,
            "x",
        )
    )
    report("headless", results)


if __name__ == "__main__":
    main()
