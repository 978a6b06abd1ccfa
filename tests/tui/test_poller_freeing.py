"""A fleet read in full replaces every instance of the snapshot before. A poll hands back
the hosts and services of the snapshots it replaced or dropped (`PollResult.replaced`), so
that they are not freed at once where the console lets go of the old snapshot (on its main
thread), but by `free_in_pieces`, which the console's poll loop calls once the result is
drawn (`service.poller`'s doc)."""

import gc
from collections.abc import Iterator, Mapping

import pytest

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.api.models import Service
from kostyor_tui.service import poller
from kostyor_tui.service.snapshots import ClusterSnapshot
from tests.support.waiting import wait_until

CLUSTER = "datacenter_east"


@pytest.fixture(autouse=True)
def _unfrozen_after() -> Iterator[None]:
    yield
    gc.unfreeze()


def _services_alive() -> int:
    """Service instances reachable (what a poll leaves is frozen by the poller: counted
    too; garbage earlier tests left in reference cycles is collected first)."""
    gc.unfreeze()
    gc.collect()
    return sum(isinstance(item, Service) for item in gc.get_objects())


def _read(
    url: str, watched: list[str], previous: Mapping[str, ClusterSnapshot]
) -> poller.PollResult:
    """One poll reading everything; a client of its own, whose answers are validated anew
    (one answer the same as its client's last gives the same instances again)."""
    with KostyorClient(url) as client:
        return poller.poll(client, watched, previous, (), everything=True)


def _first_read(url: str) -> tuple[str, ClusterSnapshot, int]:
    """The cluster's id and snapshot, and the Service instances alive that are not its."""
    with KostyorClient(url) as client:
        cluster_id = next(c.id for c in client.list_clusters() if c.name == CLUSTER and c.id)
    snapshot = _read(url, [cluster_id], {}).watched[cluster_id]
    assert snapshot is not None and snapshot.services
    return cluster_id, snapshot, _services_alive() - len(snapshot.services)


def _read_until_replaced(url: str, cluster_id: str, old: ClusterSnapshot) -> poller.PollResult:
    def replaced() -> poller.PollResult | None:
        result = _read(url, [cluster_id], {cluster_id: old})
        return result if result.watched[cluster_id] is not old else None

    return wait_until(replaced, "a full read replacing the snapshot")


def test_the_instances_a_full_read_replaced_are_kept_until_freed(server):
    cluster_id, old, others = _first_read(server.url)
    fleet = len(old.services)
    with KostyorClient(server.url) as client:
        client.create_upgrade(cluster_id, "newton")  # its services change: a new snapshot
    result = _read_until_replaced(server.url, cluster_id, old)
    del old  # the console lets go of the old snapshot
    assert _services_alive() == others + 2 * fleet  # not freed where the console let go
    poller.free_in_pieces(result.replaced)
    assert _services_alive() == others + fleet  # the new snapshot's, in `result`


def test_the_instances_of_a_cluster_no_longer_watched_are_kept_until_freed(server):
    cluster_id, old, others = _first_read(server.url)
    fleet = len(old.services)
    result = _read(server.url, [], {cluster_id: old})  # the cursor moved away: dropped
    del old
    assert _services_alive() == others + fleet
    poller.free_in_pieces(result.replaced)
    assert _services_alive() == others


def test_a_poll_that_replaced_nothing_hands_back_nothing(server):
    cluster_id, old, _ = _first_read(server.url)
    # Settled and unchanged: the same snapshot again, nothing to free.
    result = _read(server.url, [cluster_id], {cluster_id: old})
    assert result.watched[cluster_id] is old
    assert result.replaced == []
