"""Both faces give the same answer: every command of the registry, headless and in the console.

One embedded server holds a fleet in every interesting state, frozen: an upgrade
paused (home_lab), one failed (staging), one rolling back (datacenter_east), one
running (edge) and a cluster that never had one (legacy). It is set up on a
fast server, then served by one whose engine takes an hour per step, so nothing
moves between the two faces' reads. Each read command runs headless (`--output
json`) and from the console's command palette; the console's report must be
the same data. Each action the lifecycle refuses in a state is sent from both
faces too, and must be refused with the same words.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.command import CommandPalette
from textual.widgets import Input, Label

from kostyor_tui.cli import main
from kostyor_tui.commands import COMMANDS
from kostyor_tui.domain.lifecycle import ACTIONS, LIFECYCLE
from kostyor_tui.domain.statuses import Status
from kostyor_tui.screens.report import ReportScreen, report_table
from kostyor_tui.screens.upgrade import UpgradeScreen
from kostyor_tui.server.runner import BackgroundServer
from kostyor_tui.widgets.keyed_table import KeyedTable
from tests.server.waiting import (
    act,
    cluster_named,
    discover_small,
    start_upgrade,
    wait_for_status,
    wait_for_steps,
)
from tests.support.servers import running_server
from tests.tui.conftest import confirmation, select_cluster, wait_for

# name -> the status its newest upgrade is frozen in (None: it never had one)
STATES = {
    "home_lab": Status.PAUSED,
    "staging": Status.ERROR,
    "datacenter_east": Status.ROLLBACK_IN_PROGRESS,
    "edge": Status.IN_PROGRESS,
    "legacy": None,
}
CLUSTER_COMMANDS = [
    "cluster-status",
    "cluster-component-list",
    "list-hosts",
    "check-upgrade",
    "list-upgrade-versions",
    "upgrade-status",
    "list-upgrades",
]
FLEET_COMMANDS = ["list-clusters", "list-discovery-methods"]


@pytest.fixture(scope="module")
def frozen_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    db_path = tmp_path_factory.mktemp("both-faces") / "fleet.sqlite3"
    with (
        running_server(db_path, step_seconds=0.02, fail_host="staging-compute-01") as fast,
        httpx.Client(base_url=fast.url, timeout=30) as client,
    ):
        home_lab = start_upgrade(client, cluster_named(client, "home_lab")["id"])
        wait_for_steps(client, home_lab["id"], 3)
        act(client, home_lab, "pause")
        wait_for_status(client, home_lab["id"], "UPGRADE PAUSED")
        staging = start_upgrade(client, cluster_named(client, "staging")["id"], "ocata")
        wait_for_status(client, staging["id"], "UPGRADE ERROR")
        east = start_upgrade(client, cluster_named(client, "datacenter_east")["id"])
        wait_for_steps(client, east["id"], 5)
        act(client, east, "pause")
        wait_for_status(client, east["id"], "UPGRADE PAUSED")
        edge = discover_small(client, "edge")
    # An hour a step: from here on nothing moves unless asked.
    with running_server(db_path, step_seconds=3600) as frozen:
        with httpx.Client(base_url=frozen.url, timeout=30) as client:
            assert act(client, east, "rollback").status_code == 200
            start_upgrade(client, edge["id"])
            for name, status in STATES.items():
                cluster = cluster_named(client, name)
                upgrades = client.get("/upgrades", params={"cluster_id": cluster["id"]}).json()
                assert (upgrades[-1]["status"] if upgrades else None) == status, name
        yield frozen


@pytest.fixture
def headless(
    frozen_fleet: BackgroundServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
):
    """`headless("cluster-status", "home_lab")` -> (exit code, stdout, stderr)."""
    config = tmp_path / "headless.toml"
    # The same profile data as the console's (tests/tui/conftest.py make_settings).
    config.write_text('[profiles.default]\nregion = "RegionOne"\ntimeout = 10\n')
    config.chmod(0o600)
    monkeypatch.setenv("KOSTYOR_CONFIG", str(config))

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--api-url", frozen_fleet.url, "--command", *argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def headless_json(headless: Any, *argv: str) -> Any:
    code, out, err = headless(*argv, "--output", "json")
    assert code == 0, err
    return json.loads(out)


def headless_refusal(headless: Any, *argv: str) -> str:
    """The refusal's message, without the headless-only hint about --force."""
    code, out, err = headless(*argv)
    assert (code, out) == (4, ""), err
    line = err.strip().removeprefix("kostyor-tui: error: ")
    return line.removesuffix("; send it anyway with --force")


async def console_report(pilot: Any, name: str) -> tuple[list[str], list[list[str]]]:
    """Run `name` from the command palette; the report's columns and rows as shown."""
    app = pilot.app
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
    # As if pasted: typed key by key, the palette searches at every key.
    app.screen.query_one(Input).value = name
    await wait_for(
        pilot,
        lambda: str(app.screen.query_one("CommandList").get_option_at_index(0).prompt).startswith(
            name
        ),
        f"{name} first among the hits",
    )
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ReportScreen), f"the report of {name}")
    screen = app.screen
    table = screen.query_one(KeyedTable)
    rows = [[str(cell) for cell in table.row_cells(key)] for key in table.row_keys]
    await pilot.press("escape")
    await wait_for(pilot, lambda: not isinstance(app.screen, ReportScreen), "the report closed")
    return screen.columns, rows


def test_the_registry_is_covered() -> None:
    assert {*FLEET_COMMANDS, *CLUSTER_COMMANDS} == {
        name for name, command in COMMANDS.items() if not command.mutating
    }


async def test_fleet_commands_give_the_same_answer_in_both_faces(
    frozen_fleet: BackgroundServer, headless: Any, make_app: Any
) -> None:
    # Headless first: the console, once running, owns the process's stdout.
    expected = {name: headless_json(headless, name) for name in FLEET_COMMANDS}
    app = make_app(frozen_fleet.url, poll_interval=0.5)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(pilot, lambda: len(app.service.clusters) == len(STATES), "the fleet")
        for name, answer in expected.items():
            assert await console_report(pilot, name) == report_table(answer), name


@pytest.mark.parametrize("cluster", STATES)
async def test_cluster_commands_give_the_same_answer_in_both_faces(
    frozen_fleet: BackgroundServer, headless: Any, make_app: Any, cluster: str
) -> None:
    status = STATES[cluster]
    expected: dict[str, Any] = {}
    for name in CLUSTER_COMMANDS:
        if name == "upgrade-status":
            if status is None:
                continue
            upgrades = headless_json(headless, "list-upgrades", "--cluster", cluster)
            expected[name] = headless_json(headless, name, upgrades[-1]["id"])
            assert expected[name]["status"] == status
        elif name == "list-upgrades":
            expected[name] = headless_json(headless, name, "--cluster", cluster)
        else:
            expected[name] = headless_json(headless, name, cluster)

    app = make_app(frozen_fleet.url, poll_interval=0.5)
    async with app.run_test(size=(160, 50)) as pilot:
        await select_cluster(pilot, app, cluster)
        for name, answer in expected.items():
            assert await console_report(pilot, name) == report_table(answer), name


async def test_every_refused_action_is_refused_alike_in_both_faces(
    frozen_fleet: BackgroundServer, headless: Any, make_app: Any
) -> None:
    refused = [
        (cluster, action)
        for cluster, status in STATES.items()
        if status is not None
        for action in ACTIONS
        if status not in LIFECYCLE[action].valid_in
    ]
    assert len(refused) >= 5
    # Headless first: the console, once running, owns the process's stdout.
    expected = {
        (cluster, action): headless_refusal(headless, f"upgrade-{action}", cluster)
        for cluster, action in refused
    }
    app = make_app(frozen_fleet.url, poll_interval=0.5)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(pilot, lambda: len(app.service.clusters) == len(STATES), "the fleet")
        for cluster, action in refused:
            cluster_id = await select_cluster(pilot, app, cluster)
            await pilot.press("o")
            await wait_for(pilot, lambda: isinstance(app.screen, UpgradeScreen), "the view")
            await wait_for(
                pilot, lambda cid=cluster_id: app.service.snapshot(cid) is not None, "its data"
            )
            await pilot.press(
                {"pause": "p", "continue": "c", "rollback": "b", "cancel": "x"}[action]
            )
            await wait_for(pilot, lambda: confirmation(app), "the refusal")
            detail = str(app.screen.query_one("#confirm-detail", Label).render())
            assert detail.startswith(expected[cluster, action] + ". "), (cluster, action, detail)
            await pilot.press("escape")  # No: nothing is sent
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, UpgradeScreen), "main")
    # Nothing moved: every refusal was only words.
    with httpx.Client(base_url=frozen_fleet.url) as client:
        for cluster, status in STATES.items():
            cluster_id = cluster_named(client, cluster)["id"]
            upgrades = client.get("/upgrades", params={"cluster_id": cluster_id}).json()
            assert (upgrades[-1]["status"] if upgrades else None) == status
