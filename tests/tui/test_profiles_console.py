"""Profiles in the console (issue 12): the file's [keymap] rebinds keys in the running app,
the profile's theme is applied and a theme picked in the palette is saved to it, the
profile switcher reconnects to another endpoint without a restart (its read-only mode
included), and every action, upgrade start and refusal from the console goes to the audit
trail, shown in the console too. Real app (Pilot), real embedded servers over HTTP, real
config and audit files under tmp_path."""

import importlib
import inspect
import json
import pkgutil
from datetime import datetime, timedelta
from pathlib import Path

from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

import kostyor_tui.screens
import kostyor_tui.widgets
from kostyor_tui.app import KostyorApp, binding_ids, console_keymap, rekeyed
from kostyor_tui.config import load_settings
from kostyor_tui.domain.statuses import Status
from kostyor_tui.screens.audit import AuditScreen
from kostyor_tui.screens.help import key_rows
from kostyor_tui.screens.main import MainScreen
from kostyor_tui.screens.profiles import ProfilesScreen
from kostyor_tui.screens.start_upgrade import StartUpgradeScreen
from kostyor_tui.screens.upgrade import UpgradeScreen
from kostyor_tui.server.topology import role_based_hosts
from kostyor_tui.widgets.keyed_table import KeyedTable
from kostyor_tui.widgets.status_header import StatusHeader
from tests.support.faultproxy import Fault, FaultProxy
from tests.tui.conftest import (
    TEST_POLL_INTERVAL,
    Notices,
    select_cluster,
    start_upgrade_via_dialog,
    upgrade_status,
    wait_for,
)

LAB_PASSWORD = "lab-Pa55word-never-shown"
URL_PASSWORD = "url-S3cret-never-shown"


def header_text(app: KostyorApp) -> str:
    return str(app.screen.query_one(StatusHeader).render())


def footer_keys(app: KostyorApp) -> dict[str, str]:
    """Footer description → the key it shows."""
    footer = app.screen.query_one(Footer)
    return {key.description: key.key for key in footer.query(FooterKey)}


def write_config(tmp_path: Path, text: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(text)
    config.chmod(0o600)
    return config


async def open_profiles(pilot, app: KostyorApp, count: int) -> KeyedTable:
    """The profile switcher's table once it lists `count` profiles."""
    await wait_for(pilot, lambda: isinstance(app.screen, ProfilesScreen), "the profiles")
    await wait_for(pilot, lambda: app.screen.query(KeyedTable), "the profiles table")
    table = app.screen.query_one(KeyedTable)
    await wait_for(pilot, lambda: table.row_count == count, f"{count} profiles listed")
    return table


def test_every_binding_of_the_console_has_an_id_for_the_keymap() -> None:
    # The console's classes: the app, its screens and widgets.
    names = ["kostyor_tui.app"] + [
        module.name
        for package in (kostyor_tui.screens, kostyor_tui.widgets)
        for module in pkgutil.iter_modules(package.__path__, f"{package.__name__}.")
    ]
    classes = [
        value
        for name in names
        for _, value in inspect.getmembers(importlib.import_module(name), inspect.isclass)
        if value.__module__ == name and "BINDINGS" in vars(value)
    ]
    assert {cls.__name__ for cls in classes} >= {"KostyorApp", "MainScreen", "UpgradeScreen"}
    without = [
        f"{cls.__name__}: {binding.key}"
        for cls in classes
        for binding in vars(cls)["BINDINGS"]
        if not isinstance(binding, Binding) or not binding.id
    ]
    assert without == []


def test_an_upgrade_action_key_moves_its_ask_anyway_twin() -> None:
    assert console_keymap({"upgrade.pause": "z"}) == {
        "upgrade.pause": "z",
        "upgrade.pause_anyway": "z",
    }
    # A twin given its own key keeps it.
    both = {"upgrade.pause": "z", "upgrade.pause_anyway": "y"}
    assert console_keymap(both)["upgrade.pause_anyway"] == "y"


def test_help_lists_the_keys_the_keymap_gives() -> None:
    rows = key_rows(
        [("upgrade view", rekeyed(UpgradeScreen.BINDINGS, {"upgrade.pause": "z"}))],
        lambda binding: binding.key,
    )
    assert ("upgrade view", "z", "Pause") in rows
    assert ("upgrade view", "c", "Continue") in rows
    assert {"app.profiles", "upgrade.pause", "main.start_upgrade"} <= binding_ids()


async def test_a_keymap_entry_rebinds_a_key_in_the_running_console(server, tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        'default_profile = "lab"\n[keymap]\n"upgrade.pause" = "z"\n"upgrade.paws" = "w"\n'
        f'[profiles.lab]\napi_url = "{server.url}"\npoll_interval = {TEST_POLL_INTERVAL}\n',
    )
    notices = Notices()
    app = KostyorApp(load_settings(config_path=config, environ={}))
    async with app.run_test(size=(120, 40), message_hook=notices) as pilot:
        # A typo in the file is told, not silently ignored.
        typo = "no key binding has the id upgrade.paws"
        await wait_for(pilot, lambda: notices.any(typo), "the typo told")
        await select_cluster(pilot, app, "home_lab")
        screen = await start_upgrade_via_dialog(pilot, app)
        await wait_for(pilot, lambda: footer_keys(app).get("Pause") == "z", "z in the footer")
        bindings = app.screen.active_bindings
        assert "p" not in bindings
        assert bindings["z"].binding.id == "upgrade.pause"
        await pilot.press("z")
        await wait_for(
            pilot,
            lambda: upgrade_status(app, screen.cluster_id) is Status.PAUSED,
            "the pause sent by z",
        )
        # Now pausing is not valid: z asks anyway, and the refusal says why.
        await wait_for(pilot, lambda: "Pause" not in footer_keys(app), "pause hidden")
        assert app.screen.active_bindings["z"].binding.id == "upgrade.pause_anyway"


async def test_the_profile_theme_is_applied_and_a_theme_picked_is_saved(
    server, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path,
        '# my console settings\ndefault_profile = "lab"\n'
        f'[profiles.lab]\napi_url = "{server.url}"  # the lab\n'
        f'theme = "nord"\npoll_interval = {TEST_POLL_INTERVAL}\n'
        f'[profiles.plain]\napi_url = "{server.url}"\npoll_interval = {TEST_POLL_INTERVAL}\n',
    )
    app = KostyorApp(load_settings(config_path=config, environ={}))
    default_theme = app.theme
    assert default_theme != "nord"
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.theme == "nord", "the profile's theme")
        # Textual's own theme picker (ctrl+p, "Theme"): search, then choose.
        app.action_change_theme()
        await wait_for(pilot, lambda: app.screen.query("CommandInput"), "the theme picker")
        await pilot.press(*"gruvbox")
        await wait_for(
            pilot,
            lambda: (
                "gruvbox" in str(app.screen.query_one("CommandList").get_option_at_index(0).prompt)
            ),
            "gruvbox offered",
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.theme == "gruvbox", "the theme picked")
        await wait_for(pilot, lambda: 'theme = "gruvbox"' in config.read_text(), "the theme saved")
        # A profile without a theme has Textual's default, and nothing is saved to it.
        await pilot.press("P")
        await open_profiles(pilot, app, 2)
        await pilot.press("j", "enter")
        await wait_for(pilot, lambda: app.settings.profile_name == "plain", "the switch")
        await wait_for(pilot, lambda: app.theme == default_theme, "the default theme")
        await wait_for(pilot, lambda: app.service.clusters, "the fleet")
    assert load_settings(config_path=config, profile="plain", environ={}).theme is None
    text = config.read_text()
    assert "# my console settings" in text
    assert "# the lab" in text
    assert load_settings(config_path=config, environ={}).theme == "gruvbox"


async def test_switching_profiles_reconnects_to_the_other_fleet_read_only_and_audited(
    server_factory, tmp_path: Path, private_state_directory: Path
) -> None:
    lab = server_factory(auth=("operator", LAB_PASSWORD))
    prod = server_factory(seed="empty")
    prod.store.add_cluster("prod_site", "mitaka", role_based_hosts(1, 1, 0, prefix="prod-"))
    prod_url = prod.url.replace("http://", f"http://viewer:{URL_PASSWORD}@")
    config = write_config(
        tmp_path,
        'default_profile = "lab"\n'
        f'[profiles.lab]\napi_url = "{lab.url}"\nusername = "operator"\n'
        f'password = "{LAB_PASSWORD}"\npoll_interval = {TEST_POLL_INTERVAL}\n'
        f'[profiles.prod]\napi_url = "{prod_url}"\nread_only = true\n'
        f"poll_interval = {TEST_POLL_INTERVAL}\n",
    )
    notices = Notices()
    app = KostyorApp(load_settings(config_path=config, environ={}))
    async with app.run_test(size=(120, 40), message_hook=notices) as pilot:
        assert "lab" in header_text(app) and "READ-ONLY" not in header_text(app)
        cluster_id = await select_cluster(pilot, app, "home_lab")
        await start_upgrade_via_dialog(pilot, app)
        await pilot.press("p")
        await wait_for(pilot, lambda: upgrade_status(app, cluster_id) is Status.PAUSED, "paused")

        await pilot.press("P")
        table = await open_profiles(pilot, app, 2)
        assert table.row_keys == ["lab", "prod"]
        prod_row = [str(cell) for cell in table.get_row("prod")]
        assert prod_row[2].startswith("http://viewer:") and URL_PASSWORD not in prod_row[2]
        assert prod_row[3] == "READ-ONLY"
        assert table.cursor_key == "lab"  # the one in use
        await pilot.press("j", "enter")

        await wait_for(
            pilot,
            lambda: [c.name for c in app.service.clusters] == ["prod_site"],
            "the other endpoint's fleet",
        )
        assert isinstance(app.screen, MainScreen)
        assert app.service.read_only
        await wait_for(pilot, lambda: "READ-ONLY" in header_text(app), "the READ-ONLY badge")
        assert "prod" in header_text(app) and prod.url.removeprefix("http://") in header_text(app)
        assert URL_PASSWORD not in header_text(app)
        # Nothing of the lab's fleet is left.
        assert all(
            snapshot.cluster.name == "prod_site" for snapshot in app.service.snapshots.values()
        )

        await select_cluster(pilot, app, "prod_site")
        assert "u" not in app.screen.active_bindings  # no "Start upgrade" offered
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, UpgradeScreen), "the upgrade view")
        await pilot.press("p")
        await wait_for(pilot, lambda: notices.any("read-only mode is on"), "the refusal")
        assert notices.any("profile 'prod' is read-only")

        audit = private_state_directory / "kostyor-tui" / "audit.jsonl"
        await wait_for(
            pilot,
            lambda: audit.exists() and len(audit.read_text().splitlines()) == 3,
            "three audit entries",
        )
    text = audit.read_text()
    entries = [json.loads(line) for line in text.splitlines()]
    assert [
        (e["profile"], e["endpoint"], e["action"], e["cluster"], e["outcome"], e["sent"])
        for e in entries
    ] == [
        ("lab", lab.url, "start-upgrade", "home_lab", "done", True),
        ("lab", lab.url, "pause", "home_lab", "done", True),
        ("prod", prod.url, "pause", "prod_site", "refused", False),
    ]
    assert "read-only mode is on" in entries[2]["detail"]
    for secret in (LAB_PASSWORD, URL_PASSWORD):
        assert secret not in text


async def test_a_read_only_refusal_by_key_is_audited_and_the_palette_shows_the_trail(
    server, tmp_path: Path, private_state_directory: Path
) -> None:
    config = write_config(
        tmp_path,
        f'default_profile = "prod"\n[profiles.prod]\napi_url = "{server.url}"\nread_only = true\n'
        f"poll_interval = {TEST_POLL_INTERVAL}\n",
    )
    audit = private_state_directory / "kostyor-tui" / "audit.jsonl"
    audit.parent.mkdir(parents=True)
    # An older entry from a hostile fleet: its text reaches the screen printable only.
    audit.write_text(
        json.dumps(
            {
                "time": "2026-01-01T00:00:00+00:00",
                "profile": "old",
                "action": "pause",
                "cluster": "evil\x1b[2J\x07name",
                "outcome": "done",
            }
        )
        + "\n"
    )
    notices = Notices()
    app = KostyorApp(load_settings(config_path=config, environ={}))
    async with app.run_test(size=(160, 40), message_hook=notices) as pilot:
        cluster_id = await select_cluster(pilot, app, "staging")
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, UpgradeScreen), "the upgrade view")
        await pilot.press("b")  # rollback: refused before any confirmation is asked
        await wait_for(
            pilot, lambda: notices.any("rollback of the upgrade of staging refused"), "the refusal"
        )
        await wait_for(pilot, lambda: len(audit.read_text().splitlines()) == 2, "the entry")

        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: app.screen.query("CommandInput"), "the palette")
        await pilot.press(*"Audit trail")
        await wait_for(
            pilot,
            lambda: (
                "Audit trail"
                in str(app.screen.query_one("CommandList").get_option_at_index(0).prompt)
            ),
            "the Audit trail command",
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen), "the audit trail")
        await wait_for(pilot, lambda: app.screen.query(KeyedTable), "its table")
        table = app.screen.query_one(KeyedTable)
        await wait_for(pilot, lambda: table.row_count == 2, "its rows")
        newest, oldest = ([str(cell) for cell in table.get_row_at(i)] for i in (0, 1))
    assert newest[1:5] == ["prod", server.url, "staging", "rollback"]
    assert newest[6] == "refused" and "read-only mode is on" in newest[7]
    assert oldest[3].startswith("evil") and "\x1b" not in oldest[3] and "\x07" not in oldest[3]
    entry = json.loads(audit.read_text().splitlines()[1])
    assert (entry["cluster_id"], entry["sent"]) == (cluster_id, False)


async def test_the_refresh_setting_drives_the_console_poll_interval(server, tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        f'default_profile = "lab"\n[profiles.lab]\napi_url = "{server.url}"\npoll_interval = 5\n'
        f'[profiles.other]\napi_url = "{server.url}"\npoll_interval = 9\n',
    )
    assert KostyorApp(load_settings(config_path=config, environ={})).service.poll_interval == 5
    from_env = load_settings(config_path=config, environ={"KOSTYOR_POLL_INTERVAL": "0.7"})
    assert KostyorApp(from_env).service.poll_interval == 0.7
    # --refresh (load_settings' poll_interval) wins, and still holds after a switch.
    app = KostyorApp(load_settings(config_path=config, poll_interval=0.3, environ={}))
    assert app.service.poll_interval == 0.3
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.service.clusters, "the fleet")
        await pilot.press("P")
        await open_profiles(pilot, app, 2)
        await pilot.press("j", "enter")
        await wait_for(pilot, lambda: app.settings.profile_name == "other", "the switch")
        assert app.service.poll_interval == 0.3


async def test_no_switch_while_a_dialog_may_send_through_the_old_client(
    server_factory, tmp_path: Path
) -> None:
    lab, other = server_factory(), server_factory(seed="empty")
    config = write_config(
        tmp_path,
        'default_profile = "lab"\n'
        f'[profiles.lab]\napi_url = "{lab.url}"\npoll_interval = {TEST_POLL_INTERVAL}\n'
        f'[profiles.other]\napi_url = "{other.url}"\npoll_interval = {TEST_POLL_INTERVAL}\n',
    )
    notices = Notices()
    app = KostyorApp(load_settings(config_path=config, environ={}))
    async with app.run_test(size=(120, 40), message_hook=notices) as pilot:
        await select_cluster(pilot, app, "home_lab")
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, StartUpgradeScreen), "the dialog")
        app.action_switch_profile()  # as "Switch profile" in the palette does
        await open_profiles(pilot, app, 2)
        await pilot.press("j", "enter")
        await wait_for(pilot, lambda: notices.any("Not switched to profile other"), "the refusal")
        assert notices.any("the start-upgrade dialog is still open")
        assert isinstance(app.screen, StartUpgradeScreen)
        assert app.settings.profile_name == "lab"
        assert any(cluster.name == "home_lab" for cluster in app.service.clusters)


async def test_a_poll_of_the_old_endpoint_under_way_never_lands_after_a_switch(
    server_factory, tmp_path: Path
) -> None:
    lab, other = server_factory(), server_factory(seed="empty")
    other.store.add_cluster("other_site", "mitaka", role_based_hosts(1, 1, 0, prefix="o-"))
    slow = 1.0
    with FaultProxy(lab.url) as proxy:
        config = write_config(
            tmp_path,
            'default_profile = "lab"\n'
            f'[profiles.lab]\napi_url = "{proxy.url}"\npoll_interval = {TEST_POLL_INTERVAL}\n'
            f'[profiles.other]\napi_url = "{other.url}"\npoll_interval = {TEST_POLL_INTERVAL}\n',
        )
        app = KostyorApp(load_settings(config_path=config, environ={}))
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.service.clusters, "the lab's fleet")
            proxy.inject(Fault.slow(slow, method="GET", path=r"^/clusters$"))
            await wait_for(
                pilot,
                lambda: any(request.fault == "slow" for request in proxy.requests),
                "a poll of the lab under way",
            )
            await pilot.press("P")
            await open_profiles(pilot, app, 2)
            seen: list[tuple[list[str | None], bool | None]] = []
            lab_ops = app.service.ops

            def record(names: list[str | None], connected: bool | None) -> None:
                if app.service.ops is not lab_ops:  # from the switch on
                    seen.append((names, connected))

            main = app.main_screen
            main.watch(app.service, "clusters", lambda c: record([x.name for x in c], None))
            main.watch(app.service, "connection", lambda state: record([], state.connected))
            await pilot.press("j", "enter")
            await wait_for(pilot, lambda: app.settings.profile_name == "other", "the switch")
            switched = datetime.now()
            # Past the lab's slow answer, and two polls of the other endpoint after it.
            await wait_for(
                pilot,
                lambda: (
                    (app.service.connection.last_good_at or switched)
                    > switched + timedelta(seconds=slow + 2 * TEST_POLL_INTERVAL)
                ),
                "polls of the other endpoint after the lab's slow answer",
            )
    assert seen
    assert all(names in ([], ["other_site"]) for names, _ in seen), seen
    assert False not in [connected for _, connected in seen]  # the old failure never shown
