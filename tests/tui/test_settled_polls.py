"""A settled cluster's hosts and services are not re-read at every poll; a moving one's are.

The reads are counted by wrapping the real client's methods (the calls still go
to the embedded server over HTTP).
"""

from itertools import pairwise

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.domain.statuses import Status
from kostyor_tui.service import ApiService
from tests.tui.conftest import select_cluster, start_upgrade_via_dialog, upgrade_status, wait_for


async def test_a_settled_cluster_is_re_read_only_when_it_may_have_moved(
    server_factory, make_app, monkeypatch
):
    server = server_factory(step_seconds=0.1)
    app = make_app(server.url)
    reads: list[str] = []
    # After each poll: the status it left the watched cluster in, and the reads so far.
    polls: list[tuple[Status | None, int]] = []
    watched: list[str] = []
    list_services = KostyorClient.list_services
    poll_once = ApiService._poll_once

    def counting_reads(self, cluster_id):
        reads.append(cluster_id)
        return list_services(self, cluster_id)

    async def recording_poll(self):
        result = await poll_once(self)
        if watched:
            polls.append((upgrade_status(app, watched[0]), reads.count(watched[0])))
        return result

    monkeypatch.setattr(KostyorClient, "list_services", counting_reads)
    monkeypatch.setattr(ApiService, "_poll_once", recording_poll)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        cluster_id = await select_cluster(pilot, app, "home_lab")
        watched.append(cluster_id)
        assert upgrade_status(app, cluster_id) is None  # no upgrade: nothing moves

        # Settled: polls go on (the cluster and its upgrades are read) but not its services.
        await wait_for(pilot, lambda: len(polls) >= 2, "two polls")
        read = reads.count(cluster_id)
        seen = len(polls)
        await wait_for(pilot, lambda: len(polls) >= seen + 3, "three more polls")
        assert reads.count(cluster_id) == read

        # `r` re-reads everything.
        await pilot.press("r")
        await wait_for(pilot, lambda: reads.count(cluster_id) > read, "r to re-read its services")

        # Moving: every poll that follows one seeing the upgrade in progress re-reads
        # the services, and every instance's move is seen, to the end.
        await start_upgrade_via_dialog(pilot, app)
        start = len(polls) - 1
        await wait_for(
            pilot,
            lambda: upgrade_status(app, cluster_id) is Status.SUCCEEDED,
            "the upgrade to finish",
        )
        done = app.service.snapshot(cluster_id).progress
        assert done.services_upgraded == done.services_total > 0
        history = polls[start:]
        moving = [
            (before, after)
            for before, after in pairwise(history)
            if before[0] is Status.IN_PROGRESS
        ]
        assert len(moving) >= 3, history
        assert all(after[1] > before[1] for before, after in moving), history

        # Settled again: its services are no longer read at every poll.
        read = reads.count(cluster_id)
        seen = len(polls)
        await wait_for(pilot, lambda: len(polls) >= seen + 3, "three more polls")
        assert reads.count(cluster_id) == read
