"""One password and one token, searched for everywhere they could leak.

The server runs with `--auth` as a real subprocess (its log is a file); the
headless commands, `config show`, Python's logging and the console's rendered
screens (SVG, as the snapshot tests store them) are all collected and searched.
"""

import asyncio
import logging
from pathlib import Path

import pytest

from kostyor_tui.app import KostyorApp
from kostyor_tui.cli import main
from kostyor_tui.config import load_settings
from tests.headless.conftest import ENV_VARIABLES
from tests.support.servers import ServerProcess
from tests.tui.conftest import select_cluster, wait_for

USER = "operator"
PASSWORD = "pw-Everywhere-4471-secret"
TOKEN = "tok-Everywhere-9902-secret"
SECRETS = (PASSWORD, TOKEN)


def write_config(path: Path, api_url: str, password: str) -> Path:
    path.write_text(
        'default_profile = "lab"\n'
        "[profiles.lab]\n"
        f'api_url = "{api_url}"\n'
        f'username = "{USER}"\n'
        f'password = "{password}"\n'
        f'token = "{TOKEN}"\n'
        "poll_interval = 0.2\n"
    )
    path.chmod(0o600)
    return path


@pytest.fixture
def auth_server(tmp_path: Path):
    server = ServerProcess(tmp_path / "kostyor.sqlite3", auth=(USER, PASSWORD)).start()
    yield server
    server.stop()


async def test_no_secret_in_any_output_log_or_screen(
    auth_server: ServerProcess,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ENV_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    config = write_config(tmp_path / "good.toml", auth_server.url, PASSWORD)
    bad_config = write_config(tmp_path / "bad.toml", auth_server.url, PASSWORD + "-typo")
    seen: list[str] = []

    async def run(*argv: str) -> int:
        # In a thread: main() runs its own event loop.
        code = await asyncio.to_thread(main, list(argv))
        out, err = capsys.readouterr()
        seen.extend((out, err))
        return code

    # Headless: successes, a refusal, an unknown cluster, bad credentials, config show.
    good, bad = ("--config", str(config)), ("--config", str(bad_config))
    assert await run(*good, "--command", "list-clusters") == 0
    assert await run(*good, "--command", "cluster-status", "home_lab") == 0
    assert await run(*good, "--command", "upgrade-cluster", "staging", "ocata") == 0
    assert await run(*good, "--command", "upgrade-cluster", "home_lab", "liberty") == 4
    assert await run(*good, "--command", "cluster-status", "nowhere") == 3
    assert await run(*bad, "--command", "list-clusters") == 5
    assert await run(*good, "config", "show") == 0
    assert await run(*good, "config", "show", "--output", "json") == 0

    # The console, with good credentials: the main screen, hosts, help, an upgrade.
    app = KostyorApp(load_settings(config_path=config, environ={}))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await select_cluster(pilot, app, "home_lab")
        seen.append(app.export_screenshot())
        await pilot.press("t")
        await pilot.pause()
        seen.append(app.export_screenshot())
        await pilot.press("question_mark")
        await pilot.pause()
        seen.append(app.export_screenshot())

    # And with a wrong password: the failure it shows names no credential.
    app = KostyorApp(load_settings(config_path=bad_config, environ={}))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.service.connection.connected is False, "auth failure")
        await pilot.pause()
        screen = app.export_screenshot()
        assert "authentication" in screen  # spaces are &#160; in the SVG
        seen.append(screen)

    auth_server.stop()
    server_log = auth_server.log_path.read_text()
    assert "serving on" in server_log
    seen.append(server_log)
    seen.append(caplog.text)
    typo = PASSWORD + "-typo"
    for text in seen:
        for secret in (*SECRETS, typo):
            assert secret not in text
