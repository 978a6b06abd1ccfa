"""The console against a server that behaves as the real Kostyor server does
(`serve --behave upstream`, docs/kostyor-api.md#embedded-server), over real HTTP.

What the real server does differently, and what the operator must see: it reports no
per-instance progress (docs/kostyor-api.md#quirk-no-progress), and it never finishes a
rollback, so cancel and a new upgrade sent on purpose are the way out
(docs/kostyor-api.md#lifecycle).
"""

from datetime import datetime, timedelta
from typing import Any

import httpx
from textual.widgets import Button, Input, Label, Select

from kostyor_tui.app import KostyorApp
from kostyor_tui.domain.statuses import Status
from kostyor_tui.screens.discover import DiscoverScreen
from kostyor_tui.screens.main import MainScreen
from kostyor_tui.screens.start_upgrade import StartUpgradeScreen
from kostyor_tui.screens.upgrade import UpgradeScreen
from kostyor_tui.server.runner import BackgroundServer
from kostyor_tui.widgets.keyed_table import KeyedTable
from tests.tui.conftest import (
    Notices,
    confirm,
    select_cluster,
    start_upgrade_via_dialog,
    upgrade_status,
    wait_for,
)


def label_text(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Label).render())


async def rolled_back_upgrade(
    pilot: Any, app: KostyorApp, cluster: str
) -> tuple[UpgradeScreen, str]:
    """Start an upgrade of `cluster` through the dialog and roll it back: on this server
    the rollback never ends."""
    cluster_id = await select_cluster(pilot, app, cluster)
    screen = await start_upgrade_via_dialog(pilot, app)
    detail = await confirm(pilot, app, "b")
    await wait_for(
        pilot,
        lambda: upgrade_status(app, cluster_id) is Status.ROLLBACK_IN_PROGRESS,
        "the rollback",
    )
    return screen, detail


async def test_no_progress_is_said_and_a_rollback_promises_nothing_it_cannot_keep(
    server_factory: Any, make_app: Any
) -> None:
    server: BackgroundServer = server_factory(behave="upstream")
    app = make_app(server.url)
    notices = Notices()
    async with app.run_test(size=(120, 40), message_hook=notices) as pilot:
        screen, rollback_text = await rolled_back_upgrade(pilot, app, "home_lab")
        # The dialog sent no engine: the server's node-by-node engine fails after saving
        # the upgrade (docs/kostyor-api.md#quirk-engine-raises-after-save). Said, and the
        # operator was taken to the saved upgrade rather than offered to start it again.
        assert notices.any("but the upgrade was saved")
        panel = screen.query_one("#upgrade-progress")
        await wait_for(
            pilot,
            lambda: panel.query_one("#no-progress", Label).display,
            "the no-progress note",
        )
        assert "no per-instance progress" in label_text(panel, "#no-progress")
        assert not panel.query_one("#bar-0").display  # no 0/N bar shown as a fact
        assert "this server reports no per-instance progress" in rollback_text
        assert "goes back to" not in rollback_text


async def test_no_step_is_shown_or_followed_while_it_runs(
    server_factory: Any, make_app: Any
) -> None:
    """Without progress reports or an engine named, the step is not known: no host is
    marked as the one the engine is on, and `F` has nowhere to go."""
    server: BackgroundServer = server_factory(behave="upstream")
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await select_cluster(pilot, app, "home_lab")
        screen = await start_upgrade_via_dialog(pilot, app)
        hosts = screen.query_one("#upgrade-hosts", KeyedTable)
        await wait_for(pilot, lambda: hosts.row_count > 0, "the hosts")
        assert all(str(hosts.row_cells(key)[0]) == "" for key in hosts.row_keys)
        assert screen.check_action("jump", ()) is False


async def test_the_elapsed_time_of_a_stuck_rollback_counts_on(
    server_factory: Any, make_app: Any
) -> None:
    """Nothing moves on this server, so no poll brings a change to draw: the elapsed time
    counts on all the same, on the upgrade screen and in the sidebar."""
    server: BackgroundServer = server_factory(behave="upstream")
    now = [datetime.now()]
    app = make_app(server.url, clock=lambda: now[0])
    async with app.run_test(size=(120, 40)) as pilot:
        screen, _ = await rolled_back_upgrade(pilot, app, "home_lab")
        # The console's clock only: the server sees nothing.
        now[0] = datetime.now() + timedelta(hours=1, minutes=30)
        await wait_for(
            pilot,
            lambda: "elapsed 1:" in str(screen.query_one("#upgrade-title", Label).render()),
            "the upgrade screen's elapsed time to count on",
        )
        await pilot.press("escape")
        main = app.screen
        assert isinstance(main, MainScreen)
        now[0] = datetime.now() + timedelta(hours=3, minutes=30)
        await wait_for(
            pilot,
            lambda: "⏱ 3:" in str(main.cluster_list.table.row_cells(screen.cluster_id)[2]),
            "the sidebar's elapsed time to count on",
        )


async def test_cancel_is_the_way_out_of_a_rollback_that_never_ends(
    server_factory: Any, make_app: Any
) -> None:
    server: BackgroundServer = server_factory(behave="upstream")
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        screen, _ = await rolled_back_upgrade(pilot, app, "home_lab")
        await confirm(pilot, app, "x")
        await wait_for(
            pilot,
            lambda: upgrade_status(app, screen.cluster_id) is Status.CANCELLED,
            "the cancel to take",
        )
        # Ended: its time no longer counts on.
        await wait_for(
            pilot,
            lambda: "elapsed" not in str(screen.query_one("#upgrade-title", Label).render()),
            "the title to stop counting",
        )


async def test_a_new_upgrade_during_the_endless_rollback_can_be_started_on_purpose(
    server_factory: Any, make_app: Any
) -> None:
    server: BackgroundServer = server_factory(behave="upstream")
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        screen, _ = await rolled_back_upgrade(pilot, app, "home_lab")
        rolled_back = app.service.snapshot(screen.cluster_id)
        assert rolled_back is not None and rolled_back.upgrade is not None
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, StartUpgradeScreen), "the dialog")
        dialog = app.screen
        start = dialog.query_one("#start-upgrade", Button)
        anyway = dialog.query_one("#start-anyway", Button)
        assert not anyway.display  # offered only once the lifecycle refuses
        await wait_for(pilot, lambda: not start.disabled, "the target versions")
        engine = dialog.query_one("#engine", Input)
        engine.value = "service-by-service"
        engine.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: anyway.display, "the offer to start anyway")
        message = label_text(dialog, "#start-message")
        assert "a rollback is in progress" in message
        assert isinstance(app.screen, StartUpgradeScreen)  # nothing was started
        assert app.service.snapshot(screen.cluster_id).upgrade.id == rolled_back.upgrade.id
        # From the keyboard: the refusal has just resized the dialog, and a click could
        # land where the button was before the next layout pass. The offer has the focus.
        await wait_for(pilot, lambda: app.focused is anyway, "the offer focused")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, UpgradeScreen), "the new upgrade")

        def newest() -> Any:
            snapshot = app.service.snapshot(screen.cluster_id)
            return snapshot.upgrade if snapshot else None

        await wait_for(
            pilot,
            lambda: newest() is not None and newest().id != rolled_back.upgrade.id,
            "the new upgrade in the poll",
        )
        assert upgrade_status(app, screen.cluster_id) is Status.IN_PROGRESS


async def test_the_discover_dialog_says_what_each_method_takes(
    server_factory: Any, make_app: Any
) -> None:
    """docs/kostyor-api.md#quirk-discovery-parameters: the real openstack-ansible plugin
    takes no parameters, and fails the same way every time it is given one."""
    server: BackgroundServer = server_factory(behave="upstream")
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.service.clusters, "the fleet")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DiscoverScreen), "the dialog")
        dialog = app.screen
        run = dialog.query_one("#discover-run", Button)
        await wait_for(pilot, lambda: not run.disabled, "the methods")
        method = dialog.query_one("#discover-method", Select)
        cloud = dialog.query_one("#discover-cloud", Input)

        method.value = "openstack"
        await wait_for(pilot, lambda: cloud.display, "the clouds.yaml field")
        assert "clouds.yaml" in label_text(dialog, "#discover-hint")
        # Not "none" above a hint saying what it takes: empty, the cloud gives them.
        placeholder = dialog.query_one("#discover-parameters", Input).placeholder
        assert placeholder == "empty: the cloud below gives them"

        method.value = "openstack-ansible"
        await wait_for(pilot, lambda: not cloud.display, "the clouds.yaml field hidden")
        assert "takes no parameters" in label_text(dialog, "#discover-hint")
        dialog.query_one("#discover-name", Input).value = "osa"
        parameters = dialog.query_one("#discover-parameters", Input)
        parameters.value = "inventory=/etc/openstack_deploy/inventory.json"
        parameters.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: not run.disabled, "the answer")
        message = label_text(dialog, "#discover-message")
        assert "no cluster was created" in message
        assert "try without them" in message
        assert "safe to try again" not in message


async def test_an_action_recorded_on_an_older_upgrade_is_not_credited_to_the_current_one(
    server_factory: Any, make_app: Any
) -> None:
    """docs/kostyor-api.md#quirk-action-on-oldest: the pause lands on the cancelled older
    upgrade; the current one keeps a null status and shows its cluster's."""
    server: BackgroundServer = server_factory(behave="upstream")
    with httpx.Client(base_url=server.url) as http:
        home = next(c["id"] for c in http.get("/clusters").json() if c["name"] == "home_lab")
        body = {"cluster_id": home, "to_version": "newton", "engine": "service-by-service"}
        assert http.post("/upgrades", json=body).status_code == 201
        cancel = {"cluster_id": home, "action": "cancel"}
        assert http.put("/upgrades/any", json=cancel).status_code == 200
        current = http.post("/upgrades", json=body).json()
    app = make_app(server.url)
    notices = Notices()
    async with app.run_test(size=(120, 40), notifications=True, message_hook=notices) as pilot:
        await select_cluster(pilot, app, "home_lab")
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, UpgradeScreen), "the upgrade view")
        pause = app.screen.query_one("#action-pause", Button)
        await wait_for(pilot, lambda: not pause.disabled, "Pause")
        await pilot.press("p")
        await wait_for(pilot, lambda: notices.any("Pause sent"), "the outcome")
        assert notices.any(
            f"Pause sent: the cluster is now UPGRADE PAUSED (upgrade {current['id']} has no "
            "status of its own)"
        ), notices.texts
        assert notices.any("recorded the pause on an older upgrade of home_lab")
        assert not notices.any(f"upgrade {current['id']} is now")
