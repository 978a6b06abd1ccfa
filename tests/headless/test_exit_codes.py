"""Every documented exit code, produced for real: one line on stderr, nothing on stdout.

Servers are the embedded one over real HTTP. Server errors and answers that
are not the API come from the fault-injecting proxy in front of it (the
embedded server fixes the real server's 500s, so they cannot happen there);
exit 1 needs a bug, so that one test plants a failing command and says so.
"""

import socket
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from kostyor_tui.commands import COMMANDS, Command
from kostyor_tui.headless.exit_codes import MEANINGS
from kostyor_tui.server.runner import BackgroundServer
from tests.headless.conftest import CliResult, write_config
from tests.headless.test_commands import cluster_named
from tests.support.faultproxy import Fault, FaultProxy

Cli = Callable[..., CliResult]


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def failure(result: CliResult, code: int) -> str:
    """The one error line of a failed run, after checking the code and the silence."""
    assert result.code == code, (result.code, result.err)
    assert result.out == ""
    assert "Traceback" not in result.err
    assert len(result.error_lines) == 1, result.err
    (line,) = result.error_lines
    assert line.startswith("kostyor-tui: error: ")
    return line.removeprefix("kostyor-tui: error: ")


def test_the_exit_codes_are_the_documented_ones() -> None:
    assert sorted(MEANINGS) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 130]


# 2: usage


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--command", "cluster-status"], "required: cluster"),
        (["--command", "no-such-command"], "unknown command 'no-such-command'"),
        (["--command"], "--command needs a command name"),
        (["--command", "list-clusters", "--output", "xml"], "invalid choice: 'xml'"),
        (["--command", "list-clusters", "-c", "nmae"], "unknown column 'nmae'; columns: id, name"),
        (["--command", "list-clusters", "--sort-column", "x"], "unknown sort column 'x'"),
        (["--command", "cluster-status", "x", "--sort-column", "id"], "unrecognized arguments"),
        (["--command", "upgrade-status", "x", "--timeout", "5"], "--timeout applies to --watch"),
        (["--command", "upgrade-status", "x", "--wait", "--timeout", "-1"], "invalid seconds"),
        (["--command", "upgrade-status", "x", "--watch", "--wait"], "do not go together"),
        (["--debug"], "--debug applies to --command only"),
        (["--command", "upgrade-cluster", "home_lab", "newton", "-c", "idd"], "unknown column"),
        (["--command", "list-clusters", "surplus"], "unrecognized arguments: surplus"),
        (["--command", "upgrade-cluster", "home_lab", "newton", "oops"], "'oops' is not of the"),
        (["--command", "discover-cluster", "simulated", "x", "=3"], "'=3' is not of the form"),
        (["--command", "discover-cluster", "simulated", "x", "a=1", "a=2"], "'a' is given twice"),
        (["cluster-status", "home_lab"], "run kostyor-tui --command cluster-status"),
        (["--output", "json"], "--output applies to --command only"),
        (["--demo", "--api-url", "http://x:1", "--command", "list-clusters"], "leave out"),
        (["--profile", "nope", "--command", "list-clusters"], "unknown profile 'nope'"),
        (["--api-url", "ftp://x", "--command", "list-clusters"], "--api-url"),
    ],
)
def test_usage_errors_exit_2(cli: Cli, argv: list[str], expected: str) -> None:
    # Nothing listens here: a usage error must be found before any request.
    result = cli(*argv) if "--api-url" in argv else cli("--api-url", closed_port_url(), *argv)
    assert expected in failure(result, 2)


def test_a_broken_config_file_exits_2_naming_the_file_and_line(cli: Cli, config_file: Path) -> None:
    write_config(config_file, "[profiles.default]\napi_url = 'http://127.0.0.1:1'\ntimeout = \n")
    line = failure(cli("--command", "list-clusters"), 2)
    assert str(config_file) in line
    assert "line 3" in line


def test_an_ambiguous_cluster_name_exits_2_listing_the_ids(
    server: BackgroundServer, cli: Cli
) -> None:
    ids = []
    for _ in range(2):
        response = httpx.post(
            f"{server.url}/clusters/discover",
            json={"name": "twin", "method": "simulated", "parameters": {"computes": "1"}},
        )
        assert response.status_code == 201
        ids.append(response.json()["id"])
    line = failure(cli("--api-url", server.url, "--command", "cluster-status", "twin"), 2)
    assert "2 clusters are named 'twin'" in line
    assert all(cluster_id in line for cluster_id in ids)
    # The id still works.
    assert cli("--api-url", server.url, "--command", "cluster-status", ids[0]).code == 0


# 3: not found


def test_an_unknown_cluster_exits_3_listing_the_known_ones(
    server: BackgroundServer, cli: Cli
) -> None:
    line = failure(cli("--api-url", server.url, "--command", "check-upgrade", "home-lab"), 3)
    assert "'home-lab'" in line
    assert "home_lab" in line and "staging" in line


def test_an_unknown_upgrade_exits_3(server: BackgroundServer, cli: Cli) -> None:
    argv = ["--api-url", server.url, "--command", "upgrade-status", "0000-no-such-upgrade"]
    assert "0000-no-such-upgrade" in failure(cli(*argv), 3)


# 4: rejected


def test_an_upgrade_the_server_refuses_exits_4_with_its_message(
    server: BackgroundServer, cli: Cli
) -> None:
    argv = ["--api-url", server.url, "--command", "upgrade-cluster", "home_lab", "mitaka"]
    line = failure(cli(*argv), 4)
    assert 'Upgrade procedure from "mitaka" to "mitaka" is not allowed.' in line
    assert (
        httpx.get(f"{server.url}/upgrades").json()[-1]["cluster_id"]
        != (cluster_named(server, "home_lab")["id"])
    )


def test_an_unknown_discovery_method_exits_4_with_the_field_errors(
    server: BackgroundServer, cli: Cli
) -> None:
    argv = ["--api-url", server.url, "--command", "discover-cluster", "magic", "x"]
    line = failure(cli(*argv), 4)
    assert "method" in line and "magic" in line


def test_an_action_invalid_now_exits_4(server: BackgroundServer, cli: Cli) -> None:
    line = failure(cli("--api-url", server.url, "--command", "upgrade-pause", "staging"), 4)
    assert "Cannot pause the upgrade of cluster staging" in line


@pytest.mark.parametrize("name", [n for n, c in COMMANDS.items() if c.mutating])
def test_read_only_refuses_every_mutating_command_with_4(
    server: BackgroundServer, cli: Cli, name: str
) -> None:
    before = httpx.get(f"{server.url}/upgrades").json()
    clusters_before = httpx.get(f"{server.url}/clusters").json()
    words = {
        "discover-cluster": ["simulated", "new_one"],
        "upgrade-cluster": ["home_lab", "newton"],
    }.get(name, ["home_lab"])
    result = cli("--api-url", server.url, "--read-only", "--command", name, *words)
    line = failure(result, 4)
    assert "refused: read-only mode is on" in line
    assert "run without --read-only" in line
    assert httpx.get(f"{server.url}/upgrades").json() == before
    assert httpx.get(f"{server.url}/clusters").json() == clusters_before


def test_read_only_allows_reading(server: BackgroundServer, cli: Cli) -> None:
    result = cli("--api-url", server.url, "--read-only", "--command", "list-clusters")
    assert result.code == 0
    assert "home_lab" in result.out


# 5: authentication


@pytest.fixture
def auth_server(server_factory: Callable[..., BackgroundServer]) -> BackgroundServer:
    return server_factory(auth=("operator", "correct horse"))


def test_no_credentials_exit_5(auth_server: BackgroundServer, cli: Cli) -> None:
    line = failure(cli("--api-url", auth_server.url, "--command", "list-clusters"), 5)
    assert "uthentication" in line or "credentials" in line


def test_a_wrong_password_exits_5(
    auth_server: BackgroundServer, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOSTYOR_USERNAME", "operator")
    monkeypatch.setenv("KOSTYOR_PASSWORD", "wrong staple")
    line = failure(cli("--api-url", auth_server.url, "--command", "list-clusters"), 5)
    assert "wrong staple" not in line


def test_the_right_password_works(
    auth_server: BackgroundServer, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOSTYOR_USERNAME", "operator")
    monkeypatch.setenv("KOSTYOR_PASSWORD", "correct horse")
    result = cli("--api-url", auth_server.url, "--command", "list-clusters")
    assert result.code == 0
    assert "home_lab" in result.out


# 6: unreachable or timed out


def test_a_closed_port_exits_6(cli: Cli) -> None:
    url = closed_port_url()
    line = failure(cli("--api-url", url, "--command", "list-clusters"), 6)
    assert url in line


def test_a_server_too_slow_exits_6(
    server: BackgroundServer, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOSTYOR_TIMEOUT", "0.5")
    with FaultProxy(server.url) as proxy:
        proxy.inject(Fault.slow(3.0, method="GET", path=r"^/clusters$"))
        line = failure(cli("--api-url", proxy.url, "--command", "list-clusters"), 6)
    assert "timed out" in line.lower() or "did not answer" in line.lower()


# 7: server or protocol error


def test_a_server_error_exits_7(server: BackgroundServer, cli: Cli) -> None:
    with FaultProxy(server.url) as proxy:
        proxy.inject(Fault.status_500_json(method="GET", path=r"^/clusters$"))
        line = failure(cli("--api-url", proxy.url, "--command", "list-clusters"), 7)
    assert "Internal Server Error" in line


def test_html_where_json_was_expected_exits_7(server: BackgroundServer, cli: Cli) -> None:
    page = b"<html><title>Welcome to nginx</title></html>"
    with FaultProxy(server.url) as proxy:
        proxy.inject(Fault.respond(200, page, "text/html", method="GET", path=r"^/clusters$"))
        line = failure(cli("--api-url", proxy.url, "--command", "list-clusters"), 7)
    assert "HTML" in line


# 1: a bug


def test_an_unexpected_exception_exits_1_in_one_line(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Planted: no real input makes kostyor-tui fail this way (that would be a bug).
    def broken(context: object, arguments: object) -> None:
        raise RuntimeError("planted failure")

    original = COMMANDS["list-discovery-methods"]
    monkeypatch.setitem(
        COMMANDS,
        "list-discovery-methods",
        Command(original.name, original.summary, broken, original.arguments),
    )
    line = failure(cli("--api-url", closed_port_url(), "--command", "list-discovery-methods"), 1)
    assert line == (
        "unexpected RuntimeError: planted failure (a bug in kostyor-tui; please report it)"
    )
