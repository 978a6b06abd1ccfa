"""A one-line description of the machine a benchmark ran on."""

import os
import platform
import sys
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe() -> str:
    """CPU model, cores available to this process, OS and Python version."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 0
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return f"{cpu_model()}, {cores} cores, {platform.system()} {platform.release()}, {python}"


if __name__ == "__main__":
    print(describe(), file=sys.stdout)
