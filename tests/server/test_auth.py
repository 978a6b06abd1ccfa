"""`--auth USER:PASSWORD`: HTTP Basic on every request, 401 JSON otherwise."""

from pathlib import Path

import httpx
import pytest

from tests.support.servers import ServerProcess

USER, PASSWORD = "operator", "s3cret-Pa55"


@pytest.mark.parametrize(
    "auth",
    [None, (USER, "wrong"), ("someone", PASSWORD), (USER, PASSWORD + "x")],
    ids=["none", "wrong-password", "wrong-user", "longer-password"],
)
def test_requests_without_valid_credentials_get_401(server_factory, auth) -> None:
    server = server_factory(auth=(USER, PASSWORD))
    for method, path in (("GET", "/clusters"), ("POST", "/upgrades"), ("GET", "/nope")):
        response = httpx.request(method, server.url + path, auth=auth, json={})
        assert response.status_code == 401
        assert response.json()["message"].startswith("Authentication required")
        assert response.headers["www-authenticate"].startswith("Basic")
        assert PASSWORD not in response.text


def test_malformed_authorization_headers_get_401(server_factory) -> None:
    server = server_factory(auth=(USER, PASSWORD))
    for header in ("Basic !!!notbase64", "Bearer abc", "Basic", f"{USER}:{PASSWORD}"):
        response = httpx.get(server.url + "/clusters", headers={"Authorization": header})
        assert response.status_code == 401


def test_valid_credentials_reach_the_api(server_factory) -> None:
    server = server_factory(auth=(USER, PASSWORD))
    with httpx.Client(base_url=server.url, auth=(USER, PASSWORD)) as client:
        assert len(client.get("/clusters").json()) == 4
        assert client.get("/nope").status_code == 404
        assert client.post("/upgrades", json={}).status_code == 400


def test_password_never_reaches_the_server_output(tmp_path: Path) -> None:
    process = ServerProcess(tmp_path / "auth.sqlite3", auth=(USER, PASSWORD)).start()
    try:
        assert httpx.get(process.url + "/clusters").status_code == 401
        assert httpx.get(process.url + "/clusters", auth=(USER, "guess")).status_code == 401
        assert httpx.get(process.url + "/clusters", auth=(USER, PASSWORD)).status_code == 200
    finally:
        assert process.stop() == 0
    output = process.log_path.read_text()
    assert "serving on" in output
    assert PASSWORD not in output
