"""A fleet read in full replaces every instance of the snapshot before. A poll hands back
the hosts and services of the snapshots it replaced or dropped (`PollResult.replaced`), so
that they are not freed at once where the console lets go of the old snapshot (on its main
thread), but by `free_in_pieces`, which the console's poll loop calls once the result is
drawn (`service.poller`'s doc). The polls share one client, as the console's do."""

import gc
import weakref
from collections.abc import Iterator

import pytest

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.api.models import Service
from kostyor_tui.service import poller
from kostyor_tui.service.api_service import ApiService
from kostyor_tui.service.snapshots import ClusterSnapshot
from tests.support.waiting import wait_until
from tests.tui.conftest import wait_for

CLUSTER = "datacenter_east"


@pytest.fixture(autouse=True)
def _unfrozen_after() -> Iterator[None]:
    yield
    gc.unfreeze()


@pytest.fixture
def client(server) -> Iterator[KostyorClient]:
    with KostyorClient(server.url) as shared:
        yield shared


def _services_alive() -> int:
    """Service instances reachable (what a poll leaves is frozen by the poller: counted
    too; garbage earlier tests left in reference cycles is collected first)."""
    gc.unfreeze()
    gc.collect()
    return sum(isinstance(item, Service) for item in gc.get_objects())


def _first_read(client: KostyorClient) -> tuple[str, ClusterSnapshot, int]:
    """The cluster's id and snapshot, and the Service instances alive that are not its."""
    cluster_id = next(c.id for c in client.list_clusters() if c.name == CLUSTER and c.id)
    snapshot = poller.poll(client, [cluster_id], {}, (), everything=True).watched[cluster_id]
    assert snapshot is not None and snapshot.services
    return cluster_id, snapshot, _services_alive() - len(snapshot.services)


def _poll_until_upgraded(
    client: KostyorClient, cluster_id: str, old: ClusterSnapshot
) -> poller.PollResult:
    """A poll after `old` whose full read found a service upgraded: every instance new
    (the answer's bytes changed), the old ones replaced."""

    def upgraded() -> poller.PollResult | None:
        result = poller.poll(client, [cluster_id], {cluster_id: old}, (), everything=True)
        new = result.watched[cluster_id]
        return result if new and any(s.version == "newton" for s in new.services) else None

    return wait_until(upgraded, "a full read finding a service upgraded")


def test_the_instances_a_full_read_replaced_are_kept_until_freed(client):
    cluster_id, old, others = _first_read(client)
    fleet = len(old.services)
    client.create_upgrade(cluster_id, "newton")
    result = _poll_until_upgraded(client, cluster_id, old)
    del old  # the console lets go of the old snapshot
    assert _services_alive() == others + 2 * fleet  # not freed where the console let go
    poller.free_in_pieces(result.replaced)
    assert _services_alive() == others + fleet  # the new snapshot's, in `result`


def test_the_instances_of_a_cluster_no_longer_watched_are_kept_until_freed(client):
    cluster_id, old, others = _first_read(client)
    fleet = len(old.services)
    # The cursor moved away: dropped, and the client's last answers about it forgotten.
    result = poller.poll(client, [], {cluster_id: old}, (), everything=True)
    del old
    assert _services_alive() == others + fleet
    poller.free_in_pieces(result.replaced)
    assert _services_alive() == others


def test_a_poll_that_replaced_nothing_hands_back_nothing(client):
    cluster_id, old, _ = _first_read(client)
    # Settled and unchanged: the same snapshot again, nothing to free.
    result = poller.poll(client, [cluster_id], {cluster_id: old}, (), everything=True)
    assert result.watched[cluster_id] is old
    assert result.replaced == []


async def test_the_console_frees_what_a_poll_replaced_once_it_is_drawn(
    server, make_app, monkeypatch
):
    # A spy around the real function: how many instances the poll loop frees.
    free_in_pieces = poller.free_in_pieces
    freed: list[int] = []

    def spying(replaced: list[object]) -> None:
        count = len(replaced)
        free_in_pieces(replaced)
        freed.append(count - len(replaced))

    monkeypatch.setattr(poller, "free_in_pieces", spying)
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        service: ApiService = app.service
        await wait_for(pilot, lambda: service.clusters, "the cluster list")
        cluster_id = next(c.id for c in service.clusters if c.name == CLUSTER)
        await wait_for(pilot, lambda: service.snapshot(cluster_id), "its snapshot")
        with KostyorClient(server.url) as client:
            client.create_upgrade(cluster_id, "newton")
        service.refresh_now()  # a full read: the services changed, every instance replaced
        await wait_for(pilot, lambda: any(count > 0 for count in freed), "the replaced freed")


async def test_a_hidden_hosts_tab_does_not_keep_a_replaced_snapshot_alive(server, make_app):
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        service: ApiService = app.service
        await wait_for(pilot, lambda: service.clusters, "the cluster list")
        cluster_id = next(c.id for c in service.clusters if c.name == CLUSTER)
        detail = app.main_screen.detail
        await wait_for(pilot, lambda: detail.shown_snapshot, "the cluster shown")
        await pilot.press("t")  # the hosts tab shows (and remembers) this snapshot
        await wait_for(pilot, lambda: detail.host_table.row_count, "its hosts")
        shown = weakref.ref(detail.shown_snapshot)
        await pilot.press("t")  # back to the components
        with KostyorClient(server.url) as client:
            client.create_upgrade(cluster_id, "newton")
        await wait_for(pilot, lambda: service.snapshot(cluster_id) is not shown(), "a new one")
        await wait_for(pilot, lambda: shown() is None, "the snapshot the hosts tab showed freed")
