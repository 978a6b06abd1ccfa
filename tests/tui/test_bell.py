"""The terminal bell rings when an upgrade fails, pauses or ends, unless the profile says
`bell = false`; a toast says which cluster either way.

A terminal bell cannot be observed from a test (it is a BEL written to the terminal, which
the test driver does not have): `App.bell` is replaced by a recorder, nothing else is."""

from pathlib import Path

import pytest
from textual.widgets import Button

from kostyor_tui.app import KostyorApp
from kostyor_tui.config import load_settings
from kostyor_tui.domain.statuses import Status
from tests.tui.conftest import (
    TEST_POLL_INTERVAL,
    Notices,
    select_cluster,
    start_upgrade_via_dialog,
    upgrade_status,
    wait_for,
)


def app_with_bell(tmp_path: Path, api_url: str, bell: bool) -> KostyorApp:
    config = tmp_path / "kostyor-tui-bell.toml"
    config.write_text(
        'default_profile = "test"\n'
        "[profiles.test]\n"
        f'api_url = "{api_url}"\n'
        f"poll_interval = {TEST_POLL_INTERVAL}\n"
        f"bell = {'true' if bell else 'false'}\n"
    )
    return KostyorApp(load_settings(config_path=config, environ={}))


@pytest.fixture
def rings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(KostyorApp, "bell", lambda self: calls.append(1))
    return calls


def test_the_bell_is_on_by_default(tmp_path: Path):
    config = tmp_path / "plain.toml"
    config.write_text('[profiles.default]\napi_url = "http://127.0.0.1:5055"\n')
    assert load_settings(config_path=config, environ={}).bell is True


async def test_the_bell_rings_when_an_upgrade_pauses_fails_and_ends(
    server_factory, tmp_path: Path, rings: list[int]
):
    server = server_factory(step_seconds=0.1, fail_host="storage-01")
    app = app_with_bell(tmp_path, server.url, bell=True)
    notices = Notices()
    async with app.run_test(size=(120, 40), notifications=True, message_hook=notices) as pilot:
        cluster_id = await select_cluster(pilot, app, "home_lab")
        screen = await start_upgrade_via_dialog(pilot, app)
        assert rings == []
        pause = screen.query_one("#action-pause", Button)
        await wait_for(pilot, lambda: not pause.disabled, "Pause")
        await pilot.press("p")
        await wait_for(pilot, lambda: upgrade_status(app, cluster_id) is Status.PAUSED, "pause")
        await wait_for(pilot, lambda: len(rings) == 1, "the bell for the pause")
        # The toast is posted with the bell, and recorded once the app handles it.
        await wait_for(pilot, lambda: notices.any("The upgrade of home_lab is paused"), "toast")
        resume = screen.query_one("#action-continue", Button)
        await wait_for(pilot, lambda: not resume.disabled, "Continue")
        await pilot.press("c")
        await wait_for(pilot, lambda: upgrade_status(app, cluster_id) is Status.ERROR, "failure")
        await wait_for(pilot, lambda: len(rings) == 2, "the bell for the failure")
        await wait_for(pilot, lambda: notices.any("The upgrade of home_lab failed"), "toast")
        assert app.screen is screen
        await wait_for(pilot, lambda: not resume.disabled, "Continue")
        await pilot.press("c")
        await wait_for(
            pilot, lambda: upgrade_status(app, cluster_id) is Status.SUCCEEDED, "the end"
        )
        await wait_for(pilot, lambda: len(rings) == 3, "the bell for the end")
        await wait_for(pilot, lambda: notices.any("The upgrade of home_lab has ended"), "toast")
        assert len(rings) == 3


async def test_bell_false_keeps_the_terminal_quiet(server_factory, tmp_path: Path, rings):
    server = server_factory(step_seconds=0.05, fail_host="controller-01")
    app = app_with_bell(tmp_path, server.url, bell=False)
    notices = Notices()
    async with app.run_test(size=(120, 40), notifications=True, message_hook=notices) as pilot:
        cluster_id = await select_cluster(pilot, app, "home_lab")
        # Started as the dialog would start it: it fails at its first step, before a
        # dialog-driven test could see it running.
        await app.service.command(
            "upgrade-cluster", {"cluster": cluster_id, "to_version": "newton"}
        )
        await wait_for(pilot, lambda: upgrade_status(app, cluster_id) is Status.ERROR, "failure")
        # The toast is the proof the failure was seen; the bell stayed silent.
        await wait_for(pilot, lambda: notices.any("The upgrade of home_lab failed"), "a toast")
        assert rings == []
