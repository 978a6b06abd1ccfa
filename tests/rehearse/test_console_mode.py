"""`rehearse --console`: the real console against the throw-away server that holds the
rehearsed topology, its upgrade started, played on a sped-up clock."""

from pathlib import Path

import httpx

from kostyor_tui.app import KostyorApp
from kostyor_tui.domain.statuses import Status
from kostyor_tui.rehearse import topology
from kostyor_tui.rehearse.console import played_step_seconds, rehearsal_server
from tests.support.waiting import wait_until
from tests.tui.conftest import make_settings, select_cluster, upgrade_status, wait_for


def test_the_whole_upgrade_plays_in_about_the_time_asked() -> None:
    assert played_step_seconds(4144, 120.0) == 120.0 / 4144
    # Never faster than the server can usefully go.
    assert played_step_seconds(100_000, 1.0) == 0.01


async def test_the_console_watches_the_rehearsal_play(tmp_path: Path) -> None:
    fleet = topology.simulated(1, 2, 0, "mitaka")
    with rehearsal_server(
        fleet, to_version="newton", engine="node-by-node", fail_host=None, play_seconds=4.0
    ) as url:
        app = KostyorApp(make_settings(tmp_path, url))
        async with app.run_test(size=(120, 40)) as pilot:
            cluster_id = await select_cluster(pilot, app, "simulated")
            await wait_for(
                pilot,
                lambda: upgrade_status(app, cluster_id) is Status.SUCCEEDED,
                "the rehearsed upgrade to finish",
            )
        hosts = httpx.get(f"{url}/clusters/{cluster_id}/hosts", timeout=10).json()
        assert sorted(h["hostname"] for h in hosts) == ["compute-01", "compute-02", "controller-01"]
    # The throw-away server is gone with its database.
    wait_until(lambda: _refused(url), "the rehearsal server to stop")


async def test_a_failure_plays_too(tmp_path: Path) -> None:
    fleet = topology.simulated(1, 2, 0, "mitaka")
    with rehearsal_server(
        fleet, to_version="newton", engine="node-by-node", fail_host="compute-02", play_seconds=2.0
    ) as url:
        app = KostyorApp(make_settings(tmp_path, url))
        async with app.run_test(size=(120, 40)) as pilot:
            cluster_id = await select_cluster(pilot, app, "simulated")
            await wait_for(
                pilot, lambda: upgrade_status(app, cluster_id) is Status.ERROR, "the failure"
            )


def _refused(url: str) -> bool:
    try:
        httpx.get(url + "/clusters", timeout=2)
    except httpx.TransportError:
        return True
    return False
