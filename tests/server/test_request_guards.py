"""What every request meets first: requests a web page could make are refused, text that
would act on a terminal or cannot be stored is refused, and an unexpected error is a
JSON 500 on a connection that stays usable."""

import json
from collections.abc import Iterator

import httpx
import pytest

from kostyor_tui.server.runner import BackgroundServer
from tests.server.rawhttp import RawConnection
from tests.server.waiting import cluster_named

CONTROL_NAMES = [
    "red\x1b[31m",
    "bell\x07",
    "nul\x00",
    "two\r\nlines",
    "del\x7f",
    "csi\x9b2J",
    "lab\u202egnp.exe",  # a right-to-left override: shown as "labexe.png"
    "line\u2028separator",
]


@pytest.fixture
def client(server: BackgroundServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def upgrade_body(client: httpx.Client) -> bytes:
    home = cluster_named(client, "home_lab")
    return json.dumps({"cluster_id": home["id"], "to_version": "newton"}).encode()


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_writes_need_a_json_content_type(client: httpx.Client, content_type: str | None) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    body = upgrade_body(client)
    response = client.post("/upgrades", content=body, headers=headers)
    assert response.status_code == 415, response.text
    assert "application/json" in response.json()["message"]
    discovery = {"name": "x", "method": "simulated", "parameters": {}}
    response = client.post("/clusters/discover", content=json.dumps(discovery), headers=headers)
    assert response.status_code == 415
    staging_upgrade = client.get("/upgrades").json()[0]
    action = json.dumps({"cluster_id": staging_upgrade["cluster_id"], "action": "cancel"})
    response = client.put(f"/upgrades/{staging_upgrade['id']}", content=action, headers=headers)
    assert response.status_code == 415
    # Nothing was done.
    assert len(client.get("/upgrades").json()) == 1
    assert len(client.get("/clusters").json()) == 4


def test_json_with_a_charset_is_json(client: httpx.Client) -> None:
    headers = {"Content-Type": "Application/JSON; charset=utf-8"}
    response = client.post("/upgrades", content=upgrade_body(client), headers=headers)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    "origin",
    ["http://evil.example", "null", "http://127.0.0.1:1", "https://127.0.0.1", "not a url"],
)
def test_a_foreign_origin_is_refused(client: httpx.Client, origin: str) -> None:
    headers = {"Origin": origin, "Content-Type": "application/json"}
    response = client.post("/upgrades", content=upgrade_body(client), headers=headers)
    assert response.status_code == 403, response.text
    assert "Cross-site request refused" in response.json()["message"]
    assert client.get("/clusters", headers={"Origin": origin}).status_code == 403
    assert len(client.get("/upgrades").json()) == 1  # only the demo seed's


def test_the_servers_own_origin_is_welcome(server: BackgroundServer, client: httpx.Client) -> None:
    headers = {"Origin": server.url, "Content-Type": "application/json"}
    response = client.post("/upgrades", content=upgrade_body(client), headers=headers)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("host", ["evil.example", "evil.example:5055", "127.0.0.1.evil.example"])
def test_a_foreign_host_is_refused(client: httpx.Client, host: str) -> None:
    # What a page whose DNS name was re-pointed at 127.0.0.1 sends (DNS rebinding).
    response = client.get("/clusters", headers={"Host": host})
    assert response.status_code == 421, response.text
    assert "--allowed-host" in response.json()["message"]
    response = client.post("/upgrades", content=upgrade_body(client), headers={"Host": host})
    assert response.status_code == 421


def test_local_names_and_allowed_hosts_are_answered(server_factory) -> None:
    server = server_factory(allowed_hosts=("kostyor.example",))
    port = server.url.rsplit(":", 1)[1]
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "[::1]", "kostyor.example"):
            assert client.get("/clusters", headers={"Host": host}).status_code == 200, host
        # Behind a TLS reverse proxy that passes its own name on.
        headers = {"Host": "kostyor.example", "Origin": "https://kostyor.example"}
        assert client.get("/clusters", headers=headers).status_code == 200
        assert client.get("/clusters", headers={"Host": "other.example"}).status_code == 421


@pytest.mark.parametrize("name", CONTROL_NAMES)
def test_control_characters_in_names_are_refused(client: httpx.Client, name: str) -> None:
    body = {"name": name, "method": "simulated", "parameters": {"computes": "1"}}
    response = client.post("/clusters/discover", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["errors"]["name"] == [
        "must not hold control characters (such as NUL, BEL, ESC, CR, LF or a"
        " right-to-left override)"
    ]
    assert len(client.get("/clusters").json()) == 4


@pytest.mark.parametrize(
    "raw",
    [
        '{"name": "\\ud800", "method": "simulated", "parameters": {}}',
        '{"name": "a\\udfffb", "method": "simulated", "parameters": {}}',
        '{"name": "x", "method": "simulated", "parameters": {"\\ud800": "1"}}',
        '{"name": "x", "method": "simulated", "parameters": {"computes": "\\ud800"}}',
        '{"name": "x", "method": "simulated", "parameters": {}, "\\ud800": 1}',
        '{"name": "x", "method": "\\ud800", "parameters": {}}',
    ],
)
def test_lone_surrogates_are_400_not_500(client: httpx.Client, raw: str) -> None:
    headers = {"Content-Type": "application/json"}
    response = client.post("/clusters/discover", content=raw.encode(), headers=headers)
    assert response.status_code == 400, response.text
    assert "\\ud800" not in response.text and "\\udfff" not in response.text
    assert len(client.get("/clusters").json()) == 4


def test_lone_surrogates_in_upgrades_and_actions_are_400(client: httpx.Client) -> None:
    headers = {"Content-Type": "application/json"}
    home = cluster_named(client, "home_lab")
    for raw in (
        '{"cluster_id": "\\ud800", "to_version": "newton"}',
        f'{{"cluster_id": "{home["id"]}", "to_version": "newton", "driver": "\\ud800"}}',
        f'{{"cluster_id": "{home["id"]}", "to_version": "\\udc00"}}',
    ):
        assert client.post("/upgrades", content=raw, headers=headers).status_code == 400, raw
    upgrade = client.get("/upgrades").json()[0]["id"]
    raw = '{"action": "pause\\ud800"}'
    assert client.put(f"/upgrades/{upgrade}", content=raw, headers=headers).status_code == 400


def test_after_a_500_the_same_connection_serves_the_next_request(
    server: BackgroundServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No route fails on cue, so this test makes one fail: the server's own store,
    # patched to raise what a bug would. Everything else is the real server.
    def broken() -> list:
        raise RuntimeError("a bug")

    monkeypatch.setattr(server.store, "list_clusters", broken)
    with RawConnection(server.url) as connection:
        failed = connection.request("GET", "/clusters")
        assert failed.status == 500
        assert failed.headers["content-type"] == "application/json"
        assert "server's log" in failed.json()["message"]
        assert failed.headers.get("connection") != "close"
        # The same socket: the server neither closed it nor left it unusable.
        following = connection.request("GET", "/list-upgrade-versions")
        assert following.status == 200
        assert "newton" in following.json()
