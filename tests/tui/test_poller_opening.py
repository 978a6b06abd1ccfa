"""Opening a cluster: a watched cluster the last poll listed, without a snapshot yet, will
be read in full unless the new list has dropped it, so the poll asks for its upgrades,
hosts and services beside the cluster list instead of after it (`poller.poll`'s
`listed`). The list's answer is held back longer than the tests wait for those reads:
asked for after the list, they would come only once its answer had."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.api.errors import ServerError
from kostyor_tui.screens.main import MainScreen
from kostyor_tui.service import poller
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.waiting import wait_until
from tests.tui.conftest import select_cluster, wait_for

CLUSTER = "home_lab"
GONE = "0bd2e0f6-0000-4000-8000-000000000000"
# How long the list is held back, and how long the tests wait for the reads beside it.
HELD_SECONDS = 6.0
WAIT_SECONDS = 5.0


def test_a_cluster_being_opened_is_read_beside_the_cluster_list(server):
    with FaultProxy(server.url) as proxy, KostyorClient(proxy.url) as client:
        cluster_id = next(c.id for c in client.list_clusters() if c.name == CLUSTER and c.id)
        proxy.inject(Fault.slow(HELD_SECONDS, method="GET", path=r"/clusters$"))
        with ThreadPoolExecutor(max_workers=1) as poll_thread:
            polled = poll_thread.submit(
                poller.poll, client, [cluster_id], {}, (), everything=False, listed=[cluster_id]
            )
            wait_until(
                lambda: all(
                    proxy.count("GET", path)
                    for path in (
                        rf"^/upgrades\?cluster_id={cluster_id}$",
                        rf"^/clusters/{cluster_id}/hosts$",
                        rf"^/clusters/{cluster_id}/services$",
                    )
                ),
                "the cluster's reads while the list is held back",
                timeout=WAIT_SECONDS,
            )
            assert not polled.done()  # still waiting for the list
            snapshot = polled.result(30).watched[cluster_id]
        assert snapshot is not None and snapshot.hosts and snapshot.services
        assert snapshot.cluster.name == CLUSTER


def test_a_watched_cluster_no_list_has_shown_is_not_read_beside_the_list(server):
    # Only what the last list showed is read before the new one comes: an id no list
    # had (a cluster deleted before the console listed it) costs no request.
    with FaultProxy(server.url) as proxy, KostyorClient(proxy.url) as client:
        result = poller.poll(client, [GONE], {}, (), everything=True)
        assert result.watched == {GONE: None}
        assert proxy.count("GET", GONE) == 0


def test_a_cluster_gone_since_the_last_list_is_dropped_though_its_reads_failed(server):
    # Listed by the last poll, deleted since: its reads beside the list are refused
    # (404), and the list says it is gone, which is what the poll reports.
    with FaultProxy(server.url) as proxy, KostyorClient(proxy.url) as client:
        result = poller.poll(client, [GONE], {}, (), everything=False, listed=[GONE])
        assert result.watched == {GONE: None}
        assert {c.name for c in result.clusters} >= {CLUSTER}
        assert proxy.count("GET", rf"/clusters/{GONE}/services$") == 1


async def test_the_console_reads_the_cluster_it_opens_beside_the_cluster_list(server, make_app):
    with FaultProxy(server.url) as proxy:
        # No poll of its own between the first cluster shown and the key: only the
        # key's poll meets the held-back list.
        app = make_app(proxy.url, poll_interval=60.0)
        async with app.run_test(size=(120, 40)) as pilot:
            main = app.screen
            assert isinstance(main, MainScreen)
            table = main.cluster_list.table
            await wait_for(pilot, lambda: table.row_count >= 2, "the fleet in the sidebar")
            first, second = table.row_keys[:2]
            await wait_for(pilot, lambda: app.service.snapshot(first), "the first cluster")
            lists = proxy.count("GET", r"^/clusters$")
            proxy.inject(Fault.slow(HELD_SECONDS, method="GET", path=r"^/clusters$", times=1))
            await pilot.press("down")
            await wait_for(
                pilot,
                lambda: proxy.count("GET", rf"^/clusters/{second}/services$"),
                "the opened cluster's services asked for while the list is held back",
                timeout=WAIT_SECONDS,
            )
            # The list held back is the key's poll's, which has not come back yet.
            assert proxy.count("GET", r"^/clusters$") == lists + 1
            assert app.service.snapshot(second) is None
            await wait_for(
                pilot,
                lambda: getattr(main.detail.shown_snapshot, "cluster_id", None) == second,
                "its detail",
            )


async def test_opening_a_cluster_does_not_read_a_followed_upgrade_in_full(
    server_factory, make_app, monkeypatch
):
    # Followed through its step log with no full read due (FULL_READ_EVERY stretched):
    # only a poll asked to re-read everything reads the upgrading cluster's services.
    monkeypatch.setattr(poller, "FULL_READ_EVERY", 1000)
    server = server_factory(step_seconds=0.2)
    with FaultProxy(server.url) as proxy:
        with KostyorClient(proxy.url) as client:
            upgrading = next(c.id for c in client.list_clusters() if c.name == "datacenter_east")
            assert upgrading is not None
            client.create_upgrade(upgrading, "newton")
        app = make_app(proxy.url, poll_interval=60.0)  # no poll but those the test causes
        async with app.run_test(size=(120, 40)) as pilot:
            main = app.screen
            assert isinstance(main, MainScreen)
            table = main.cluster_list.table
            await wait_for(pilot, lambda: table.row_count >= 4, "the fleet in the sidebar")
            await wait_for(pilot, lambda: app.service.snapshot(upgrading), "the upgrade followed")
            to_open = next(
                c for c in app.service.clusters if c.id not in (upgrading, main.selected_cluster_id)
            )
            read_in_full = proxy.count("GET", rf"^/clusters/{upgrading}/services$")
            await select_cluster(pilot, app, to_open.name or "")
            assert proxy.count("GET", rf"^/clusters/{to_open.id}/services$") == 1
            assert proxy.count("GET", rf"^/clusters/{upgrading}/services$") == read_in_full


def test_a_poll_whose_list_fails_raises_the_lists_error_though_its_opening_reads_went_well(
    server,
):
    with FaultProxy(server.url) as proxy, KostyorClient(proxy.url) as client:
        cluster_id = next(c.id for c in client.list_clusters() if c.name == CLUSTER and c.id)
        proxy.inject(Fault.status_500_json(method="GET", path=r"^/clusters$"))
        with pytest.raises(ServerError, match="list clusters"):
            poller.poll(client, [cluster_id], {}, (), everything=False, listed=[cluster_id])
        assert proxy.count("GET", rf"^/clusters/{cluster_id}/services$") == 1
