"""Every quirk of the real server (docs/kostyor-api.md#quirks), over real HTTP.

The embedded server fixes these quirks (docs/kostyor-api.md#embedded-server),
so `QuirkyServer` replays answers of the real server's shapes, served by the
canned loopback server under the path prefix /kostyor/. What the client copes
with on the wire is tested on `KostyorClient`; what kostyor-tui decides (name
resolution, derived statuses, pre-checks, re-reading after a failed POST or PUT,
what the operator is told) on `Operations` over it. Each test names its quirk.
"""

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.api.errors import (
    Busy,
    NotFound,
    ProtocolError,
    Rejected,
    ServerError,
    TimedOut,
)
from kostyor_tui.api.models import Cluster
from kostyor_tui.domain.lifecycle import Action
from kostyor_tui.domain.statuses import Status
from kostyor_tui.errors import AmbiguousName, Refused
from kostyor_tui.headless.exit_codes import ExitCode, exit_code_for
from kostyor_tui.operations import Operations, Recheck
from tests.api.loopback import Connection, loopback_server
from tests.api.quirky_server import QuirkyServer
from tests.support.canned import Answer, CannedServer, Handler, canned_server, json_answer

PREFIX = "/kostyor/"


@dataclass
class Rig:
    """A canned server, a client on it under /kostyor/, operations over the client, and
    what the operations narrated and slept."""

    server: CannedServer
    client: KostyorClient
    ops: Operations
    notes: list[str] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)


@contextmanager
def rig(handler: Handler, *, prefix: str = PREFIX, **options) -> Iterator[Rig]:
    with canned_server(handler) as server, KostyorClient(server.url + prefix, **options) as client:
        notes: list[str] = []
        sleeps: list[float] = []
        ops = Operations(
            client,
            recheck=Recheck(attempts=3, interval=0.5),
            narrate=notes.append,
            sleep=sleeps.append,
        )
        yield Rig(server, client, ops, notes, sleeps)


@pytest.fixture
def real() -> QuirkyServer:
    server = QuirkyServer(prefix=PREFIX)
    server.add_cluster("c-1", "home_lab", "mitaka")
    server.add_cluster("c-2", "edge", "newton")
    return server


@pytest.fixture
def on_real(real: QuirkyServer) -> Iterator[Rig]:
    with rig(real.handle) as running:
        yield running


def home_lab(on: Rig) -> Cluster:
    return on.ops.resolve_cluster("home_lab")


# Quirk 1


@pytest.mark.parametrize("wrapped", [False, True])
def test_quirk_1_cluster_list_bare_or_wrapped(real: QuirkyServer, wrapped: bool) -> None:
    """docs/kostyor-api.md#quirk-wrapped-lists"""
    real.wrap_lists = wrapped
    with rig(real.handle) as on:
        clusters = on.client.list_clusters()
        upgrades = on.client.list_upgrades()
        hosts = on.client.list_hosts("c-1")
        paths = {request.path for request in on.server.requests}
    assert [(c.id, c.name, c.version) for c in clusters] == [
        ("c-1", "home_lab", "mitaka"),
        ("c-2", "edge", "newton"),
    ]
    assert clusters[0].status is Status.READY
    assert upgrades == []
    assert [host.id for host in hosts] == ["c-1-h1"]
    # The base URL's path prefix is kept in every request.
    assert paths == {"/kostyor/clusters", "/kostyor/upgrades", "/kostyor/clusters/c-1/hosts"}


# Quirk 2


def test_quirk_2_unknown_cluster_id_is_not_found_not_server_error(on_real: Rig) -> None:
    """docs/kostyor-api.md#quirk-unknown-ids"""
    client = on_real.client
    with pytest.raises(NotFound) as caught:
        client.get_cluster("nope")
    for call in (client.list_hosts, client.list_services, client.list_upgrade_versions):
        with pytest.raises(NotFound):
            call("nope")
    message = caught.value.one_line()
    assert "'nope'" in message and "edge, home_lab" in message
    assert "500" not in message
    assert exit_code_for(caught.value) == ExitCode.NOT_FOUND
    # Resolved through GET /clusters after the 500.
    assert on_real.server.sent("GET", r"^/kostyor/clusters$")


def test_quirk_2_html_500_for_upgrade_versions_of_unknown_cluster(on_real: Rig) -> None:
    """docs/kostyor-api.md#quirk-unknown-ids"""
    assert on_real.client.list_upgrade_versions("c-1") == ["newton", "ocata"]
    with pytest.raises(NotFound, match="No cluster named or with id 'ghost'"):
        on_real.client.list_upgrade_versions("ghost")


def test_quirk_2_a_500_for_a_known_cluster_stays_a_server_error() -> None:
    """When the id is in GET /clusters, the 500 was a real server error: say so."""

    def handler(method, path, query, headers, body) -> Answer:
        if path == "/clusters":
            return json_answer(200, [{"id": "c-1", "name": "home_lab"}])
        return json_answer(500, {"message": "database is locked"})

    with rig(handler, prefix="/") as on, pytest.raises(ServerError) as caught:
        on.client.get_cluster("c-1")
    assert "database is locked" in caught.value.one_line()
    assert exit_code_for(caught.value) == ExitCode.SERVER == 7


def test_quirk_2_unknown_upgrade_id_is_not_found(real: QuirkyServer, on_real: Rig) -> None:
    """docs/kostyor-api.md#quirk-unknown-ids"""
    real.add_upgrade("u-1", "c-1", status="UPGRADE SUCCEED")
    assert on_real.client.get_upgrade("u-1").status is Status.SUCCEEDED
    with pytest.raises(NotFound, match="No upgrade with id 'u-9'"):
        on_real.client.get_upgrade("u-9")
    with pytest.raises(NotFound, match="No upgrade with id 'u-9'"):
        on_real.ops.upgrade("u-9")


def test_resolve_cluster_by_id_name_ambiguous_and_unknown(real: QuirkyServer, on_real: Rig) -> None:
    real.add_cluster("c-3", "edge", "ocata")
    # An id wins over a name that happens to equal it.
    real.add_cluster("c-4", "c-1", "ocata")
    ops = on_real.ops
    assert ops.resolve_cluster("home_lab").id == "c-1"
    assert ops.resolve_cluster("c-1").name == "home_lab"
    with pytest.raises(AmbiguousName) as ambiguous:
        ops.resolve_cluster("edge")
    with pytest.raises(NotFound) as unknown:
        ops.resolve_cluster("lab")
    assert "c-2, c-3" in ambiguous.value.one_line()
    assert exit_code_for(ambiguous.value) == ExitCode.USAGE == 2
    assert "known clusters: c-1, edge, home_lab" in unknown.value.one_line()
    assert on_real.server.count("POST") == on_real.server.count("PUT") == 0


# Quirk 3


def test_quirk_3_cluster_filter_applied_on_the_client(real: QuirkyServer, on_real: Rig) -> None:
    """docs/kostyor-api.md#quirk-cluster-filter-ignored"""
    real.add_upgrade("u-1", "c-1", status="UPGRADE SUCCEED")
    real.add_upgrade("u-2", "c-2", status="UPGRADE SUCCEED")
    real.add_upgrade("u-3", "c-1", status="UPGRADE CANCELLED")
    upgrades = on_real.client.list_upgrades("c-1")
    everything = on_real.client.list_upgrades()
    assert [u.id for u in upgrades] == ["u-1", "u-3"]
    assert len(everything) == 3
    assert on_real.server.sent("GET", r"/upgrades$")[0].query == {"cluster_id": "c-1"}
    assert [u.id for u in on_real.ops.upgrades("c-1")] == ["u-1", "u-3"]


# Quirk 4


def test_quirk_4_null_status_of_a_new_upgrade_is_derived(real: QuirkyServer, on_real: Rig) -> None:
    """docs/kostyor-api.md#quirk-null-upgrade-status: the client gives the server's null
    as it is; the operations derive the status from the cluster's."""
    ops = on_real.ops
    upgrade = ops.start_upgrade(home_lab(on_real), "newton")
    assert upgrade.id == "upgrade-1"
    assert upgrade.status is Status.IN_PROGRESS
    assert upgrade.raw_status is None
    assert ops.upgrade("upgrade-1").status is Status.IN_PROGRESS
    assert ops.current_upgrade("c-1").status is Status.IN_PROGRESS
    assert ops.current_upgrade("c-2") is None
    assert [u.status for u in ops.upgrades()] == [Status.IN_PROGRESS]
    # The client does not derive: the server's own answer still says null.
    assert on_real.client.get_upgrade("upgrade-1").status is Status.UNKNOWN
    assert real.upgrades[0]["status"] is None
    assert on_real.server.count("POST") == 1


def test_quirk_4_only_the_newest_upgrade_takes_the_clusters_status(
    real: QuirkyServer, on_real: Rig
) -> None:
    real.add_upgrade("old", "c-1", status=None, start="2026-11-20T10:00:00")
    real.add_upgrade("new", "c-1", status=None, start="2026-11-24T10:00:00")
    real.clusters[0]["status"] = "UPGRADE PAUSED"
    assert on_real.ops.upgrade("old").status is Status.UNKNOWN
    assert on_real.ops.upgrade("new").status is Status.PAUSED
    assert {u.id: u.status for u in on_real.ops.upgrades("c-1")} == {
        "old": Status.UNKNOWN,
        "new": Status.PAUSED,
    }


# Quirk 5


def test_quirk_5_put_answer_ignored_state_re_read(real: QuirkyServer, on_real: Rig) -> None:
    """docs/kostyor-api.md#quirk-action-on-oldest"""
    real.add_upgrade("u-1", "c-1", status="UPGRADE IN PROGRESS")
    real.clusters[0]["status"] = "UPGRADE IN PROGRESS"
    upgrade = on_real.ops.act(home_lab(on_real), Action.PAUSE)
    # The answer was {"id": "c-1", "status": ...}: never shown as an upgrade id.
    assert (upgrade.id, upgrade.cluster_id, upgrade.status) == ("u-1", "c-1", Status.PAUSED)
    assert (upgrade.from_version, upgrade.to_version) == ("mitaka", "newton")
    requests = on_real.server.requests
    (put,) = on_real.server.sent("PUT")
    assert put.path == "/kostyor/upgrades/u-1"
    after_put = requests[requests.index(put) + 1 :]
    assert {r.path for r in after_put} == {"/kostyor/clusters/c-1", "/kostyor/upgrades"}
    assert on_real.notes == []


def test_quirk_5_action_applied_to_an_older_upgrade_is_reported(real: QuirkyServer) -> None:
    """Changed: this is narrated (a note to the operator) and the current upgrade, re-read,
    is returned; it used to be raised as a ServerError."""
    real.add_upgrade("u-old", "c-1", status="UPGRADE CANCELLED", start="2026-11-24T09:00:00")
    real.add_upgrade("u-new", "c-1", status=None, start="2026-11-24T10:00:00")
    real.clusters[0]["status"] = "UPGRADE IN PROGRESS"

    def handler(method, path, query, headers, body) -> Answer:
        answer = real.handle(method, path, query, headers, body)
        if method == "PUT":
            # This server changes only the oldest upgrade, not the cluster.
            real.clusters[0]["status"] = "UPGRADE IN PROGRESS"
        return answer

    with rig(handler) as on:
        upgrade = on.ops.act(home_lab(on), Action.PAUSE)
        puts = on.server.count("PUT")
    assert (upgrade.id, upgrade.status) == ("u-new", Status.IN_PROGRESS)
    (note,) = on.notes
    assert "recorded the pause on an older upgrade of home_lab, u-old (now UPGRADE PAUSED)" in note
    assert "not on its current one, u-new; the cluster is now UPGRADE IN PROGRESS" in note
    assert puts == 1


def test_an_accepted_action_that_changed_nothing_is_narrated(real: QuirkyServer) -> None:
    real.add_upgrade("u-1", "c-1", status="UPGRADE IN PROGRESS")
    real.clusters[0]["status"] = "UPGRADE IN PROGRESS"

    def handler(method, path, query, headers, body) -> Answer:
        if method == "PUT":
            return json_answer(200, {"id": "c-1", "status": "UPGRADE PAUSED"})  # but does nothing
        return real.handle(method, path, query, headers, body)

    with rig(handler) as on:
        upgrade = on.ops.act(home_lab(on), Action.PAUSE)
    assert upgrade.status is Status.IN_PROGRESS
    assert on.notes == [
        "the server accepted the pause, but upgrade u-1 is still UPGRADE IN PROGRESS"
    ]


# Quirk 6


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("UPGRADE CANCELLED", Action.CONTINUE),
        ("UPGRADE IN PROGRESS", Action.CONTINUE),
        ("UPGRADE PAUSED", Action.PAUSE),
        ("UPGRADE ERROR", Action.CANCEL),
        ("UPGRADE SUCCEED", Action.ROLLBACK),
        ("UPGRADE ROLLBACK IN PROGRESS", Action.PAUSE),
    ],
)
def test_quirk_6_invalid_actions_refused_before_sending(
    real: QuirkyServer, on_real: Rig, status: str, action: Action
) -> None:
    """docs/kostyor-api.md#quirk-no-transition-checks: kostyor-tui is the only guard."""
    real.add_upgrade("u-1", "c-1", status=status)
    with pytest.raises(Refused) as caught:
        on_real.ops.act(home_lab(on_real), action)
    assert not on_real.server.sent("PUT")
    message = caught.value.one_line()
    assert f"Cannot {action} the upgrade of cluster home_lab: it is {status}" in message
    assert exit_code_for(caught.value) == ExitCode.REJECTED == 4
    # It may be sent anyway, on purpose: once.
    assert caught.value.forceable
    on_real.ops.act(home_lab(on_real), action, force=True)
    assert len(on_real.server.sent("PUT")) == 1


@pytest.mark.parametrize(
    ("status", "action", "result"),
    [
        ("UPGRADE IN PROGRESS", Action.PAUSE, Status.PAUSED),
        ("UPGRADE PAUSED", Action.CONTINUE, Status.IN_PROGRESS),
        ("UPGRADE ERROR", Action.CONTINUE, Status.IN_PROGRESS),
        ("UPGRADE ERROR", Action.ROLLBACK, Status.ROLLBACK_IN_PROGRESS),
        ("UPGRADE PAUSED", Action.CANCEL, Status.CANCELLED),
    ],
)
def test_quirk_6_valid_actions_are_sent(
    real: QuirkyServer, on_real: Rig, status: str, action: Action, result: Status
) -> None:
    real.add_upgrade("u-1", "c-1", status=status)
    real.clusters[0]["status"] = status
    upgrade = on_real.ops.act(home_lab(on_real), action)
    assert upgrade.status is result
    (put,) = on_real.server.sent("PUT")
    assert put.json() == {"cluster_id": "c-1", "action": str(action)}
    assert list(put.json()) == ["cluster_id", "action"]
    assert put.headers["content-type"] == "application/json"


def test_a_null_upgrade_status_is_checked_against_the_clusters(
    real: QuirkyServer, on_real: Rig
) -> None:
    real.add_upgrade("u-1", "c-1", status=None)
    real.clusters[0]["status"] = "UPGRADE IN PROGRESS"
    with pytest.raises(Refused, match="possible now: pause, rollback, cancel"):
        on_real.ops.act(home_lab(on_real), Action.CONTINUE)
    assert on_real.ops.act(home_lab(on_real), Action.PAUSE).status is Status.PAUSED


def test_unknown_action_refused(on_real: Rig) -> None:
    cluster = Cluster(id="c-1", name="home_lab")
    with pytest.raises(Refused, match="Unknown upgrade action 'explode'") as caught:
        on_real.ops.act(cluster, "explode")  # type: ignore[arg-type]
    assert "pause, continue, rollback, cancel" in caught.value.one_line()
    assert not caught.value.forceable
    assert not on_real.server.requests


def test_starting_while_in_progress_or_version_unknown_refused(
    real: QuirkyServer, on_real: Rig
) -> None:
    real.clusters[0]["status"] = "UPGRADE IN PROGRESS"
    real.add_cluster("c-3", "mystery", "unknown")
    real.add_cluster("c-4", "empty", "mitaka", hosts=0)
    ops = on_real.ops
    with pytest.raises(Refused, match="already in progress") as in_progress:
        ops.start_upgrade(home_lab(on_real), "newton")
    with pytest.raises(Refused, match="version is unknown"):
        ops.start_upgrade(ops.resolve_cluster("mystery"), "newton")
    # New pre-check: a cluster without hosts has nothing to upgrade.
    with pytest.raises(Refused, match="the cluster has no hosts"):
        ops.start_upgrade(ops.resolve_cluster("empty"), "newton")
    with pytest.raises(NotFound, match="known clusters"):
        ops.resolve_cluster("nope")
    with pytest.raises(NotFound, match="No cluster named or with id 'nope'"):
        ops.start_upgrade(Cluster(id="nope", name="nope"), "newton")
    assert not on_real.server.sent("POST")
    assert in_progress.value.forceable
    assert "--force" in in_progress.value.one_line()
    # Forced, it is sent once; the real server refuses only this very status.
    with pytest.raises(Rejected, match="already has an upgrade in progress"):
        ops.start_upgrade(home_lab(on_real), "newton", force=True)
    assert len(on_real.server.sent("POST")) == 1


def test_read_only_refuses_every_change_before_sending(real: QuirkyServer) -> None:
    real.add_upgrade("u-1", "c-1", status="UPGRADE IN PROGRESS")
    with rig(real.handle) as on:
        ops = Operations(on.client, read_only=True)
        cluster = ops.resolve_cluster("home_lab")
        for change in (
            lambda: ops.start_upgrade(cluster, "newton", force=True),
            lambda: ops.act(cluster, Action.PAUSE, force=True),
            lambda: ops.discover("openstack", "new_lab", allow_duplicate=True),
        ):
            with pytest.raises(Refused, match="read-only mode is on") as caught:
                change()
            assert exit_code_for(caught.value) == ExitCode.REJECTED
            assert not caught.value.forceable
        assert on.server.count("POST") == on.server.count("PUT") == 0


# Quirk 7


def test_quirk_7_action_on_a_cluster_that_never_had_an_upgrade(on_real: Rig) -> None:
    """docs/kostyor-api.md#quirk-action-without-upgrade"""
    with pytest.raises(NotFound) as caught:
        on_real.ops.act(home_lab(on_real), Action.PAUSE)
    assert "never had an upgrade" in caught.value.one_line()
    assert not on_real.server.sent("PUT")


# Quirk 8


def test_quirk_8_post_500_after_saving_is_reported_and_not_retried(
    real: QuirkyServer, on_real: Rig
) -> None:
    """docs/kostyor-api.md#quirk-500-after-save"""
    real.broker_down = True
    with pytest.raises(ServerError) as caught:
        on_real.ops.start_upgrade(home_lab(on_real), "newton")
    message = caught.value.one_line()
    assert "answered 500" in message
    assert (
        "but the upgrade was saved: upgrade-1, cluster home_lab is UPGRADE IN PROGRESS" in message
    )
    assert "do not start it again" in message
    assert len(on_real.server.sent("POST")) == 1
    # A server's answer settles it: read once, no waiting.
    assert on_real.sleeps == []


def test_quirk_8_post_500_without_saving_says_nothing_was_saved() -> None:
    def handler(method, path, query, headers, body) -> Answer:
        if method == "POST":
            return json_answer(500, {"message": "Internal Server Error"})
        if path == "/clusters/c-1":
            return json_answer(
                200,
                {"id": "c-1", "name": "lab", "version": "mitaka", "status": "READY FOR UPGRADE"},
            )
        if path == "/clusters/c-1/hosts":
            return json_answer(200, [{"id": "h-1", "hostname": "lab-01", "cluster_id": "c-1"}])
        return json_answer(200, [])

    with rig(handler, prefix="/") as on:
        with pytest.raises(ServerError) as caught:
            on.ops.start_upgrade(Cluster(id="c-1", name="lab"), "newton")
        posts = on.server.count("POST")
    assert "no upgrade was saved, cluster lab is READY FOR UPGRADE" in caught.value.one_line()
    assert "safe to try again" in caught.value.one_line()
    assert posts == 1


def _saves_then_answers_late(real: QuirkyServer, delay: float) -> Handler:
    """POSTs are handled (the server acts) but answered only after `delay` seconds."""

    def handler(method, path, query, headers, body) -> Answer:
        answer = real.handle(method, path, query, headers, body)
        if method == "POST":
            time.sleep(delay)
        return answer

    return handler


def test_quirk_8_post_timeout_re_reads_state(real: QuirkyServer) -> None:
    """The request reached the server, which saved the upgrade, but no answer came in time."""
    with rig(_saves_then_answers_late(real, 1.0), timeout=0.3) as on:
        with pytest.raises(TimedOut) as caught:
            on.ops.start_upgrade(home_lab(on), "newton")
        posts = on.server.count("POST")
    assert "did not answer within 0.3 s" in caught.value.one_line()
    assert "but the upgrade was saved: upgrade-1" in caught.value.one_line()
    assert caught.value.outcome_unknown
    assert posts == 1


def test_quirk_8_post_timeout_with_nothing_saved_yet_is_not_called_safe() -> None:
    """No answer, and the re-reads (3, 0.5 s apart) list nothing new: the server may still
    be saving it, so kostyor-tui does not say it is safe to try again."""
    requests_seen = threading.Event()

    def handler(method, path, query, headers, body) -> Answer:
        if method == "POST":
            requests_seen.set()
            time.sleep(1.0)
            return json_answer(500, {"message": "too late"})
        if path == "/clusters/c-1":
            return json_answer(
                200,
                {"id": "c-1", "name": "lab", "version": "mitaka", "status": "READY FOR UPGRADE"},
            )
        if path == "/clusters/c-1/hosts":
            return json_answer(200, [{"id": "h-1", "cluster_id": "c-1"}])
        return json_answer(200, [])

    with rig(handler, prefix="/", timeout=0.3) as on:
        with pytest.raises(TimedOut) as caught:
            on.ops.start_upgrade(Cluster(id="c-1", name="lab"), "newton")
        upgrade_reads = on.server.count("GET", r"^/upgrades$")
    message = caught.value.one_line()
    assert "no new upgrade is listed yet, but the server may still be saving it" in message
    assert "run list-upgrades before trying again" in message
    assert "safe to try again" not in message
    assert on.sleeps == [0.5, 0.5]
    assert upgrade_reads == 1 + 3  # the pre-check's read, then three re-reads
    assert requests_seen.is_set()


def test_quirk_8_put_500_re_reads_and_says_whether_it_took_effect(real: QuirkyServer) -> None:
    real.add_upgrade("u-1", "c-1", status="UPGRADE IN PROGRESS")

    def handler(method, path, query, headers, body) -> Answer:
        answer = real.handle(method, path, query, headers, body)  # the action is applied...
        if method == "PUT":
            return json_answer(500, {"message": "Internal Server Error"})  # ...then a 500
        return answer

    with rig(handler) as on:
        with pytest.raises(ServerError) as caught:
            on.ops.act(home_lab(on), Action.PAUSE)
        puts = on.server.count("PUT")
    assert "but the pause took effect: upgrade u-1 is now UPGRADE PAUSED" in (
        caught.value.one_line()
    )
    assert puts == 1


@pytest.mark.parametrize(
    ("status", "kind", "said"),
    [
        (500, ServerError, "answered 500: broker down"),
        # Busy now, but a 5xx all the same: the state is re-read.
        (503, Busy, "the server is busy (503): broker down"),
    ],
)
def test_quirk_8_put_5xx_that_changed_nothing(
    real: QuirkyServer, status: int, kind: type, said: str
) -> None:
    real.add_upgrade("u-1", "c-1", status="UPGRADE IN PROGRESS")

    def handler(method, path, query, headers, body) -> Answer:
        if method == "PUT":
            return json_answer(status, {"message": "broker down"})
        return real.handle(method, path, query, headers, body)

    with rig(handler) as on:
        with pytest.raises(kind) as caught:
            on.ops.act(home_lab(on), Action.CANCEL)
        puts = on.server.count("PUT")
    message = caught.value.one_line()
    assert said in message
    assert "and the upgrade u-1 is still UPGRADE IN PROGRESS" in message
    assert "check before retrying" in message
    assert puts == 1


def test_a_429_to_a_put_is_not_re_read() -> None:
    """429: the server did not take the request (RFC 6585); nothing to re-read."""
    server = QuirkyServer(prefix=PREFIX)
    server.add_cluster("c-1", "home_lab", "mitaka", "UPGRADE IN PROGRESS")
    server.add_upgrade("u-1", "c-1", status="UPGRADE IN PROGRESS")

    def handler(method, path, query, headers, body) -> Answer:
        if method == "PUT":
            return json_answer(429, {"message": "slow down"}, {"Retry-After": "7"})
        return server.handle(method, path, query, headers, body)

    with rig(handler) as on:
        with pytest.raises(Busy) as caught:
            on.ops.act(home_lab(on), Action.PAUSE)
        reads_after = on.server.requests[-1].method
    assert caught.value.retry_after == 7
    assert caught.value.one_line().endswith("try again in 7 s")
    assert reads_after == "PUT"


# Quirk 9


def test_quirk_9_html_404_and_405_never_crash(on_real: Rig) -> None:
    """docs/kostyor-api.md#quirk-html-errors"""
    transport = on_real.client._transport
    with pytest.raises(NotFound) as not_found:
        transport.request("GET", "no-such-path", what="read a path")
    with pytest.raises(ProtocolError) as not_allowed:
        transport.request("DELETE", "clusters", what="delete clusters")
    assert "has no GET /no-such-path" in not_found.value.one_line()
    assert "404 Not Found" in not_found.value.one_line()
    assert "path prefix" in not_found.value.one_line()
    assert "does not accept DELETE /clusters (405)" in not_allowed.value.one_line()


def test_quirk_9_wrong_api_url_gives_a_clear_not_found() -> None:
    """An api_url missing its prefix meets the front server's HTML 404 pages."""
    server = QuirkyServer(prefix=PREFIX)

    def handler(method, path, query, headers, body) -> Answer:
        if not path.startswith(PREFIX):
            return 404, {"Content-Type": "text/html"}, b"<html><title>Not here</title></html>"
        return server.handle(method, path, query, headers, body)

    with rig(handler, prefix="/") as on, pytest.raises(NotFound, match="has no GET /clusters"):
        on.client.list_clusters()


def test_steps_are_none_on_a_server_without_a_step_log(real: QuirkyServer, on_real: Rig) -> None:
    """The real server has no GET /upgrades/{id}/steps: an HTML 404, so no step log."""
    real.add_upgrade("u-1", "c-1", status="UPGRADE IN PROGRESS")
    assert on_real.client.upgrade_steps("u-1") is None


# Quirk 10


def test_quirk_10_concurrency_is_bounded() -> None:
    """docs/kostyor-api.md#quirk-single-threaded: requests in flight at the server never
    exceed the client's pool, however many threads call it."""
    server = QuirkyServer(prefix=PREFIX)
    server.add_cluster("c-1", "home_lab")
    server.add_cluster("c-2", "edge")
    lock = threading.Condition()
    in_flight = 0
    most = 0

    def handler(method, path, query, headers, body) -> Answer:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
            lock.notify_all()
            # Hold the request until the pool is full (or a while), so that more could
            # start if the client allowed them.
            lock.wait_for(lambda: in_flight >= 3, timeout=0.3)
        time.sleep(0.02)
        with lock:
            in_flight -= 1
        return server.handle(method, path, query, headers, body)

    with rig(handler, max_connections=3) as on, ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: on.client.list_clusters(), range(20)))
    assert all(len(clusters) == 2 for clusters in results)
    assert most == 3


def test_quirk_10_connections_are_bounded_on_raw_sockets() -> None:
    """Counted by a raw loopback server that closes each connection after one answer:
    connections open at once never exceed the pool."""
    lock = threading.Lock()
    open_now = 0
    most = 0

    def slow_answer(connection: Connection) -> None:
        nonlocal open_now, most
        with lock:
            open_now += 1
            most = max(most, open_now)
        try:
            connection.read_request_head()
            connection.pause(0.05)
            connection.send(
                b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]"
            )
        finally:
            with lock:
                open_now -= 1

    with (
        loopback_server(slow_answer) as port,
        KostyorClient(f"http://127.0.0.1:{port}/", max_connections=2) as client,
        ThreadPoolExecutor(12) as pool,
    ):
        results = list(pool.map(lambda _: client.list_clusters(), range(12)))
    assert results == [[]] * 12
    assert most == 2


# Quirk 11


def test_quirk_11_discovery_gets_the_long_timeout(real: QuirkyServer) -> None:
    """docs/kostyor-api.md#quirk-slow-discovery: a discovery slower than the client's
    timeout succeeds; any other request as slow times out."""
    slow = 0.6

    def handler(method, path, query, headers, body) -> Answer:
        if path.endswith("/clusters/discover"):
            time.sleep(slow)
        return real.handle(method, path, query, headers, body)

    with rig(handler, timeout=0.3, discovery_timeout=30) as on:
        assert on.client.discovery_timeout == 30
        cluster = on.ops.discover("openstack", "new_lab", {"region": "one"})
        with pytest.raises(TimedOut, match=r"did not answer within 0\.3 s"):
            on.client.list_discovery_methods()
        (post,) = on.server.sent("POST", r"/clusters/discover$")
    assert cluster.name == "new_lab"
    assert post.json() == {
        "name": "new_lab",
        "method": "openstack",
        "parameters": {"region": "one"},
    }


def test_discovery_of_a_name_in_use_is_refused(on_real: Rig) -> None:
    with pytest.raises(Refused, match="A cluster named 'edge' already exists") as caught:
        on_real.ops.discover("openstack", "edge")
    assert "--allow-duplicate" in caught.value.one_line()
    assert not on_real.server.sent("POST")
    assert on_real.ops.discover("openstack", "edge", allow_duplicate=True).name == "edge"
    assert len(on_real.server.sent("POST")) == 1


def test_discovery_failure_says_whether_the_cluster_was_created(real: QuirkyServer) -> None:
    with rig(_saves_then_answers_late(real, 1.0), timeout=0.3, discovery_timeout=0.3) as on:
        with pytest.raises(TimedOut) as caught:
            on.ops.discover("openstack", "slow_lab")
        posts = on.server.count("POST")
    assert "but the cluster was created: slow_lab (new-2), version mitaka" in (
        caught.value.one_line()
    )
    assert "do not discover it again" in caught.value.one_line()
    assert posts == 1


@pytest.mark.parametrize("answer", [b"[1]", b"<html>oops</html>", b'{"id": {"no": 1}}'])
def test_a_garbled_answer_to_a_post_is_re_read_too(real: QuirkyServer, answer: bytes) -> None:
    """The upgrade was saved although its 201 answer is garbage: say so, once."""

    def handler(method, path, query, headers, body) -> Answer:
        response = real.handle(method, path, query, headers, body)
        if method == "POST":
            return 201, {"Content-Type": "application/json"}, answer
        return response

    with rig(handler) as on:
        with pytest.raises(ProtocolError) as started:
            on.ops.start_upgrade(home_lab(on), "newton")
        with pytest.raises(ProtocolError) as discovered:
            on.ops.discover("openstack", "garbled_lab")
        upgrade_posts = on.server.count("POST", r"/upgrades$")
        discover_posts = on.server.count("POST", r"/clusters/discover$")
    assert "but the upgrade was saved: upgrade-1" in started.value.one_line()
    assert "but the cluster was created: garbled_lab" in discovered.value.one_line()
    assert upgrade_posts == 1
    assert discover_posts == 1


def test_discovery_500_with_nothing_created_explains_the_parameters(real: QuirkyServer) -> None:
    """docs/kostyor-api.md#quirk-discovery-parameters"""

    def handler(method, path, query, headers, body) -> Answer:
        if method == "POST":
            return json_answer(500, {"message": "Driver() takes no arguments"})
        return real.handle(method, path, query, headers, body)

    with rig(handler) as on, pytest.raises(ServerError) as caught:
        on.ops.discover("openstack-ansible", "osa", {"inventory": "/etc/x.json"})
    message = caught.value.one_line()
    assert "no cluster was created (method openstack-ansible, parameters sent: inventory)" in (
        message
    )
    assert "takes no parameters" in message
    assert "safe to try again" not in message
