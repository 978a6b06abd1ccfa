"""A settled cluster's hosts and services are not re-read at every poll; a moving one's are.

The console polls through a real recording proxy (`FaultProxy`, relaying every
request to the embedded server), which counts the requests: one GET /clusters
per poll, the GETs of the watched cluster's services, and of its upgrade's steps.
"""

from kostyor_tui.domain.statuses import Status
from kostyor_tui.service.poller import FULL_READ_EVERY
from kostyor_tui.service.snapshots import settled
from tests.support.faultproxy import FaultProxy
from tests.tui.conftest import select_cluster, start_upgrade_via_dialog, upgrade_status, wait_for


async def test_a_settled_cluster_is_re_read_only_when_it_may_have_moved(server_factory, make_app):
    server = server_factory(step_seconds=0.1)
    with FaultProxy(server.url) as proxy:
        app = make_app(proxy.url)

        def polls() -> int:
            return proxy.count("GET", r"^/clusters$")

        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            cluster_id = await select_cluster(pilot, app, "home_lab")
            services = f"^/clusters/{cluster_id}/services$"
            assert upgrade_status(app, cluster_id) is None  # no upgrade: nothing moves

            # Settled: polls go on (the cluster list is read) but not its services.
            await wait_for(pilot, lambda: app.service.connection.polling_since is None, "a poll")
            read, seen = proxy.count("GET", services), polls()
            await wait_for(pilot, lambda: polls() >= seen + 3, "three more polls")
            assert proxy.count("GET", services) == read

            # `r` re-reads everything.
            await pilot.press("r")
            await wait_for(pilot, lambda: proxy.count("GET", services) > read, "r to re-read")

            # Moving: every poll follows the upgrade, through the server's step log (its
            # steps since the last poll), with the services read in full at least every
            # FULL_READ_EVERY polls; every instance's move is seen, to the end.
            steps = r"^/upgrades/[^/]+/steps"
            await start_upgrade_via_dialog(pilot, app)
            polls_before, reads_before = polls(), proxy.count("GET", services)
            steps_before = proxy.count("GET", steps)
            await wait_for(
                pilot,
                lambda: upgrade_status(app, cluster_id) is Status.SUCCEEDED,
                "the upgrade to finish",
            )
            done = app.service.snapshot(cluster_id).progress
            assert done.services_upgraded == done.services_total > 0
            moving_polls = polls() - polls_before
            assert moving_polls >= 3
            # Every poll but the one that saw the end read the new steps.
            assert proxy.count("GET", steps) - steps_before >= moving_polls - 1
            full_reads = proxy.count("GET", services) - reads_before
            assert full_reads >= (moving_polls - 1) // FULL_READ_EVERY

            # Settled again: its services are no longer read at every poll. The poll that
            # saw the end may have listed the cluster before its status changed: the next
            # one then re-reads it, rightly. Counted from when what is shown is settled.
            await wait_for(
                pilot,
                lambda: settled(app.service.snapshot(cluster_id), app.service.cluster(cluster_id)),
                "the cluster settled",
            )
            await wait_for(pilot, lambda: app.service.connection.polling_since is None, "a poll")
            read, seen = proxy.count("GET", services), polls()
            await wait_for(pilot, lambda: polls() >= seen + 3, "three more polls")
            assert proxy.count("GET", services) == read
