"""Run every benchmark, print the figures and write benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/run_all.py

Each benchmark runs in its own process (so that one's memory and CPU do not
show in another's figures) and ends with a `RESULTS <json>` line.
"""

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.common import Result  # noqa: E402
from benchmarks.machine import describe  # noqa: E402

BENCHMARKS = ("benchmarks.bench_headless", "benchmarks.bench_console")
RESULTS_FILE = REPO / "benchmarks" / "RESULTS.md"


def run(module: str) -> dict:
    print(f"-- running {module}", flush=True)
    process = subprocess.Popen(
        [sys.executable, "-m", module], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    payload = None
    for line in process.stdout:
        if line.startswith("RESULTS "):
            payload = json.loads(line.removeprefix("RESULTS "))
        else:
            print(line, end="", flush=True)
    if process.wait() != 0 or payload is None:
        raise SystemExit(f"{module} failed (exit {process.returncode})")
    return payload


def markdown(payloads: list[dict], machine: str, when: str) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Last run {when} on {machine}.",
        "Rerun with `.venv/bin/python benchmarks/run_all.py` (about fifteen minutes:"
        " four fleets of up to 10,000 hosts, two throwaway venvs).",
        "",
        "| benchmark | figure | target | verdict | notes |",
        "|---|---|---|---|---|",
    ]
    for payload in payloads:
        for fields in payload["results"]:
            result = Result(**fields)
            figure = f"{result.value:.3g} {result.unit}"
            verdict = result.verdict().replace("missed", "**missed**")
            lines.append(
                f"| {result.name} | {figure} | {result.target_text()} | {verdict} | {result.note} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    machine = describe()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"kostyor-tui benchmarks on {machine}", flush=True)
    payloads = [run(module) for module in BENCHMARKS]
    RESULTS_FILE.write_text(markdown(payloads, machine, when))
    print(f"\nwrote {RESULTS_FILE.relative_to(REPO)}")
    print(markdown(payloads, machine, when))


if __name__ == "__main__":
    main()
