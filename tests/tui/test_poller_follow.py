"""While the engine moves an upgrade, the poller follows it through the server's step log
instead of re-reading every instance: what it derives is what a full read shows."""

from concurrent.futures import ThreadPoolExecutor

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.domain.statuses import Status
from kostyor_tui.service import poller
from kostyor_tui.service.snapshots import ClusterSnapshot
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.waiting import wait_until

# Steps slow enough that the upgrade is still moving after the polls the tests wait for,
# even on a loaded machine.
STEP_SECONDS = 0.2


def test_an_upgrade_followed_through_its_step_log_agrees_with_a_full_read(
    server_factory, monkeypatch
):
    monkeypatch.setattr(poller, "FULL_READ_EVERY", 1000)
    server = server_factory(step_seconds=STEP_SECONDS)
    with KostyorClient(server.url) as client:
        cluster = next(c for c in client.list_clusters() if c.name == "home_lab")
        cluster_id = cluster.id or ""
        first = poller.poll(client, [cluster_id], {}, (), everything=True)
        releases = first.releases
        snapshots: dict[str, ClusterSnapshot] = {cluster_id: first.watched[cluster_id]}
        upgrade = client.create_upgrade(cluster_id, "newton")

        def polled() -> ClusterSnapshot:
            result = poller.poll(client, [cluster_id], snapshots, releases, everything=False)
            snapshot = result.watched[cluster_id]
            assert snapshot is not None
            snapshots[cluster_id] = snapshot
            return snapshot

        def followed_a_while() -> bool:
            snapshot = polled()
            return (
                snapshot.status is Status.IN_PROGRESS
                and snapshot.followed_polls >= 3
                and snapshot.progress is not None
                and snapshot.progress.services_upgraded > 0
            )

        wait_until(followed_a_while, "polls following the upgrade's steps")
        snapshot = snapshots[cluster_id]
        full = {service.id: service for service in client.list_services(cluster_id)}
        later = client.upgrade_steps(upgrade.id or "", since=snapshot.steps_seen)
        assert later is not None
        # Whatever differs from the full read was stepped after the snapshot's last step.
        differing = {s.id for s in snapshot.services if full[s.id].version != s.version}
        assert differing <= {step.service_id for step in later}
        assert [s.id for s in snapshot.services] == list(full)
        assert snapshot.hosts == tuple(client.list_hosts(cluster_id))
        assert {s.version for s in snapshot.services} == {"mitaka", "newton"}


def test_followed_polls_are_bounded_by_a_full_read(server_factory, monkeypatch):
    monkeypatch.setattr(poller, "FULL_READ_EVERY", 2)
    server = server_factory(step_seconds=STEP_SECONDS)
    with KostyorClient(server.url) as client:
        cluster = next(c for c in client.list_clusters() if c.name == "home_lab")
        cluster_id = cluster.id or ""
        first = poller.poll(client, [cluster_id], {}, (), everything=True)
        snapshots = {cluster_id: first.watched[cluster_id]}
        client.create_upgrade(cluster_id, "newton")
        seen: list[int] = []

        def polled_enough() -> bool:
            result = poller.poll(client, [cluster_id], snapshots, first.releases, everything=False)
            snapshot = result.watched[cluster_id]
            assert snapshot is not None
            if snapshot is not snapshots[cluster_id]:
                seen.append(snapshot.followed_polls)
            snapshots[cluster_id] = snapshot
            return len(seen) >= 6 and snapshot.status is Status.IN_PROGRESS

        wait_until(polled_enough, "several polls of the upgrade")
        assert max(seen) == 1  # a followed poll, then a full read
        assert 0 in seen[1:]


def test_a_full_read_asks_for_hosts_and_services_at_once(server):
    # Each answer held back longer than the test waits for the other request: read one
    # after the other, the second would be asked for only after the first's answer.
    with FaultProxy(server.url) as proxy, KostyorClient(proxy.url) as client:
        cluster = next(c for c in client.list_clusters() if c.name == "home_lab")
        for path in (r"/hosts$", r"/services$"):
            proxy.inject(Fault.slow(4.0, method="GET", path=path))
        with ThreadPoolExecutor(max_workers=1) as reader:
            polled = reader.submit(poller.poll, client, [cluster.id or ""], {}, (), everything=True)
            wait_until(
                lambda: proxy.count("GET", r"/hosts$") and proxy.count("GET", r"/services$"),
                "both asked for",
                timeout=3.0,
            )
            snapshot = polled.result(30).watched[cluster.id or ""]
        assert snapshot is not None and snapshot.hosts
