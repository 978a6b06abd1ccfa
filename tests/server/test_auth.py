"""HTTP Basic on every request (401 JSON otherwise), with credentials from --auth-file,
KOSTYOR_SERVER_AUTH or --auth; and no serving beyond loopback without them."""

from pathlib import Path

import httpx
import pytest

from kostyor_tui.server.cli import main
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


# Credentials without a password in argv; no network exposure without credentials.
# Refusals are tried with a --db that is a directory: were an argument wrongly accepted,
# the server would stop on that instead of serving for good.


def _auth_file(tmp_path: Path, mode: int, content: str = f"{USER}:{PASSWORD}\n") -> Path:
    path = tmp_path / "auth"
    path.write_text(content)
    path.chmod(mode)
    return path


def _command_line(process: ServerProcess) -> bytes:
    assert process.process is not None
    return Path(f"/proc/{process.process.pid}/cmdline").read_bytes()


def test_auth_file_and_environment_keep_the_password_out_of_the_process_list(
    tmp_path: Path,
) -> None:
    auth_file = _auth_file(tmp_path, 0o600)
    by_file = ServerProcess(tmp_path / "file.sqlite3", extra_args=["--auth-file", str(auth_file)])
    by_environment = ServerProcess(tmp_path / "environment.sqlite3", auth=(USER, PASSWORD))
    for process in (by_file, by_environment):
        process.start()
        try:
            assert PASSWORD.encode() not in _command_line(process)
            assert httpx.get(process.url + "/clusters").status_code == 401
            assert httpx.get(process.url + "/clusters", auth=(USER, PASSWORD)).status_code == 200
        finally:
            assert process.stop() == 0
        assert PASSWORD not in process.log_path.read_text()
        assert "warning" not in process.log_path.read_text()


def test_auth_on_the_command_line_still_works_and_says_it_shows(tmp_path: Path) -> None:
    process = ServerProcess(tmp_path / "argv.sqlite3", extra_args=["--auth", f"{USER}:{PASSWORD}"])
    with process:
        assert httpx.get(process.url + "/clusters", auth=(USER, PASSWORD)).status_code == 200
        assert httpx.get(process.url + "/clusters").status_code == 401
    log = process.log_path.read_text()
    assert "warning: --auth shows the password to every local user (ps)" in log
    assert PASSWORD not in log


def test_no_credentials_are_inherited_from_the_parents_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOSTYOR_SERVER_AUTH", f"{USER}:{PASSWORD}")
    with ServerProcess(tmp_path / "open.sqlite3", seed="empty") as process:
        assert httpx.get(process.url + "/clusters").status_code == 200


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o606])
def test_an_auth_file_open_to_others_is_refused(tmp_path: Path, mode: int, capsys) -> None:
    path = _auth_file(tmp_path, mode)
    with pytest.raises(SystemExit) as exit_info:
        main(["--auth-file", str(path), "--port", "0", "--db", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"{path} is open to other users (mode {mode:04o}): chmod 600 {path}" in err
    assert PASSWORD not in err


@pytest.mark.parametrize("content", ["no colon here\n", "", f":{PASSWORD}\n"])
def test_an_auth_file_without_user_and_password_is_refused(tmp_path, content, capsys) -> None:
    path = _auth_file(tmp_path, 0o600, content)
    with pytest.raises(SystemExit) as exit_info:
        main(["--auth-file", str(path), "--port", "0", "--db", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"the first line of {path} must be USER:PASSWORD" in err
    assert PASSWORD not in err and "no colon here" not in err


def test_bad_credentials_in_the_environment_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("KOSTYOR_SERVER_AUTH", "no-colon-secret")
    with pytest.raises(SystemExit) as exit_info:
        main(["--port", "0", "--db", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "KOSTYOR_SERVER_AUTH: expected USER:PASSWORD" in err
    assert "no-colon-secret" not in err


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "kostyor.example"])
def test_a_non_loopback_host_without_credentials_is_refused(
    host: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.delenv("KOSTYOR_SERVER_AUTH", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["--host", host, "--port", "0", "--db", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"refusing to serve {host} without credentials" in err
    assert "--insecure-no-auth" in err


def test_a_non_loopback_host_serves_without_credentials_only_when_told(tmp_path: Path) -> None:
    process = ServerProcess(
        tmp_path / "insecure.sqlite3",
        host="0.0.0.0",
        seed="empty",
        extra_args=["--insecure-no-auth"],
    )
    with process:
        port = process.url.rsplit(":", 1)[1]
        assert httpx.get(f"http://127.0.0.1:{port}/clusters").json() == []
    assert "warning: serving 0.0.0.0 without credentials" in process.log_path.read_text()
