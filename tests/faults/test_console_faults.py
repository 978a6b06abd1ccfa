"""The console through the fault proxy: shows the problem, keeps its data, recovers.

The real app (`KostyorApp.run_test()`, Pilot) polls a real embedded server
through the fault proxy. For each fault on every GET: the header says the API
is failing and why, the cluster list and the selected cluster's detail still
show the last good data, the app keeps running through several failed polls,
and once the fault is cleared it reconnects on its own. Actions that meet a
fault are sent once, reported on screen, and the state shown is re-read.
"""

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from textual.pilot import Pilot

from kostyor_tui.app import KostyorApp
from kostyor_tui.config import load_settings
from kostyor_tui.domain.statuses import Status
from kostyor_tui.screens.upgrade import UpgradeScreen
from kostyor_tui.server.runner import BackgroundServer
from kostyor_tui.widgets.status_header import StatusHeader
from tests.support.faultproxy import Fault, FaultProxy
from tests.tui.conftest import Notices, select_cluster, upgrade_status, wait_for

POLL_INTERVAL = 0.2
TIMEOUT = 1.0
SLOW = 3.0


@pytest.fixture
def proxy(server: BackgroundServer) -> Iterator[FaultProxy]:
    with FaultProxy(server.url) as running:
        yield running


def make_app(tmp_path: Path, api_url: str) -> KostyorApp:
    config = tmp_path / "console-faults.toml"
    config.write_text(
        "[profiles.default]\n"
        f'api_url = "{api_url}"\n'
        f"poll_interval = {POLL_INTERVAL}\n"
        f"timeout = {TIMEOUT}\n"
    )
    config.chmod(0o600)
    # A short backoff so that recovery is seen within the test's deadline.
    return KostyorApp(load_settings(config_path=config, environ={}), max_backoff=0.5)


def header_text(app: KostyorApp) -> str:
    """What the header shows on screen, line by line (cut where the screen cuts it)."""
    header = app.screen.query_one(StatusHeader)
    return "\n".join(header.render_line(y).text.rstrip() for y in range(header.size.height))


async def failed_polls(pilot: Pilot[object], proxy: FaultProxy, fault: Fault, count: int) -> None:
    """Let `count` more requests meet the fault (the app polls with backoff meanwhile)."""
    target = fault.hits + count
    await wait_for(pilot, lambda: fault.hits >= target, f"{count} more failed requests")


GET_FAULTS = [
    pytest.param(None, "cannot connect", id="refused"),
    pytest.param(Fault.reset(), "broke before an answer", id="reset"),
    pytest.param(Fault.close(), "broke before an answer", id="closed"),
    pytest.param(Fault.slow(SLOW), "did not answer within 1 s", id="slow"),
    pytest.param(Fault.status_500_json(), "500", id="500-json"),
    pytest.param(Fault.status_500_html(), "HTML page", id="500-html"),
    pytest.param(Fault.truncated(), "did not answer in HTTP", id="truncated"),
    pytest.param(Fault.invalid_json(), "instead of JSON", id="invalid-json"),
    pytest.param(Fault.wrong_shape({"id": 1}), "not a list", id="dict-for-list"),
    pytest.param(Fault.wrong_shape([1, 2, 3]), "not a list", id="list-of-ints"),
    pytest.param(Fault.not_found_html(), "404", id="404-html"),
]


@pytest.mark.parametrize(("fault", "shown"), GET_FAULTS)
async def test_fault_on_every_read_keeps_last_good_data_and_recovers(
    tmp_path: Path, proxy: FaultProxy, fault: Fault | None, shown: str
) -> None:
    app = make_app(tmp_path, proxy.url)
    async with app.run_test(size=(120, 40)) as pilot:
        cluster_id = await select_cluster(pilot, app, "home_lab")
        screen = app.screen
        listed = list(screen.cluster_list.table.row_keys)
        components = screen.detail.component_table.row_count
        assert "home_lab" in {c.name for c in app.service.clusters}
        assert components > 0

        if fault is None:
            proxy.refuse_connections()
        else:
            fault = proxy.inject(dataclasses.replace(fault, hits=0, method="GET"))
        await wait_for(pilot, lambda: app.service.connection.connected is False, "the failure")
        await pilot.pause()
        header = header_text(app)
        assert "✖ disconnected" in header, header
        assert "last good data at" in header, header
        assert shown in header, header
        if fault is not None:
            await failed_polls(pilot, proxy, fault, 3)

        # Still running, still on the same screen, still showing the last good data.
        assert app.is_running
        assert app.screen is screen
        assert list(screen.cluster_list.table.row_keys) == listed
        assert screen.detail.component_table.row_count == components
        assert app.service.snapshot(cluster_id) is not None

        proxy.clear()
        await wait_for(pilot, lambda: app.service.connection.connected is True, "recovery")
        await pilot.pause()
        assert "● connected" in header_text(app)
        assert list(screen.cluster_list.table.row_keys) == listed
        await pilot.press("q")
    assert proxy.mutations() == []


@pytest.mark.parametrize(
    ("fault", "paused", "shown"),
    [
        pytest.param(Fault.status_500_json(forward=True), True, "took effect", id="500-done"),
        pytest.param(Fault.status_500_html(), False, "still UPGRADE IN PROGRESS", id="500-html"),
        pytest.param(Fault.slow(SLOW), True, "took effect", id="slow"),
        pytest.param(Fault.reset(), False, "still UPGRADE IN PROGRESS", id="reset"),
        pytest.param(Fault.not_found_html(), False, "404", id="404-html"),
    ],
)
async def test_pause_meeting_a_fault_is_sent_once_and_shown(
    tmp_path: Path,
    server_factory: Callable[..., BackgroundServer],
    fault: Fault,
    paused: bool,
    shown: str,
) -> None:
    # Slow steps: the upgrade is still running while the test acts on it.
    server = server_factory(step_seconds=0.4)
    with FaultProxy(server.url) as proxy:
        app = make_app(tmp_path, proxy.url)
        notices = Notices()
        async with app.run_test(size=(120, 40), notifications=True, message_hook=notices) as pilot:
            cluster_id = await select_cluster(pilot, app, "home_lab")
            started = httpx.post(
                f"{server.url}/upgrades",
                json={"cluster_id": cluster_id, "to_version": "newton"},
                timeout=10,
            )
            assert started.status_code == 201
            await wait_for(
                pilot,
                lambda: upgrade_status(app, cluster_id) is Status.IN_PROGRESS,
                "the upgrade in progress",
            )
            await pilot.press("o")
            await wait_for(pilot, lambda: isinstance(app.screen, UpgradeScreen), "upgrade view")

            proxy.inject(dataclasses.replace(fault, hits=0, method="PUT", path=r"^/upgrades/"))
            await pilot.press("p")
            await wait_for(pilot, lambda: notices.any("failed"), "the failure told")
            assert notices.any(shown), notices.texts
            expected = Status.PAUSED if paused else Status.IN_PROGRESS
            await wait_for(
                pilot, lambda: upgrade_status(app, cluster_id) is expected, f"{expected} shown"
            )
            assert app.is_running
            assert isinstance(app.screen, UpgradeScreen)
            await pilot.press("escape", "q")
        assert proxy.count("PUT") == 1
        assert proxy.count("POST") == 0
    on_server = httpx.get(f"{server.url}/upgrades/{started.json()['id']}", timeout=10).json()
    assert on_server["status"] == expected.value


async def test_upgrade_view_keeps_its_data_through_a_fault_and_resumes(
    tmp_path: Path, server_factory: Callable[..., BackgroundServer]
) -> None:
    server = server_factory(step_seconds=0.2)
    with FaultProxy(server.url) as proxy:
        app = make_app(tmp_path, proxy.url)
        async with app.run_test(size=(120, 40)) as pilot:
            cluster_id = await select_cluster(pilot, app, "home_lab")
            started = httpx.post(
                f"{server.url}/upgrades",
                json={"cluster_id": cluster_id, "to_version": "newton"},
                timeout=10,
            )
            assert started.status_code == 201
            await pilot.press("o")
            await wait_for(pilot, lambda: isinstance(app.screen, UpgradeScreen), "upgrade view")
            screen = app.screen
            hosts = screen.query_one("#upgrade-hosts")
            await wait_for(pilot, lambda: hosts.row_count > 0, "the host table")

            def upgraded() -> int:
                snapshot = app.service.snapshot(cluster_id)
                return snapshot.progress.services_upgraded if snapshot and snapshot.progress else 0

            await wait_for(pilot, lambda: upgraded() >= 1, "a step done")
            fault = proxy.inject(Fault.status_500_html(method="GET"))
            await wait_for(pilot, lambda: app.service.connection.connected is False, "failure")
            await failed_polls(pilot, proxy, fault, 3)
            before = upgraded()
            assert app.screen is screen
            assert "✖ disconnected" in header_text(app)
            assert hosts.row_count > 0

            # The upgrade went on meanwhile on the server; the view catches up once back.
            proxy.clear()
            await wait_for(pilot, lambda: app.service.connection.connected is True, "recovery")
            await wait_for(pilot, lambda: upgraded() > before, "progress after recovery")
            assert app.screen is screen
            await pilot.press("escape", "q")
        assert proxy.mutations() == []


async def test_a_hung_poll_is_shown_as_waiting_not_as_connected(
    tmp_path: Path, server: BackgroundServer
) -> None:
    """A poll the server does not answer yet (within the client's deadline) is a wait: the
    header must not keep saying "connected" over data that is getting old."""
    hang = 6.0
    config = tmp_path / "hung.toml"
    with FaultProxy(server.url) as proxy:
        config.write_text(
            f'[profiles.default]\napi_url = "{proxy.url}"\npoll_interval = {POLL_INTERVAL}\n'
            f"timeout = {hang + 4}\n"
        )
        config.chmod(0o600)
        app = KostyorApp(load_settings(config_path=config, environ={}))
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.service.connection.connected is True, "connected")
            # One read held for `hang` seconds, then answered: shorter than the deadline.
            fault = proxy.inject(Fault.slow(hang, method="GET", path=r"^/clusters$", times=1))
            await wait_for(pilot, lambda: fault.hits == 1, "the hung read")
            await wait_for(pilot, lambda: "waiting for the API" in header_text(app), "waiting")
            assert "● connected" not in header_text(app)
            assert app.service.connection.connected is not False  # not a failure (yet)
            await wait_for(
                pilot, lambda: "● connected" in header_text(app), "connected once answered"
            )
            await pilot.press("q")
