"""`list-clusters --all-profiles`: every profile's endpoint asked, a `profile` column in every
output format, and the partial-failure exit code with a stderr line per endpoint that did
not answer. Real servers over real HTTP; a listening socket that never answers stands for a
hung endpoint."""

import csv
import io
import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.commands import COMMANDS
from kostyor_tui.headless.all_profiles import EndpointAnswer, ask_every_endpoint
from kostyor_tui.headless.exit_codes import ExitCode
from kostyor_tui.server.runner import BackgroundServer
from tests.allprofiles.conftest import every_profile, profiles_for, write_profiles
from tests.headless.conftest import CliResult
from tests.support.faultproxy import FaultProxy
from tests.support.waiting import wait_until


def names_of(server: BackgroundServer) -> list[str]:
    with KostyorClient(api_url=server.url) as client:
        return sorted(cluster.name or "" for cluster in client.list_clusters())


def rows_by_profile(rows: list[dict[str, str]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row["profile"], []).append(row["name"])
    return {profile: sorted(names) for profile, names in found.items()}


@pytest.fixture
def config(tmp_path: Path, east_and_west: tuple[BackgroundServer, BackgroundServer]) -> Path:
    east, west = east_and_west
    return write_profiles(tmp_path / "config.toml", profiles_for(east, west))


def test_json_has_every_profiles_clusters_with_a_profile_field(
    cli: Callable[..., CliResult],
    config: Path,
    east_and_west: tuple[BackgroundServer, BackgroundServer],
) -> None:
    east, west = east_and_west
    result = cli(
        "--command", "list-clusters", "--all-profiles", "--config", str(config), "-f", "json"
    )
    assert result.code == 0, result.err
    assert result.err == ""
    rows = result.json
    assert list(rows[0]) == ["profile", "id", "name", "version", "status"]
    assert rows_by_profile(rows) == {"east": names_of(east), "west": names_of(west)}
    assert "east_only" in names_of(east) and "west_only" in names_of(west)


@pytest.mark.parametrize("fmt", ["table", "yaml", "csv", "value"])
def test_every_format_has_the_profile_column(
    cli: Callable[..., CliResult],
    config: Path,
    east_and_west: tuple[BackgroundServer, BackgroundServer],
    fmt: str,
) -> None:
    east, west = east_and_west
    result = cli("--command", "list-clusters", "--all-profiles", "--config", str(config), "-f", fmt)
    assert result.code == 0, result.err
    expected = {"east": names_of(east), "west": names_of(west)}
    if fmt == "yaml":
        assert rows_by_profile(yaml.safe_load(result.out)) == expected
    elif fmt == "csv":
        assert rows_by_profile(list(csv.DictReader(io.StringIO(result.out)))) == expected
    elif fmt == "value":
        # Every column, in order: profile id name version status.
        rows = [line.split(" ") for line in result.out.splitlines()]
        assert rows_by_profile([{"profile": r[0], "name": r[2]} for r in rows]) == expected
    else:
        header, *lines = result.out.splitlines()
        assert header.split() == ["profile", "name", "version", "status"]
        shown = {(line.split()[0], line.split()[1]) for line in lines if line.strip()}
        assert shown == {(p, n) for p, names in expected.items() for n in names}


def test_a_column_and_sort_of_the_profile(cli: Callable[..., CliResult], config: Path) -> None:
    result = cli(
        "--command", "list-clusters", "--all-profiles", "--config", str(config),
        "-f", "value", "-c", "profile", "--sort-column", "profile", "--sort-descending",
    )  # fmt: skip
    assert result.code == 0, result.err
    profiles = result.out.split()
    assert profiles == sorted(profiles, reverse=True)
    assert set(profiles) == {"east", "west"}


def test_an_endpoint_down_is_a_stderr_line_and_the_partial_exit_code(
    cli: Callable[..., CliResult],
    tmp_path: Path,
    east_and_west: tuple[BackgroundServer, BackgroundServer],
) -> None:
    east, west = east_and_west
    # The password written into west's URL must never reach the error line.
    west_url = west.url.replace("http://", "http://ops:s3cr3t-pw@")
    config = write_profiles(tmp_path / "config.toml", profiles_for(east, west_url))
    west.stop()
    result = cli(
        "--command", "list-clusters", "--all-profiles", "--config", str(config), "-f", "json"
    )
    assert result.code == ExitCode.PARTIAL == 8
    # The endpoint that answered is printed all the same.
    assert rows_by_profile(result.json) == {"east": names_of(east)}
    (line,) = result.error_lines
    assert line.startswith("kostyor-tui: error: profile 'west': Could not "), line
    assert "s3cr3t-pw" not in result.err
    assert "127.0.0.1" in line  # the usual one-line error names the endpoint


def test_every_endpoint_down_is_a_line_each(
    cli: Callable[..., CliResult],
    tmp_path: Path,
    east_and_west: tuple[BackgroundServer, BackgroundServer],
) -> None:
    east, west = east_and_west
    config = write_profiles(tmp_path / "config.toml", profiles_for(east, west))
    east.stop()
    west.stop()
    result = cli(
        "--command", "list-clusters", "--all-profiles", "--config", str(config), "-f", "json"
    )
    assert result.code == ExitCode.PARTIAL
    assert json.loads(result.out) == []
    assert [line.split(":")[2] for line in result.error_lines] == [
        " profile 'east'",
        " profile 'west'",
    ]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--profile", "east"], "leave out --profile"),
        (["--api-url", "http://127.0.0.1:9"], "leave out --api-url"),
        (["-c", "region"], "unknown column 'region'; columns: profile, id"),
    ],
)
def test_flags_that_pick_one_endpoint_are_usage_errors(
    cli: Callable[..., CliResult], config: Path, extra: list[str], expected: str
) -> None:
    result = cli("--command", "list-clusters", "--all-profiles", "--config", str(config), *extra)
    assert result.code == ExitCode.USAGE
    assert expected in result.err
    assert result.out == ""


def test_only_list_clusters_takes_it(cli: Callable[..., CliResult], config: Path) -> None:
    result = cli("--command", "list-upgrades", "--all-profiles", "--config", str(config))
    assert result.code == ExitCode.USAGE
    assert "unrecognized arguments: --all-profiles" in result.err


@pytest.fixture
def hung_endpoint() -> Iterator[socket.socket]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        yield listener
    finally:
        listener.close()


def test_a_hung_endpoint_does_not_hold_up_the_others(
    tmp_path: Path,
    east_and_west: tuple[BackgroundServer, BackgroundServer],
    hung_endpoint: socket.socket,
) -> None:
    east, _ = east_and_west
    port = hung_endpoint.getsockname()[1]
    with FaultProxy(east.url) as proxy:
        # The hung endpoint first, with a timeout far beyond this test: asked one after
        # the other, east would not be asked before the hung one gave up.
        profiles = profiles_for(f"http://127.0.0.1:{port}", proxy.url)
        profiles["east"]["timeout"] = 300
        config = write_profiles(tmp_path / "config.toml", profiles)
        answers: list[EndpointAnswer] = []
        asking = threading.Thread(
            target=lambda: answers.extend(
                ask_every_endpoint(
                    COMMANDS["list-clusters"], {}, every_profile(config), read_only=False
                )
            )
        )
        asking.start()
        try:
            wait_until(lambda: proxy.count("GET", r"^/clusters$") == 1, "the live endpoint asked")
            assert asking.is_alive() and not answers  # the hung one still holds its thread
        finally:
            # The hung endpoint's connection is taken and dropped: its client fails.
            connection, _ = hung_endpoint.accept()
            connection.close()
            asking.join(timeout=60)
    hung, live = answers
    assert (hung.profile, hung.rows, hung.error is not None) == ("east", (), True)
    assert live.profile == "west" and live.error is None
    assert sorted(row.name or "" for row in live.rows) == names_of(east)
