"""Passwords and tokens never reach stdout or stderr, whatever the command and outcome."""

import socket
from collections.abc import Callable

import pytest

from kostyor_tui.server.runner import BackgroundServer
from tests.headless.conftest import CliResult
from tests.headless.test_commands import run_ok
from tests.support.faultproxy import Fault, FaultProxy

Cli = Callable[..., CliResult]

PASSWORD = "pw-Zebra-7731-secret"
TOKEN = "tok-Quartz-5512-secret"


@pytest.fixture
def auth_server(server_factory: Callable[..., BackgroundServer]) -> BackgroundServer:
    return server_factory(auth=("operator", PASSWORD))


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOSTYOR_USERNAME", "operator")
    monkeypatch.setenv("KOSTYOR_PASSWORD", PASSWORD)
    monkeypatch.setenv("KOSTYOR_TOKEN", TOKEN)


def assert_no_secret(result: CliResult) -> None:
    for secret in (PASSWORD, TOKEN):
        assert secret not in result.out
        assert secret not in result.err


@pytest.mark.usefixtures("credentials")
def test_no_secret_in_any_output(auth_server: BackgroundServer, cli: Cli) -> None:
    url = auth_server.url
    upgrade = run_ok(cli, auth_server, "upgrade-cluster", "staging", "ocata", "--output", "json")
    upgrade_id = upgrade.json["id"]
    outputs = [upgrade]
    for output in ("table", "json"):
        for argv in (
            ["list-clusters"],
            ["cluster-status", "staging"],
            ["cluster-component-list", "staging"],
            ["list-hosts", "staging"],
            ["check-upgrade", "home_lab"],
            ["list-upgrade-versions", "home_lab"],
            ["list-discovery-methods"],
            ["list-upgrades"],
            ["upgrade-status", upgrade_id, "--watch"],
        ):
            outputs.append(run_ok(cli, auth_server, *argv, "--output", output))
    # Failures of every kind, each with the credentials configured.
    failures = [
        cli("--api-url", url, "--command", "cluster-status", "nowhere"),
        cli("--api-url", url, "--command", "upgrade-cluster", "home_lab", "mitaka"),
        cli("--api-url", url, "--command", "upgrade-cluster", "home_lab", "x", "bad"),
        cli("--api-url", url, "--read-only", "--command", "upgrade-cancel", "home_lab"),
        cli("--api-url", closed_port_url(), "--command", "list-clusters"),
    ]
    with FaultProxy(url) as proxy:
        proxy.inject(Fault.status_500_html(method="GET", path=r"^/clusters$"))
        failures.append(cli("--api-url", proxy.url, "--command", "list-clusters"))
    assert [result.code for result in failures] == [3, 4, 2, 4, 6, 7]
    config = [cli("config", "show"), cli("config", "show", "--output", "json")]
    assert all(result.code == 0 for result in config)
    assert "********" in config[0].out
    for result in outputs + failures + config:
        assert_no_secret(result)


def test_a_rejected_password_is_not_repeated(
    auth_server: BackgroundServer, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOSTYOR_USERNAME", "operator")
    monkeypatch.setenv("KOSTYOR_PASSWORD", PASSWORD + "-typo")
    result = cli("--api-url", auth_server.url, "--command", "list-clusters")
    assert result.code == 5
    assert PASSWORD not in result.err
    assert result.out == ""


def test_credentials_in_the_url_are_never_shown(cli: Cli) -> None:
    url = closed_port_url().replace("http://", f"http://operator:{PASSWORD}@")
    result = cli("--api-url", url, "--command", "list-clusters")
    assert result.code == 6
    assert_no_secret(result)


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"
