"""Real processes: the installed console script, `python -m`, Ctrl-C, and what gets imported."""

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from kostyor_tui.server.runner import BackgroundServer
from tests.headless.conftest import ENV_VARIABLES, CliResult
from tests.headless.test_commands import run_ok

Cli = Callable[..., CliResult]

CONSOLE_SCRIPT = Path(sys.executable).with_name("kostyor-tui")


@pytest.fixture
def env(config_file: Path) -> dict[str, str]:
    """The environment of a child process: this test's config file, no outer KOSTYOR_*."""
    clean = {k: v for k, v in os.environ.items() if k not in ENV_VARIABLES}
    clean["KOSTYOR_CONFIG"] = str(config_file)
    return clean


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_the_console_script_runs_a_command(server: BackgroundServer, env: dict[str, str]) -> None:
    assert CONSOLE_SCRIPT.is_file()
    done = run(
        [
            str(CONSOLE_SCRIPT),
            "--api-url",
            server.url,
            "--command",
            "list-clusters",
            "--output",
            "json",
        ],
        env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "home_lab" in [cluster["name"] for cluster in json.loads(done.stdout)]


def test_python_dash_m_and_its_exit_code(env: dict[str, str]) -> None:
    version = run([sys.executable, "-m", "kostyor_tui", "--version"], env)
    assert version.returncode == 0
    assert version.stdout.startswith("kostyor-tui ")
    usage = run([sys.executable, "-m", "kostyor_tui", "--command", "cluster-status"], env)
    assert usage.returncode == 2
    assert usage.stdout == ""
    assert usage.stderr.count("\n") == 1
    assert "required: cluster" in usage.stderr


def test_the_headless_path_imports_neither_textual_nor_the_server(
    server: BackgroundServer, env: dict[str, str]
) -> None:
    probe = (
        "import sys\n"
        "from kostyor_tui.cli import main\n"
        f"code = main(['--api-url', {server.url!r}, '--command', 'cluster-status', 'home_lab'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'rich', 'uvicorn', 'starlette') or m.startswith('kostyor_tui.server') "
        "or m in ('kostyor_tui.app', 'kostyor_tui.service'))\n"
        "print(repr((code, heavy)), file=sys.stderr)\n"
    )
    done = run([sys.executable, "-c", probe], env)
    assert "home_lab" in done.stdout
    assert done.stderr.strip() == "(0, [])"


def test_ctrl_c_during_watch_exits_130_quietly(
    server_factory: Callable[..., BackgroundServer], cli: Cli, env: dict[str, str]
) -> None:
    # Steps of 5 s: the upgrade is still running when the watch is interrupted.
    server = server_factory(step_seconds=5.0)
    upgrade = run_ok(cli, server, "upgrade-cluster", "home_lab", "newton", "--output", "json")
    argv = [
        str(CONSOLE_SCRIPT),
        "--api-url",
        server.url,
        "--command",
        "upgrade-status",
        upgrade.json["id"],
        "--watch",
    ]
    with subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        first_line: list[str] = []
        reader = threading.Thread(target=lambda: first_line.append(child.stdout.readline()))
        reader.start()
        reader.join(30)
        assert first_line and "UPGRADE IN PROGRESS" in first_line[0]
        child.send_signal(signal.SIGINT)
        code = child.wait(30)
        stderr = child.stderr.read()
    assert code == 130
    assert stderr == ""
