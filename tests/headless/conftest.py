"""Helpers for headless tests: `main([...])` run in-process with its output captured.

Every test runs with a config file of its own (KOSTYOR_CONFIG) and no KOSTYOR_*
variables from the outer environment, so that nothing on the machine leaks in.
"""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kostyor_tui.cli import main
from kostyor_tui.config import ENV_VARIABLES

# Fast polling for `upgrade-status --watch` (the profile's minimum is 0.1 s).
POLL_INTERVAL = 0.1


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def write_config(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


@pytest.fixture(autouse=True)
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in ENV_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    path = write_config(
        tmp_path / "config.toml",
        f'[profiles.default]\nregion = "RegionTest"\npoll_interval = {POLL_INTERVAL}\n'
        "timeout = 5\n",
    )
    monkeypatch.setenv("KOSTYOR_CONFIG", str(path))
    yield path


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """`cli("--command", "list-clusters", ...)` → the exit code and what was printed."""

    def run(*argv: str) -> CliResult:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
