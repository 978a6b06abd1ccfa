"""`kostyor-tui web` lets nobody in without its token, and listens on loopback unless told."""

import httpx
import pytest

from kostyor_tui.cli import main
from kostyor_tui.errors import UsageError
from kostyor_tui.web import ConsoleOptions, check_host
from tests.web.conftest import WebProcess

COOKIE = "kostyor_web_token"


def _cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={token}"}


def test_every_request_needs_the_token(web, server) -> None:
    served: WebProcess = web("--api-url", server.url)
    with httpx.Client(base_url=served.base, timeout=10) as client:
        assert client.get("/").status_code == 403
        assert client.get("/ws").status_code == 403
        assert client.get("/?token=" + "x" * len(served.token)).status_code == 403
        assert client.get("/ws", headers={"Cookie": f"{COOKIE}=wrong"}).status_code == 403
        # The token in the URL becomes a cookie, and the browser is sent on without it.
        welcome = client.get(f"/?token={served.token}")
        assert welcome.status_code == 303
        assert welcome.headers["location"] == "/"
        cookie = welcome.headers["set-cookie"]
        assert f"{COOKIE}={served.token}" in cookie
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        page = client.get("/", headers=_cookie(served.token))
        assert page.status_code == 200
        # The page's websocket URL is the address the browser used (a tunnel's port works).
        host = served.base.split("//", 1)[1]
        assert f'data-session-websocket-url="ws://{host}/ws"' in page.text
        # A page of another origin cannot drive the console with the browser's cookie.
        hijack = client.get(
            "/ws", headers={**_cookie(served.token), "Origin": "http://evil.example"}
        )
        assert hijack.status_code == 403
        # The static assets need nothing (they hold no data).
        assert client.get("/static/js/textual.js").status_code == 200
    assert served.token not in served.log_path.read_text().split("\n", 1)[1]


def test_a_non_loopback_host_is_refused_without_allow_remote(capsys) -> None:
    code = main(["web", "--host", "0.0.0.0"])
    assert code == 2
    err = capsys.readouterr().err
    assert "'0.0.0.0' is not a loopback address" in err
    assert "--allow-remote" in err
    with pytest.raises(UsageError):
        check_host("192.0.2.10", allow_remote=False)
    check_host("192.0.2.10", allow_remote=True)
    for loopback in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        check_host(loopback, allow_remote=False)


def test_each_console_is_started_with_the_same_options(tmp_path) -> None:
    options = ConsoleOptions(
        config=tmp_path / "my config.toml",
        profile="east",
        api_url="http://127.0.0.1:9/",
        insecure=True,
        read_only=True,
        refresh=2.5,
    )
    command = options.command()
    assert command.endswith(
        f"-m kostyor_tui --config '{tmp_path / 'my config.toml'}' --profile east "
        "--insecure --read-only --refresh 2.5"
    )
    # The URL (it may hold a password) by the environment, never on the command line.
    assert options.environment() == {"KOSTYOR_API_URL": "http://127.0.0.1:9/"}
    assert "127.0.0.1:9" not in command
