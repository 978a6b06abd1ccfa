"""A cluster of thousands of hosts: polls update changed cells, never rebuild the tables."""

import asyncio

import httpx

from kostyor_tui.domain.statuses import Status
from kostyor_tui.screens.upgrade import UpgradeScreen
from kostyor_tui.widgets.cluster_detail import host_table_rows
from kostyor_tui.widgets.keyed_table import KeyedTable, Row
from tests.tui.conftest import (
    select_cluster,
    services_upgraded,
    start_upgrade_via_dialog,
    upgrade_status,
    wait_for,
    wait_for_upgraded,
)

COMPUTES = 2000


async def test_polls_update_cells_in_place_on_a_large_cluster(
    server_factory, make_app, monkeypatch
):
    server = server_factory(step_seconds=0.05)
    app = make_app(server.url, poll_interval=0.3)
    rebuilds: list[str] = []
    original_clear = KeyedTable.clear

    def counting_clear(self, columns=False):
        rebuilds.append(self.id or "?")
        return original_clear(self, columns)

    monkeypatch.setattr(KeyedTable, "clear", counting_clear)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.service.connection.connected, "the first poll")
        await app.service.command(
            "discover-cluster",
            {
                "method": "simulated",
                "name": "big",
                "parameters": {"controllers": "3", "computes": str(COMPUTES), "storage": "2"},
            },
        )
        cluster_id = await select_cluster(pilot, app, "big")
        hosts = app.main_screen.detail.host_table
        assert hosts.row_keys == []  # the hidden tab is filled only when opened
        await pilot.press("t")
        await wait_for(pilot, lambda: len(hosts.row_keys) == COMPUTES + 5, "every host")
        screen = await start_upgrade_via_dialog(pilot, app)
        assert isinstance(screen, UpgradeScreen)
        table = screen.query_one("#upgrade-hosts", KeyedTable)
        await wait_for(pilot, lambda: len(table.row_keys) == COMPUTES + 5, "the host table")
        rebuilds.clear()
        first = services_upgraded(app, cluster_id)
        await wait_for_upgraded(pilot, app, cluster_id, first + 20, "several polls of progress")
        await pilot.pause()
        assert upgrade_status(app, cluster_id) is Status.IN_PROGRESS
        assert "upgrade-hosts" not in rebuilds, rebuilds
        # The rows show the new state all the same.
        states = {str(table.row_cells(key)[2]) for key in table.row_keys}
        assert {"upgraded", "pending"} <= states or {"in progress", "pending"} <= states


async def test_the_hosts_tab_follows_an_upgrade_through_the_step_log(server_factory, make_app):
    """While polls follow the upgrade through the step log, the hosts tab redraws only the
    hosts each poll moved: what it shows stays what the shown snapshot says of every host."""
    server = server_factory(step_seconds=0.05)
    app = make_app(server.url, poll_interval=0.3)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.service.connection.connected, "the first poll")
        await app.service.command(
            "discover-cluster",
            {
                "method": "simulated",
                "name": "mid",
                "parameters": {"controllers": "3", "computes": "300", "storage": "2"},
            },
        )
        cluster_id = await select_cluster(pilot, app, "mid")
        detail = app.main_screen.detail
        hosts = detail.host_table
        await pilot.press("t")
        await wait_for(pilot, lambda: len(hosts.row_keys) == 305, "every host")
        # Started by another operator: this console only watches.
        started = await asyncio.to_thread(
            httpx.post,
            f"{server.url}/upgrades",
            json={"cluster_id": cluster_id, "to_version": "newton"},
            timeout=30,
        )
        started.raise_for_status()

        def followed(polls: int) -> bool:
            shown = detail.shown_snapshot
            return shown is not None and shown.followed_polls >= polls

        await wait_for(pilot, lambda: followed(1), "a poll following the step log")
        await wait_for(pilot, lambda: followed(4), "several such polls in a row")
        await pilot.pause()
        shown = detail.shown_snapshot
        assert shown is not None and shown.progress.services_upgraded > 0
        assert _markup([(key, hosts.row_cells(key)) for key in hosts.row_keys]) == _markup(
            host_table_rows(shown)
        )
        states = {str(hosts.row_cells(key)[2]) for key in hosts.row_keys}
        assert {"upgraded", "in progress"} & states


def _markup(rows: list[tuple[str, Row | None]]) -> list[object]:
    # Content compares its text only; its markup holds the styles too.
    return [(key, [getattr(cell, "markup", cell) for cell in cells or ()]) for key, cells in rows]
