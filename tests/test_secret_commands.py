"""password_command and token_command: their own process group killed whole on a timeout,
their output capped, and token_command run again when the API refuses the token.

The token refresh is tested against the canned loopback server
(tests/support/canned.py), which answers 401 to a stale X-Auth-Token and 200 to the
fresh one: the embedded server checks HTTP Basic credentials only, never a token.
"""

import os
import sys
import textwrap
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.api.errors import AuthFailed
from kostyor_tui.config import MAX_OUTPUT_BYTES, ConfigError, load_settings, run_secret_command
from kostyor_tui.headless.exit_codes import exit_code_for
from tests.support.canned import Answer, canned_server, json_answer
from tests.support.waiting import wait_until

TOKEN_PREFIX = "tok-Fresh-5521-"


def gone(pid: int) -> bool:
    """Whether process `pid` has ended (a zombie waiting for a reaper counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def script(directory: Path, name: str, body: str) -> Path:
    path = directory / name
    path.write_text(f"#!{sys.executable}\nimport sys\n{textwrap.dedent(body)}", encoding="utf-8")
    path.chmod(0o700)
    return path


# The process group and the output cap


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_a_timeout_kills_the_whole_process_group_grandchildren_included(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    # sh starts a sleep in the background and waits for it: killing sh alone (what
    # subprocess.run does on a timeout) would leave the sleep running for 30 s.
    argv = ["sh", "-c", f"sleep 30 & echo $! > {pidfile}; wait"]
    started = time.monotonic()
    with pytest.raises(ConfigError, match=r"^password_command: 'sh' did not finish within 3 s$"):
        run_secret_command(argv, timeout=3.0)
    assert time.monotonic() - started < 20
    grandchild = int(wait_until(lambda: pidfile.is_file() and pidfile.read_text().strip(), "pid"))
    wait_until(lambda: gone(grandchild), f"the background sleep {grandchild} to be killed")


def test_output_is_capped_and_the_writer_killed(tmp_path: Path) -> None:
    endless = script(
        tmp_path,
        "endless",
        """\
        line = b"x" * 1023 + b"\\n"
        while True:
            sys.stdout.buffer.write(line)
        """,
    )
    tracemalloc.start()
    try:
        started = time.monotonic()
        with pytest.raises(ConfigError, match=r"printed more than 16 KiB") as caught:
            run_secret_command([str(endless)], what="token_command", timeout=60)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.one_line().startswith("token_command: ")
    assert "xxxx" not in caught.value.one_line()
    assert elapsed < 30  # stopped at the cap, not at the timeout
    assert peak < 4 * MAX_OUTPUT_BYTES + 256 * 1024  # nowhere near what it printed


def test_output_at_the_cap_is_read_in_full(tmp_path: Path) -> None:
    big = script(
        tmp_path,
        "big",
        f"""\
        sys.stdout.write("s3cret-first-line\\n" + "y" * ({MAX_OUTPUT_BYTES} - 18))
        """,
    )
    assert run_secret_command([str(big)]) == "s3cret-first-line"


def test_a_background_child_holding_the_output_does_not_hold_up_the_secret(
    tmp_path: Path,
) -> None:
    pidfile = tmp_path / "background.pid"
    argv = ["sh", "-c", f"echo pw-Background-1; sleep 30 & echo $! > {pidfile}"]
    try:
        started = time.monotonic()
        assert run_secret_command(argv, timeout=25) == "pw-Background-1"
        assert time.monotonic() - started < 20
    finally:
        if pidfile.is_file():
            os.kill(int(pidfile.read_text()), 9)


# token_command and the refresh on a 401


class TokenServer:
    """Canned answers: 200 for the token now valid, 401 for any other."""

    def __init__(self, valid: str, stale_barrier: threading.Barrier | None = None) -> None:
        self.valid = valid
        self.tokens: list[tuple[str, str | None]] = []
        self._barrier = stale_barrier

    def __call__(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> Answer:
        token = headers.get("x-auth-token")
        self.tokens.append((method, token))
        if token != self.valid:
            if self._barrier is not None:
                self._barrier.wait()  # every stale request is in before any is answered
            return json_answer(
                401, {"message": "The request you have made requires authentication."}
            )
        if method == "POST":
            return json_answer(
                201, {"id": "u1", "cluster_id": "c1", "to_version": "newton", "status": None}
            )
        return json_answer(200, [])


def token_settings(tmp_path: Path, url: str, *, fail_after: int | None = None):
    """Settings whose token_command prints tok-...-1, then -2, ... (a counter file)."""
    counter = tmp_path / "runs"
    lines = [
        "from pathlib import Path",
        "counter = Path(sys.argv[1])",
        "runs = int(counter.read_text()) + 1 if counter.exists() else 1",
        "counter.write_text(str(runs))",
        f"if {fail_after!r} is not None and runs > {fail_after!r}:",
        "    sys.exit(3)",
        f"print({TOKEN_PREFIX!r} + str(runs))",
    ]
    command = script(tmp_path, "get-token", "\n".join(lines) + "\n")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[profiles.default]\napi_url = "{url}"\ntoken_command = ["{command}", "{counter}"]\n'
    )
    config.chmod(0o600)
    return load_settings(config_path=config, environ={}), counter


def runs(counter: Path) -> int:
    return int(counter.read_text()) if counter.exists() else 0


def test_a_get_refused_with_a_stale_token_is_sent_again_once_with_a_fresh_one(
    tmp_path: Path,
) -> None:
    handler = TokenServer(valid=TOKEN_PREFIX + "2")
    with canned_server(handler) as server:
        settings, counter = token_settings(tmp_path, server.url)
        with KostyorClient(**settings.client_options()) as client:
            assert runs(counter) == 1  # run when the client was made
            assert client.list_clusters() == []
            assert runs(counter) == 2
            assert handler.tokens == [("GET", TOKEN_PREFIX + "1"), ("GET", TOKEN_PREFIX + "2")]
            # The fresh token is kept: no more runs while it is valid.
            assert client.list_clusters() == []
            assert runs(counter) == 2


def test_a_post_refused_with_a_stale_token_is_never_sent_again_but_can_be_retried(
    tmp_path: Path,
) -> None:
    handler = TokenServer(valid=TOKEN_PREFIX + "2")
    with canned_server(handler) as server:
        settings, counter = token_settings(tmp_path, server.url)
        with KostyorClient(**settings.client_options()) as client:
            with pytest.raises(AuthFailed) as caught:
                client.create_upgrade("c1", "newton")
            line = caught.value.one_line()
            assert "refused the token (401)" in line
            assert "token_command gave a fresh one" in line
            assert "nothing was changed: try again" in line
            assert TOKEN_PREFIX not in line
            assert exit_code_for(caught.value) == 5
            assert server.count("POST") == 1
            assert runs(counter) == 2
            # Tried again by the operator: the fresh token goes through.
            assert client.create_upgrade("c1", "newton").id == "u1"
            assert server.count("POST") == 2
            assert handler.tokens[-1] == ("POST", TOKEN_PREFIX + "2")


def test_requests_refused_together_refresh_the_token_once(tmp_path: Path) -> None:
    handler = TokenServer(valid=TOKEN_PREFIX + "2", stale_barrier=threading.Barrier(4, timeout=20))
    with canned_server(handler) as server:
        settings, counter = token_settings(tmp_path, server.url)
        with KostyorClient(**settings.client_options()) as client:
            results: list[object] = []
            threads = [
                threading.Thread(target=lambda: results.append(client.list_clusters()))
                for _ in range(4)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert results == [[], [], [], []]
            assert runs(counter) == 2


def test_a_failing_refresh_is_an_authentication_failure_naming_token_command(
    tmp_path: Path,
) -> None:
    handler = TokenServer(valid="never")
    with canned_server(handler) as server:
        settings, _ = token_settings(tmp_path, server.url, fail_after=1)
        client = KostyorClient(**settings.client_options())
        with client, pytest.raises(AuthFailed) as caught:
            client.list_clusters()
    line = caught.value.one_line()
    assert "token_command could not get a fresh one" in line
    assert "failed with exit status 3" in line
    assert server.count("GET") == 1


def test_a_static_token_is_not_retried(tmp_path: Path) -> None:
    handler = TokenServer(valid="the-good-one")
    with canned_server(handler) as server:
        client = KostyorClient(server.url, token="an-old-one")
        with client, pytest.raises(AuthFailed):
            client.list_clusters()
        assert server.count("GET") == 1


def test_token_command_through_the_headless_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kostyor_tui.cli import main
    from kostyor_tui.config import ENV_VARIABLES

    for name in ENV_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    handler = TokenServer(valid=TOKEN_PREFIX + "2")
    with canned_server(handler) as server:
        settings, counter = token_settings(tmp_path, server.url)
        assert main(["--config", str(settings.config_path), "--command", "list-clusters"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "(none)"
    assert err == ""
    assert runs(counter) == 2
