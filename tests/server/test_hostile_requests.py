"""Requests a hostile client sends, answered 400 and never 500, in both modes: numbers
Python will not read, `since` values that are digits only to `str.isdigit`, text too long
to list again and again; an inventory whose groups chain deeper than recursion goes. And
what the server logs about a request cannot act on the terminal showing its log."""

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from kostyor_tui.server import upstream
from kostyor_tui.server.runner import BackgroundServer, PrintableFormatter
from kostyor_tui.server.validation import MAX_PARAMETER_LENGTH, MAX_TEXT_LENGTH
from tests.support.servers import running_server

# Python reads no integer of over 4,300 digits (sys.int_info.default_max_str_digits).
HUGE_NUMBER = "9" * 5000
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module", params=[upstream.FIXED, upstream.UPSTREAM])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BackgroundServer]:
    db_path = tmp_path_factory.mktemp("hostile") / "hostile.sqlite3"
    with running_server(db_path, behave=request.param, step_seconds=60) as server:
        yield server


@pytest.fixture
def client(server: BackgroundServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("POST", "/clusters/discover", "name"),
        ("POST", "/upgrades", "to_version"),
        ("PUT", "/upgrades/any-id", "action"),
    ],
)
def test_a_number_too_long_to_read_is_a_400(
    server: BackgroundServer, client: httpx.Client, method: str, path: str, field: str
) -> None:
    body = f'{{"{field}": {HUGE_NUMBER}}}'
    response = client.request(method, path, content=body, headers=JSON)
    assert response.status_code == 400, response.text
    assert response.json()["message"] == "The request body holds a number too long to read."
    if server.options.behave == upstream.UPSTREAM:
        assert response.headers["connection"] == "close"


def test_a_name_longer_than_the_real_servers_column_is_refused(client: httpx.Client) -> None:
    def discover(name: str, **parameters: str) -> httpx.Response:
        body = {"name": name, "method": "simulated", "parameters": parameters}
        return client.post("/clusters/discover", json=body)

    response = discover("n" * (MAX_TEXT_LENGTH + 1))
    assert response.status_code == 400
    assert response.json()["errors"]["name"] == [f"max length is {MAX_TEXT_LENGTH}"]
    response = discover("small", computes="1" * (MAX_PARAMETER_LENGTH + 1))
    assert response.status_code == 400
    assert response.json()["errors"]["parameters"] == [
        f"value of 'computes': max length is {MAX_PARAMETER_LENGTH}"
    ]
    longest = discover("n" * MAX_TEXT_LENGTH, controllers="1", computes="1", storage="0")
    assert longest.status_code == 201, longest.text


def test_since_is_a_count_of_ascii_digits(tmp_path: Path) -> None:
    # The step log is the default mode's, beyond the real server's API.
    with (
        running_server(tmp_path / "db.sqlite3", step_seconds=60) as fixed,
        httpx.Client(base_url=fixed.url) as client,
    ):
        steps = f"/upgrades/{client.get('/upgrades').json()[0]['id']}/steps"
        for since in ["²", "١", "99999999999999999999", "-1", "1.5", ""]:
            response = client.get(steps, params={"since": since})
            assert response.status_code == 400, (since, response.text)
            assert response.json()["message"] == "since must be a number of steps already seen"
        assert client.get(steps, params={"since": "999999999999999999"}).json() == []


def inventory(groups: dict[str, object], hostvars: dict[str, object]) -> str:
    return json.dumps({**groups, "_meta": {"hostvars": hostvars}})


@contextmanager
def discovered_from(tmp_path: Path, text: str) -> Iterator[tuple[httpx.Client, httpx.Response]]:
    """The answer to openstack-ansible discovery of an inventory file holding `text`, on
    an empty server reading inventories from `tmp_path`; and a client of that server."""
    path = tmp_path / "inventory.json"
    path.write_text(text)
    with (
        running_server(tmp_path / "db.sqlite3", seed="empty", inventory_dirs=(tmp_path,)) as srv,
        httpx.Client(base_url=srv.url) as client,
    ):
        parameters = {"inventory": str(path)}
        body = {"name": "osa", "method": "openstack-ansible", "parameters": parameters}
        yield client, client.post("/clusters/discover", json=body)


def test_an_inventory_chained_deeper_than_recursion_is_read(tmp_path: Path) -> None:
    depth = sys.getrecursionlimit() * 5
    groups: dict[str, object] = {"keystone": {"children": ["level-0"]}}
    for level in range(depth):
        groups[f"level-{level}"] = {"children": [f"level-{level + 1}"]}
    groups[f"level-{depth}"] = {"hosts": ["infra1_keystone_container"]}
    hostvars = {"infra1_keystone_container": {"physical_host": "infra1"}}
    with discovered_from(tmp_path, inventory(groups, hostvars)) as (client, response):
        assert response.status_code == 201, response.text
        hosts = client.get(f"/clusters/{response.json()['id']}/hosts").json()
        assert [host["hostname"] for host in hosts] == ["infra1"]


def test_an_inventory_holding_a_number_too_long_to_read_is_a_400(tmp_path: Path) -> None:
    text = f'{{"keystone": ["h1"], "_meta": {{"hostvars": {{"h1": {HUGE_NUMBER}}}}}}}'
    with discovered_from(tmp_path, text) as (_, response):
        assert response.status_code == 400, response.text
        assert response.json()["errors"]["parameters"] == [
            "inventory: holds a number too long to read"
        ]


def test_a_logged_request_path_cannot_act_on_the_terminal() -> None:
    # What `serve` logs with (its stderr is a terminal): formatted here, as no request can
    # make the server fail unexpectedly on purpose.
    formatter = PrintableFormatter("%(levelname)s %(message)s")
    hostile = "/upgrades/\x1b[2J\x1b]0;PWNED\x07\r\n2026-01-01 CRITICAL forged"
    try:
        raise RuntimeError(f"failed on {hostile}")
    except RuntimeError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "kostyor_tui.server.guards",
        logging.ERROR,
        __file__,
        1,
        "Unexpected error on %s %s",
        ("PUT", hostile),
        exc_info,
    )
    lines = formatter.format(record).split("\n")
    assert lines[0] == (
        "ERROR Unexpected error on PUT /upgrades/\\e[2J\\e]0;PWNED\\x07\\r\\n2026-01-01"
        " CRITICAL forged"
    )
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == (
        "RuntimeError: failed on /upgrades/\\e[2J\\e]0;PWNED\\x07\\r\\n2026-01-01 CRITICAL forged"
    )
    assert not any(char in line for line in lines for char in "\x1b\x07\r")


def test_a_logged_exception_group_cannot_act_on_the_terminal() -> None:
    # anyio's task groups raise exception groups, whose nested messages print indented.
    formatter = PrintableFormatter("%(levelname)s %(message)s")
    try:
        raise ExceptionGroup("unhandled", [ValueError("bad \x1b[2J\r\nCRITICAL forged")])
    except ExceptionGroup:
        exc_info = sys.exc_info()
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "Unexpected error", (), exc_info)
    lines = formatter.format(record).split("\n")
    assert not any(char in line for line in lines for char in "\x1b\r")
    assert not any(line.lstrip(" |").startswith("CRITICAL forged") for line in lines)
