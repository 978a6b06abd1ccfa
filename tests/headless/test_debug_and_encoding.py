"""--debug, encodings of stdout and of arguments, and what `--version` and `--help` import.

Real processes where the process's own streams and argv matter (an ASCII stdout, a
byte that is not UTF-8 in argv, `python -X importtime`).
"""

import base64
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from kostyor_tui.server.runner import BackgroundServer
from tests.headless.conftest import ENV_VARIABLES, CliResult
from tests.support.canned import canned_server, json_answer

Cli = Callable[..., CliResult]

PASSWORD = "correct horse battery"


@pytest.fixture
def env(config_file: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in ENV_VARIABLES}
    clean["KOSTYOR_CONFIG"] = str(config_file)
    return clean


def debug_lines(result: CliResult) -> list[str]:
    return [
        line.removeprefix("kostyor-tui: debug: ")
        for line in result.err.splitlines()
        if line.startswith("kostyor-tui: debug: ")
    ]


def test_debug_shows_each_exchange_and_no_secret(
    server_factory: Callable[..., BackgroundServer], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = server_factory(auth=("operator", PASSWORD))
    monkeypatch.setenv("KOSTYOR_USERNAME", "operator")
    monkeypatch.setenv("KOSTYOR_PASSWORD", PASSWORD)
    result = cli(
        "--api-url",
        server.url,
        "--debug",
        "--command",
        "upgrade-cluster",
        "home_lab",
        "newton",
        "-f",
        "value",
        "-c",
        "status",
    )
    assert result.code == 0, result.err
    # stdout is still only the data.
    assert result.out == "UPGRADE IN PROGRESS\n"
    lines = debug_lines(result)
    assert lines[0].startswith(f"GET {server.url}/clusters → 200 in ")
    assert " ms, " in lines[0] and " bytes: [" in lines[0]
    (post,) = [line for line in lines if line.startswith("POST ")]
    assert post.startswith(f'POST {server.url}/upgrades {{"cluster_id": "')
    assert '"to_version": "newton"} → 201 in ' in post
    # Bodies are cut short.
    assert all(len(line) < 700 for line in lines)
    basic = base64.b64encode(f"operator:{PASSWORD}".encode()).decode()
    assert PASSWORD not in result.err and basic not in result.err


def test_debug_redacts_secrets_in_bodies_and_shows_failures(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "s3cr3t-token-value"
    monkeypatch.setenv("KOSTYOR_TOKEN", token)

    def echoing(method: str, path: str, query: dict, headers: dict, body: bytes):
        if method == "GET" and path == "/clusters":
            return json_answer(200, [])
        # A server that repeats what it was sent, the token and the body included.
        echoed = f"refused {headers.get('x-auth-token')} {body.decode()}"
        return json_answer(400, {"message": echoed})

    with canned_server(echoing) as canned:
        result = cli(
            "--api-url",
            canned.url,
            "--debug",
            "--command",
            "discover-cluster",
            "simulated",
            "lab",
            "password=hunter2",
            "api_key=k-123",
            "computes=2",
            "auth_url=http://admin:hunter3@keystone:5000/v3",
        )
    assert result.code == 4
    (post,) = [line for line in debug_lines(result) if line.startswith("POST ")]
    assert (
        '"parameters": {"password": "********", "api_key": "********", "computes": "2",'
        ' "auth_url": "http://admin:********@keystone:5000/v3"}'
    ) in post
    assert "refused ********" in post
    for secret in (token, "hunter2", "k-123", "hunter3"):
        assert secret not in result.err, secret

    closed = cli("--api-url", "http://127.0.0.1:9", "--debug", "--command", "list-clusters")
    assert closed.code == 6
    (line,) = debug_lines(closed)
    assert line.startswith("GET http://127.0.0.1:9/clusters → no answer after ")
    assert "ConnectError" in line


def test_output_never_fails_on_an_encoding(server: BackgroundServer, env: dict[str, str]) -> None:
    ascii_env = {**env, "PYTHONIOENCODING": "ascii"}
    argv = [sys.executable, "-m", "kostyor_tui", "--api-url", server.url, "--command"]
    done = subprocess.run(
        [*argv, "cluster-status", "home_lab"],
        env=ascii_env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert b"versions  mitaka ?75" in done.stdout
    # A lone surrogate in a server's name (valid JSON: "\ud800") is replaced too.

    def surrogate(method: str, path: str, query: dict, headers: dict, body: bytes):
        return (
            200,
            {"Content-Type": "application/json"},
            (
                b'[{"id": "c-1", "name": "lab\\ud800\\u00e9", "version": "mitaka", '
                b'"status": "READY FOR UPGRADE"}]'
            ),
        )

    with canned_server(surrogate) as canned:
        for fmt in ("table", "json", "value"):
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "kostyor_tui",
                    "--api-url",
                    canned.url,
                    "--command",
                    "list-clusters",
                    "-f",
                    fmt,
                ],
                env=env,
                capture_output=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            assert "lab?é" in done.stdout.decode("utf-8"), fmt


def test_a_byte_that_is_not_utf8_in_an_argument_is_a_usage_error(env: dict[str, str]) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kostyor_tui",
            "--api-url",
            "http://127.0.0.1:9",
            "--command",
            b"cluster-status",
            b"lab\xff",
        ],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == b""
    assert done.stderr.decode() == (
        "kostyor-tui: error: argument 5 is not valid UTF-8 text: 'lab\\\\xff'; "
        "pass names and values as UTF-8\n"
    )


@pytest.mark.parametrize(
    "argv",
    [["--version"], ["--help"], ["--command", "upgrade-status", "--help"], ["config", "--help"]],
)
def test_version_and_help_do_not_import_the_client(argv: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "kostyor_tui", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    heavy = {
        name
        for name in imported
        if name.split(".")[0] in ("pydantic", "httpcore", "yaml", "shtab", "textual", "rich")
        or name in ("kostyor_tui.api.client", "kostyor_tui.operations", "kostyor_tui.config")
    }
    assert heavy == set(), heavy
    assert "kostyor_tui.cli" in imported
