"""A fleet read in full replaces every instance of the snapshot before; those are freed
by the next poll, in the poll thread, a piece at a time (`service.poller`'s doc), not at
once on the console's main thread when it lets go of the old snapshot."""

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
) -> dict[str, ClusterSnapshot | None]:
    """One poll reading everything; a client of its own, whose answers are validated anew
    (one answer the same as its client's last gives the same instances again)."""
    with KostyorClient(url) as client:
        return poller.poll(client, watched, previous, (), everything=True).watched


def _first_read(url: str) -> tuple[str, ClusterSnapshot, int]:
    """The cluster's id and snapshot, and the Service instances alive that are not its."""
    with KostyorClient(url) as client:
        cluster_id = next(c.id for c in client.list_clusters() if c.name == CLUSTER and c.id)
    snapshot = _read(url, [cluster_id], {})[cluster_id]
    assert snapshot is not None and snapshot.services
    return cluster_id, snapshot, _services_alive() - len(snapshot.services)


def _read_until_replaced(url: str, cluster_id: str, old: ClusterSnapshot) -> ClusterSnapshot:
    def replaced() -> ClusterSnapshot | None:
        new = _read(url, [cluster_id], {cluster_id: old})[cluster_id]
        return new if new is not old else None

    return wait_until(replaced, "a full read replacing the snapshot")


def test_instances_a_full_read_replaced_are_freed_by_the_next_poll(server):
    cluster_id, old, others = _first_read(server.url)
    fleet = len(old.services)
    with KostyorClient(server.url) as client:
        client.create_upgrade(cluster_id, "newton")  # its services change: a new snapshot
    new = _read_until_replaced(server.url, cluster_id, old)
    del old  # the console lets go of the old snapshot
    assert _services_alive() == others + 2 * fleet  # not freed where the console let go
    _read(server.url, [], {})
    assert _services_alive() == others + fleet  # freed by the next poll
    assert new.services


def test_instances_of_a_cluster_no_longer_watched_are_freed_by_the_next_poll(server):
    cluster_id, old, others = _first_read(server.url)
    fleet = len(old.services)
    _read(server.url, [], {cluster_id: old})  # the cursor moved away: it is dropped
    del old
    assert _services_alive() == others + fleet
    _read(server.url, [], {})
    assert _services_alive() == others
