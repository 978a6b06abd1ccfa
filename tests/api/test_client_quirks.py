"""Every quirk of the real server (docs/kostyor-api.md#quirks), over real HTTP.

Against the embedded server in upstream mode (docs/kostyor-api.md#upstream-mode), which
answers as the real server does, quirks included: the real `KostyorClient` and the real
`Operations` over it, through a `FaultProxy` that only relays and records what reached
the server (to count POSTs and PUTs); the state a test starts from is set up straight on
the server. What the client copes with on the wire is tested on `KostyorClient`; what
kostyor-tui decides (name resolution, derived statuses, pre-checks, re-reading after a
failed POST or PUT, what the operator is told) on `Operations`. Each test names its quirk.

`QuirkyServer`, on the canned loopback server, replays only what no mode of the embedded
server produces, and each such test says so: the wrapped lists of older servers, a 500 for
a cluster that exists, an action accepted that changes nothing, a PUT answered with a 5xx
or a 429, an answer that comes too late or is garbled, and the counting of requests in
flight.
"""

import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
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
from kostyor_tui.commands import COMMANDS, CommandContext, upgrade_status_report
from kostyor_tui.domain.lifecycle import LIFECYCLE, Action
from kostyor_tui.domain.statuses import Status
from kostyor_tui.errors import AmbiguousName, Refused
from kostyor_tui.headless.exit_codes import ExitCode, exit_code_for
from kostyor_tui.headless.render import OutputOptions, render
from kostyor_tui.headless.views import VIEWS
from kostyor_tui.operations import AuditEvent, Operations, Recheck
from kostyor_tui.server.runner import BackgroundServer
from tests.api.loopback import Connection, loopback_server
from tests.api.quirky_server import QuirkyServer
from tests.server.waiting import wait_for_status
from tests.support.canned import Answer, CannedServer, Handler, canned_server, json_answer
from tests.support.faultproxy import FaultProxy, RecordedRequest
from tests.support.servers import running_server

PREFIX = "/kostyor/"
AIO_INVENTORY = Path(__file__).parents[1] / "server" / "fixtures" / "osa-inventory-aio.json"
DEMO_NAMES = "datacenter_east, home_lab, legacy, staging"


def _operations(client: KostyorClient, notes: list[str], sleeps: list[float]) -> Operations:
    return Operations(
        client,
        recheck=Recheck(attempts=3, interval=0.5),
        narrate=notes.append,
        sleep=sleeps.append,
    )


# The embedded server in upstream mode


@dataclass
class Live:
    """An upstream-mode server; the client on a recording proxy in front of it, operations
    over the client, and what they narrated and slept; `http` goes straight to the server,
    unrecorded, to set a state up."""

    server: BackgroundServer
    proxy: FaultProxy
    client: KostyorClient
    ops: Operations
    http: httpx.Client
    notes: list[str] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    def id(self, name: str) -> str:
        return next(c["id"] for c in self.http.get("/clusters").json() if c["name"] == name)

    def cluster(self, name: str) -> Cluster:
        return self.ops.resolve_cluster(name)

    def start(self, name: str = "home_lab", to_version: str = "newton") -> dict[str, Any]:
        """An upgrade as the real server starts one (a null status); service-by-service,
        which the demo fleet's service names pass (node-by-node fails: quirk 13)."""
        body = {"cluster_id": self.id(name), "to_version": to_version}
        answer = self.http.post("/upgrades", json={**body, "engine": "service-by-service"})
        assert answer.status_code == 201, answer.text
        return answer.json()

    def act(self, name: str, action: str) -> None:
        body = {"cluster_id": self.id(name), "action": action}
        assert self.http.put("/upgrades/any", json=body).status_code == 200

    def upgrades(self, name: str) -> list[dict[str, Any]]:
        own = self.id(name)
        return [u for u in self.http.get("/upgrades").json() if u["cluster_id"] == own]

    def discover_small(self, name: str, **parameters: str) -> dict[str, Any]:
        """A simulated cluster: one compute node unless `parameters` say otherwise."""
        counts = {"controllers": "0", "computes": "1", "storage": "0", **parameters}
        body = {"name": name, "method": "simulated", "parameters": counts}
        answer = self.http.post("/clusters/discover", json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def sent(self, method: str, path: str | None = None) -> list[RecordedRequest]:
        """What reached the server through the proxy, by method and path regex."""
        return [
            request
            for request in self.proxy.requests
            if request.method == method and (path is None or re.search(path, request.path))
        ]


@contextmanager
def live(server: BackgroundServer, **client_options: Any) -> Iterator[Live]:
    with (
        FaultProxy(server.url) as proxy,
        KostyorClient(proxy.url + "/", **client_options) as client,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        notes: list[str] = []
        sleeps: list[float] = []
        yield Live(server, proxy, client, _operations(client, notes, sleeps), http, notes, sleeps)


@pytest.fixture
def upstream(server_factory) -> Iterator[Live]:
    """The demo fleet (home_lab, staging with a finished upgrade, legacy at `unknown`,
    datacenter_east), served as the real server answers."""
    with live(server_factory(behave="upstream")) as running:
        yield running


def failed_in_the_default_mode(db_path: Path) -> None:
    """home_lab's upgrade left in `UPGRADE ERROR`, for upstream mode to serve next: the
    real server has that status, but only its workers set it, and upstream mode runs none.
    The default mode's engine fails the first step (on controller-01) on purpose."""
    with (
        running_server(db_path, step_seconds=0.01, fail_host="controller-01") as fixed,
        httpx.Client(base_url=fixed.url, timeout=30) as http,
    ):
        home = next(c["id"] for c in http.get("/clusters").json() if c["name"] == "home_lab")
        upgrade = http.post("/upgrades", json={"cluster_id": home, "to_version": "newton"})
        wait_for_status(http, upgrade.json()["id"], "UPGRADE ERROR")


@pytest.fixture
def upstream_after_an_error(server_factory, tmp_path: Path) -> Iterator[Live]:
    db_path = tmp_path / "failed.sqlite3"
    failed_in_the_default_mode(db_path)
    with live(server_factory(db_path=db_path, behave="upstream")) as running:
        yield running


# The canned stand-in, for what no mode of the embedded server produces


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
def rig(handler: Handler, *, prefix: str = PREFIX, **options: Any) -> Iterator[Rig]:
    with canned_server(handler) as server, KostyorClient(server.url + prefix, **options) as client:
        notes: list[str] = []
        sleeps: list[float] = []
        yield Rig(server, client, _operations(client, notes, sleeps), notes, sleeps)


@pytest.fixture
def real() -> QuirkyServer:
    server = QuirkyServer(prefix=PREFIX)
    server.add_cluster("c-1", "home_lab", "mitaka")
    server.add_cluster("c-2", "edge", "newton")
    return server


def home_lab(on: Rig | Live) -> Cluster:
    return on.ops.resolve_cluster("home_lab")


# Quirk 1


def test_quirk_1_bare_lists_as_the_real_server_sends_them(upstream: Live) -> None:
    """docs/kostyor-api.md#quirk-wrapped-lists, the bare form."""
    client, home = upstream.client, upstream.id("home_lab")
    clusters = client.list_clusters()
    assert sorted(c.name or "" for c in clusters) == DEMO_NAMES.split(", ")
    assert [u.to_version for u in client.list_upgrades()] == ["newton"]  # staging's
    assert len(client.list_hosts(home)) == 13
    assert {s.version for s in client.list_services(home)} == {"mitaka"}
    assert client.list_upgrade_versions(home)[:2] == ["newton", "ocata"]


def test_quirk_1_wrapped_lists_of_older_servers(real: QuirkyServer) -> None:
    """docs/kostyor-api.md#quirk-wrapped-lists, the wrapped form: canned, for no mode of the
    embedded server (nor the released server) wraps a list."""
    real.wrap_lists = True
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


def test_quirk_2_unknown_cluster_id_is_not_found_not_server_error(upstream: Live) -> None:
    """docs/kostyor-api.md#quirk-unknown-ids"""
    client = upstream.client
    with pytest.raises(NotFound) as caught:
        client.get_cluster("nope")
    for call in (client.list_hosts, client.list_services, client.list_upgrade_versions):
        with pytest.raises(NotFound):
            call("nope")
    message = caught.value.one_line()
    assert "'nope'" in message and DEMO_NAMES in message
    assert "500" not in message
    assert exit_code_for(caught.value) == ExitCode.NOT_FOUND
    # The server answered 500, and the id was then looked for in GET /clusters.
    assert upstream.http.get("/clusters/nope").status_code == 500
    assert upstream.sent("GET", r"^/clusters$")


def test_quirk_2_html_500_for_upgrade_versions_of_unknown_cluster(upstream: Live) -> None:
    """docs/kostyor-api.md#quirk-unknown-ids"""
    assert upstream.http.get("/upgrade-versions/ghost").headers["content-type"] == "text/html"
    home = upstream.id("home_lab")
    assert upstream.client.list_upgrade_versions(home)[:2] == ["newton", "ocata"]
    with pytest.raises(NotFound, match="No cluster named or with id 'ghost'"):
        upstream.client.list_upgrade_versions("ghost")


def test_quirk_2_a_500_for_a_known_cluster_stays_a_server_error() -> None:
    """When the id is in GET /clusters, the 500 was a real server error: say so. Canned: no
    mode of the embedded server answers 500 for a cluster that exists."""

    def handler(method, path, query, headers, body) -> Answer:
        if path == "/clusters":
            return json_answer(200, [{"id": "c-1", "name": "home_lab"}])
        return json_answer(500, {"message": "database is locked"})

    with rig(handler, prefix="/") as on, pytest.raises(ServerError) as caught:
        on.client.get_cluster("c-1")
    assert "database is locked" in caught.value.one_line()
    assert exit_code_for(caught.value) == ExitCode.SERVER == 7


def test_quirk_2_unknown_upgrade_id_is_not_found(upstream: Live) -> None:
    """docs/kostyor-api.md#quirk-unknown-ids"""
    (staging_upgrade,) = upstream.upgrades("staging")
    assert upstream.client.get_upgrade(staging_upgrade["id"]).status is Status.SUCCEEDED
    assert upstream.http.get("/upgrades/u-9").status_code == 500
    with pytest.raises(NotFound, match="No upgrade with id 'u-9'"):
        upstream.client.get_upgrade("u-9")
    with pytest.raises(NotFound, match="No upgrade with id 'u-9'"):
        upstream.ops.upgrade("u-9")


def test_resolve_cluster_by_id_name_ambiguous_and_unknown(upstream: Live) -> None:
    home = upstream.id("home_lab")
    first_edge = upstream.discover_small("edge")
    second_edge = upstream.discover_small("edge")
    # An id wins over a name that happens to equal it.
    upstream.discover_small(home)
    ops = upstream.ops
    assert ops.resolve_cluster("home_lab").id == home
    assert ops.resolve_cluster(home).name == "home_lab"
    with pytest.raises(AmbiguousName) as ambiguous:
        ops.resolve_cluster("edge")
    with pytest.raises(NotFound) as unknown:
        ops.resolve_cluster("lab")
    assert f"{first_edge['id']}, {second_edge['id']}" in ambiguous.value.one_line()
    assert exit_code_for(ambiguous.value) == ExitCode.USAGE == 2
    known = f"known clusters: {home}, datacenter_east, edge, home_lab, legacy, staging"
    assert known in unknown.value.one_line()
    assert not upstream.sent("POST") and not upstream.sent("PUT")


# Quirk 3


def test_quirk_3_cluster_filter_applied_on_the_client(upstream: Live) -> None:
    """docs/kostyor-api.md#quirk-cluster-filter-ignored"""
    home = upstream.id("home_lab")
    ours = upstream.start()
    upgrades = upstream.client.list_upgrades(home)
    everything = upstream.client.list_upgrades()
    assert [u.id for u in upgrades] == [ours["id"]]
    assert len(everything) == 2
    # It was asked for, and ignored.
    assert upstream.sent("GET", r"^/upgrades\?")[0].path == f"/upgrades?cluster_id={home}"
    assert len(upstream.http.get("/upgrades", params={"cluster_id": home}).json()) == 2
    assert [u.id for u in upstream.ops.upgrades(home)] == [ours["id"]]


# Quirk 4


def test_quirk_4_null_status_of_a_new_upgrade_is_derived(upstream: Live) -> None:
    """docs/kostyor-api.md#quirk-null-upgrade-status: the client gives the server's null
    as it is; the operations derive the status from the cluster's."""
    ops = upstream.ops
    upgrade = ops.start_upgrade(home_lab(upstream), "newton", engine="service-by-service")
    assert upgrade.status is Status.IN_PROGRESS
    assert upgrade.raw_status is None
    assert upgrade.id is not None
    assert ops.upgrade(upgrade.id).status is Status.IN_PROGRESS
    assert ops.current_upgrade(upstream.id("home_lab")).status is Status.IN_PROGRESS
    assert ops.current_upgrade(upstream.id("datacenter_east")) is None
    assert [u.status for u in ops.upgrades()] == [Status.SUCCEEDED, Status.IN_PROGRESS]
    # The client does not derive: the server's own answer still says null.
    assert upstream.client.get_upgrade(upgrade.id).status is Status.UNKNOWN
    assert upstream.upgrades("home_lab")[0]["status"] is None
    assert len(upstream.sent("POST")) == 1


def test_quirk_4_only_the_newest_upgrade_takes_the_clusters_status(upstream: Live) -> None:
    """Every action lands on the oldest upgrade (quirk 5), so the later ones keep a null
    status: the one in the middle stays unknown, the newest takes the cluster's."""
    oldest = upstream.start()
    upstream.act("home_lab", "pause")
    middle = upstream.start()
    upstream.act("home_lab", "pause")
    newest = upstream.start()
    upstream.act("home_lab", "pause")
    assert [u["status"] for u in upstream.upgrades("home_lab")] == ["UPGRADE PAUSED", None, None]
    ops = upstream.ops
    assert ops.upgrade(middle["id"]).status is Status.UNKNOWN
    assert ops.upgrade(newest["id"]).status is Status.PAUSED
    assert {u.id: u.status for u in ops.upgrades(upstream.id("home_lab"))} == {
        oldest["id"]: Status.PAUSED,
        middle["id"]: Status.UNKNOWN,
        newest["id"]: Status.PAUSED,
    }


# Quirk 5


def test_quirk_5_put_answer_ignored_state_re_read(upstream: Live) -> None:
    """docs/kostyor-api.md#quirk-action-on-oldest"""
    started = upstream.start()
    home = upstream.id("home_lab")
    upgrade = upstream.ops.act(home_lab(upstream), Action.PAUSE)
    # The answer was {"id": home, "status": ...}: never shown as an upgrade id.
    assert (upgrade.id, upgrade.cluster_id, upgrade.status) == (started["id"], home, Status.PAUSED)
    assert (upgrade.from_version, upgrade.to_version) == ("mitaka", "newton")
    requests = upstream.proxy.requests
    (put,) = upstream.sent("PUT")
    assert put.path == f"/upgrades/{started['id']}"
    after_put = requests[requests.index(put) + 1 :]
    assert {r.path.partition("?")[0] for r in after_put} == {f"/clusters/{home}", "/upgrades"}
    assert upstream.notes == []


def test_quirk_5_action_applied_to_an_older_upgrade_is_reported(upstream: Live) -> None:
    """The pause lands on the cancelled oldest upgrade, not on the current one: narrated (a
    note to the operator), and the current upgrade, re-read, is returned."""
    older = upstream.start()
    upstream.act("home_lab", "cancel")
    current = upstream.start()
    audited: list[AuditEvent] = []
    ops = Operations(upstream.client, narrate=upstream.notes.append, audit=audited.append)
    upgrade = ops.act(home_lab(upstream), Action.PAUSE)
    # The current one's status is still null; the cluster's, which it takes, is PAUSED.
    assert (upgrade.id, upgrade.raw_status, upgrade.status) == (
        current["id"],
        None,
        Status.PAUSED,
    )
    (note,) = upstream.notes
    assert (
        f"recorded the pause on an older upgrade of home_lab, {older['id']} (now UPGRADE PAUSED)"
        in note
    )
    assert f"not on its current one, {current['id']}; the cluster is now UPGRADE PAUSED" in note
    # The audit trail says where it landed, not only the current upgrade's derived state.
    (event,) = audited
    assert (event.action, event.outcome, event.detail) == ("pause", "done", note)
    assert len(upstream.sent("PUT")) == 1


def test_quirk_5_action_on_an_older_upgrade_already_in_its_status_is_reported(
    upstream: Live,
) -> None:
    """The cancel lands on the oldest upgrade, cancelled already: neither upgrade's status
    changes, yet where it landed is said, not credited to the current one."""
    upstream.start()
    upstream.act("home_lab", "cancel")
    current = upstream.start()
    upgrade = upstream.ops.act(home_lab(upstream), Action.CANCEL)
    assert (upgrade.id, upgrade.raw_status, upgrade.status) == (
        current["id"],
        None,
        Status.CANCELLED,
    )
    (note,) = upstream.notes
    assert note == (
        f"the server recorded the cancel on an older upgrade of home_lab, not on its current"
        f" one, {current['id']}, which still has no status of its own; the cluster is now"
        " UPGRADE CANCELLED"
    )


def test_an_accepted_action_that_changed_nothing_is_narrated(real: QuirkyServer) -> None:
    """Canned: every mode of the embedded server changes what it says it changed."""
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

# How to bring home_lab's only upgrade (staging's, for SUCCEED) to a status, as the real
# server would: start it, then the actions. UPGRADE ERROR comes from the default mode.
SETUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "UPGRADE IN PROGRESS": ("home_lab", ("start", "pause", "continue")),
    "UPGRADE PAUSED": ("home_lab", ("start", "pause")),
    "UPGRADE CANCELLED": ("home_lab", ("start", "cancel")),
    "UPGRADE ROLLBACK IN PROGRESS": ("home_lab", ("start", "rollback")),
    "UPGRADE SUCCEED": ("staging", ()),
    "UPGRADE ERROR": ("home_lab", ()),
}


@pytest.fixture
def server_in(request: pytest.FixtureRequest) -> Iterator[tuple[Live, str]]:
    """(the server, the cluster whose only upgrade is in the status the test names)."""
    status = request.node.callspec.params["status"]
    name, steps = SETUPS[status]
    fixture = "upstream_after_an_error" if status == "UPGRADE ERROR" else "upstream"
    on: Live = request.getfixturevalue(fixture)
    for step in steps:
        on.start(name) if step == "start" else on.act(name, step)
    (upgrade,) = on.upgrades(name)
    assert upgrade["status"] == status
    yield on, name


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
    server_in: tuple[Live, str], status: str, action: Action
) -> None:
    """docs/kostyor-api.md#quirk-no-transition-checks: kostyor-tui is the only guard."""
    on, name = server_in
    cluster = on.cluster(name)
    with pytest.raises(Refused) as caught:
        on.ops.act(cluster, action)
    assert not on.sent("PUT")
    message = caught.value.one_line()
    assert f"Cannot {action} the upgrade of cluster {name}: it is {status}" in message
    assert exit_code_for(caught.value) == ExitCode.REJECTED == 4
    # It may be sent anyway, on purpose: once; and the server, checking nothing, takes it.
    assert caught.value.forceable
    on.ops.act(cluster, action, force=True)
    assert len(on.sent("PUT")) == 1
    assert on.upgrades(name)[0]["status"] == LIFECYCLE[action].leads_to


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
    server_in: tuple[Live, str], status: str, action: Action, result: Status
) -> None:
    on, name = server_in
    upgrade = on.ops.act(on.cluster(name), action)
    assert upgrade.status is result
    (put,) = on.sent("PUT")
    assert put.json() == {"cluster_id": on.id(name), "action": str(action)}
    assert list(put.json()) == ["cluster_id", "action"]
    assert put.header("content-type") == "application/json"


def test_a_null_upgrade_status_is_checked_against_the_clusters(upstream: Live) -> None:
    upstream.start()
    with pytest.raises(Refused, match="possible now: pause, rollback, cancel"):
        upstream.ops.act(home_lab(upstream), Action.CONTINUE)
    assert upstream.ops.act(home_lab(upstream), Action.PAUSE).status is Status.PAUSED


def test_unknown_action_refused(upstream: Live) -> None:
    cluster = Cluster(id=upstream.id("home_lab"), name="home_lab")
    with pytest.raises(Refused, match="Unknown upgrade action 'explode'") as caught:
        upstream.ops.act(cluster, "explode")  # type: ignore[arg-type]
    assert "pause, continue, rollback, cancel" in caught.value.one_line()
    assert not caught.value.forceable
    assert not upstream.proxy.requests


def test_starting_while_in_progress_or_version_unknown_refused(upstream: Live) -> None:
    upstream.start()
    upstream.discover_small("empty", computes="0")
    ops = upstream.ops
    with pytest.raises(Refused, match="already in progress") as in_progress:
        ops.start_upgrade(home_lab(upstream), "newton")
    with pytest.raises(Refused, match="version is unknown"):
        ops.start_upgrade(ops.resolve_cluster("legacy"), "newton")
    # A cluster without hosts has nothing to upgrade.
    with pytest.raises(Refused, match="the cluster has no hosts"):
        ops.start_upgrade(ops.resolve_cluster("empty"), "newton")
    with pytest.raises(NotFound, match="known clusters"):
        ops.resolve_cluster("nope")
    with pytest.raises(NotFound, match="No cluster named or with id 'nope'"):
        ops.start_upgrade(Cluster(id="nope", name="nope"), "newton")
    assert not upstream.sent("POST")
    assert in_progress.value.forceable
    assert "--force" in in_progress.value.one_line()
    # Forced, it is sent once; the real server refuses only this very status.
    with pytest.raises(Rejected, match="already has an upgrade in progress"):
        ops.start_upgrade(home_lab(upstream), "newton", force=True)
    assert len(upstream.sent("POST")) == 1


def test_read_only_refuses_every_change_before_sending(upstream: Live) -> None:
    upstream.start()
    ops = Operations(upstream.client, read_only=True)
    cluster = ops.resolve_cluster("home_lab")
    for change in (
        lambda: ops.start_upgrade(cluster, "newton", force=True),
        lambda: ops.act(cluster, Action.PAUSE, force=True),
        lambda: ops.discover("simulated", "new_lab", allow_duplicate=True),
    ):
        with pytest.raises(Refused, match="read-only mode is on") as caught:
            change()
        assert exit_code_for(caught.value) == ExitCode.REJECTED
        assert not caught.value.forceable
    assert not upstream.sent("POST") and not upstream.sent("PUT")


# Quirk 7


def test_quirk_7_action_on_a_cluster_that_never_had_an_upgrade(upstream: Live) -> None:
    """docs/kostyor-api.md#quirk-action-without-upgrade: the server would answer 500; the
    client sends nothing, even forced."""
    body = {"cluster_id": upstream.id("datacenter_east"), "action": "pause"}
    assert upstream.http.put("/upgrades/x", json=body).status_code == 500
    cluster = upstream.cluster("datacenter_east")
    for force in (False, True):
        with pytest.raises(NotFound) as caught:
            upstream.ops.act(cluster, Action.PAUSE, force=force)
        assert "never had an upgrade" in caught.value.one_line()
    assert not upstream.sent("PUT")


# Quirks 8 and 13: a 500 after the upgrade was saved


def _assert_saved_and_reported(on: Live, caught: pytest.ExceptionInfo[ServerError]) -> None:
    (saved,) = on.upgrades("home_lab")
    message = caught.value.one_line()
    assert "answered 500" in message
    assert (
        f"but the upgrade was saved: {saved['id']}, cluster home_lab is UPGRADE IN PROGRESS"
        in message
    )
    assert "do not start it again" in message
    assert len(on.sent("POST")) == 1
    # A server's answer settles it: read once, no waiting.
    assert on.sleeps == []


def test_quirk_8_post_500_after_saving_is_reported_and_not_retried(server_factory) -> None:
    """docs/kostyor-api.md#quirk-500-after-save: the task broker down (serve --broker-down)."""
    with live(server_factory(behave="upstream", broker_down=True)) as on:
        with pytest.raises(ServerError) as caught:
            on.ops.start_upgrade(home_lab(on), "newton", engine="service-by-service")
        _assert_saved_and_reported(on, caught)


def test_quirk_13_engine_raises_after_saving_is_reported_and_not_retried(upstream: Live) -> None:
    """docs/kostyor-api.md#quirk-engine-raises-after-save: home_lab runs `keystone`, which
    the node-by-node engine (the default: no engine is sent) does not know."""
    audited: list[AuditEvent] = []
    ops = Operations(upstream.client, narrate=upstream.notes.append, audit=audited.append)
    with pytest.raises(ServerError) as caught:
        ops.start_upgrade(home_lab(upstream), "newton")
    assert "engine" not in upstream.sent("POST")[0].json()
    _assert_saved_and_reported(upstream, caught)
    # The audit trail names the upgrade that was saved, as the error does.
    (event,) = audited
    (saved,) = upstream.upgrades("home_lab")
    assert (event.outcome, event.upgrade_id, event.sent) == ("failed", saved["id"], True)


def test_quirk_8_post_500_without_saving_says_nothing_was_saved() -> None:
    """Canned: no mode of the embedded server answers 500 to POST /upgrades without saving."""

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
    """The request reached the server, which saved the upgrade, but no answer came in time.
    Canned: no mode answers late on cue, and a delaying proxy would hold every other
    request of the test to the same 0.3 s deadline on a loaded machine."""
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
    be saving it, so kostyor-tui does not say it is safe to try again. Canned, as above."""
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
    """Canned: no mode of the embedded server answers 500 to an action it applied."""
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
    """Canned: the only 5xx upstream mode answers to a PUT is quirk 7's, which the client
    never sends."""
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
    """429: the server did not take the request (RFC 6585); nothing to re-read. Canned: no
    mode of the embedded server answers 429."""
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


def test_quirk_9_html_404_and_405_never_crash(upstream: Live) -> None:
    """docs/kostyor-api.md#quirk-html-errors"""
    transport = upstream.client._transport
    with pytest.raises(NotFound) as not_found:
        transport.request("GET", "no-such-path", what="read a path")
    with pytest.raises(ProtocolError) as not_allowed:
        transport.request("DELETE", "clusters", what="delete clusters")
    assert "has no GET /no-such-path" in not_found.value.one_line()
    assert "404 Not Found" in not_found.value.one_line()
    assert "path prefix" in not_found.value.one_line()
    assert "does not accept DELETE /clusters (405)" in not_allowed.value.one_line()


def test_quirk_9_wrong_api_url_gives_a_clear_not_found(server_factory) -> None:
    """An api_url with a path prefix the server does not have meets its HTML 404 pages."""
    server = server_factory(behave="upstream")
    with (
        KostyorClient(server.url + PREFIX) as client,
        pytest.raises(NotFound, match="has no GET /clusters"),
    ):
        client.list_clusters()


@pytest.mark.parametrize("behave", ["upstream", "fixed"])
def test_an_api_url_copied_from_a_request_is_named(server_factory, behave: str) -> None:
    """An api_url ending in /clusters (copied from a request) asks for /clusters/clusters:
    the fixed server answers 404, the real one 500 (docs/kostyor-api.md#quirk-unknown-ids);
    either way the hint says what to drop."""
    server = server_factory(behave=behave)
    with (
        KostyorClient(server.url + "/clusters") as client,
        pytest.raises((NotFound, ServerError)) as failed,
    ):
        client.list_clusters()
    assert failed.value.hint == (
        "api_url ends in /clusters, which kostyor-tui adds itself: "
        "set it to the address before /clusters"
    )


def test_steps_are_none_on_a_server_without_a_step_log(upstream: Live) -> None:
    """The real server has no GET /upgrades/{id}/steps: an HTML 404, so no step log."""
    started = upstream.start()
    assert upstream.client.upgrade_steps(started["id"]) is None


# Quirk 10


def test_quirk_10_concurrency_is_bounded() -> None:
    """docs/kostyor-api.md#quirk-single-threaded: requests in flight at the server never
    exceed the client's pool, however many threads call it. Canned: counting the requests
    in flight needs a server that counts them, which no mode of the embedded one does."""
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
    connections open at once never exceed the pool. Raw, for the same reason."""
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
        finally:
            # Counted closed before the answer goes: once it has, the client may rightly
            # open the next connection before this thread runs again (seen under load).
            with lock:
                open_now -= 1
        connection.send(
            b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]"
        )

    with (
        loopback_server(slow_answer) as port,
        KostyorClient(f"http://127.0.0.1:{port}/", max_connections=2) as client,
        ThreadPoolExecutor(12) as pool,
    ):
        results = list(pool.map(lambda _: client.list_clusters(), range(12)))
    assert results == [[]] * 12
    assert most == 2


def test_quirk_10_a_server_that_closes_every_connection(upstream: Live) -> None:
    """Upstream mode closes every connection after its answer, as the real server's HTTP/1.0
    development server does: many requests from many threads all succeed."""
    with (
        KostyorClient(upstream.server.url + "/", max_connections=2) as client,
        ThreadPoolExecutor(8) as pool,
    ):
        results = list(pool.map(lambda _: client.list_clusters(), range(24)))
    assert all(len(clusters) == 4 for clusters in results)


# Quirk 11


def test_quirk_11_discovery_gets_the_long_timeout(real: QuirkyServer) -> None:
    """docs/kostyor-api.md#quirk-slow-discovery: a discovery slower than the client's
    timeout succeeds; any other request as slow times out. Canned: no mode of the embedded
    server is slow on cue, and a delaying proxy would hold the test's other requests to the
    same 0.3 s deadline on a loaded machine."""
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


def test_discovery_of_a_name_in_use_is_refused(upstream: Live) -> None:
    small = {"controllers": "0", "computes": "1"}
    with pytest.raises(Refused, match="A cluster named 'home_lab' already exists") as caught:
        upstream.ops.discover("simulated", "home_lab", small)
    assert "--allow-duplicate" in caught.value.one_line()
    assert not upstream.sent("POST")
    created = upstream.ops.discover("simulated", "home_lab", small, allow_duplicate=True)
    assert created.name == "home_lab"
    assert len(upstream.sent("POST")) == 1


def test_discovery_failure_says_whether_the_cluster_was_created(real: QuirkyServer) -> None:
    """Canned: no mode answers late on cue (see test_quirk_8_post_timeout_re_reads_state)."""
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
    """The upgrade was saved although its 201 answer is garbage: say so, once. Canned: no
    mode of the embedded server garbles its answers."""

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


# Quirk 12


def test_quirk_12_a_rollback_never_ends_and_the_operator_has_a_way_out(upstream: Live) -> None:
    """docs/kostyor-api.md#quirk-no-progress: the rollback stays; cancel is the way out of
    it (docs/kostyor-api.md#lifecycle); what the lifecycle refuses can be sent on purpose,
    which the server takes."""
    upstream.start()
    ops = upstream.ops
    assert ops.act(home_lab(upstream), Action.ROLLBACK).status is Status.ROLLBACK_IN_PROGRESS
    reading = ops.read_cluster(upstream.id("home_lab"))
    assert reading.current is not None
    assert reading.current.status is Status.ROLLBACK_IN_PROGRESS
    assert reading.current.upgrade_end_time is None
    with pytest.raises(Refused, match="possible now: cancel") as pause_refused:
        ops.act(home_lab(upstream), Action.PAUSE)
    assert pause_refused.value.forceable
    assert ops.act(home_lab(upstream), Action.CANCEL).status is Status.CANCELLED
    with pytest.raises(Refused, match="it is UPGRADE CANCELLED"):
        ops.act(home_lab(upstream), Action.ROLLBACK)
    ops.act(home_lab(upstream), Action.ROLLBACK, force=True)
    with pytest.raises(Refused, match="a rollback is in progress") as start_refused:
        ops.start_upgrade(home_lab(upstream), "newton", engine="service-by-service")
    assert start_refused.value.forceable
    started = ops.start_upgrade(
        home_lab(upstream), "newton", engine="service-by-service", force=True
    )
    assert started.status is Status.IN_PROGRESS
    assert len(upstream.sent("PUT")) == 3
    assert len(upstream.sent("POST")) == 1


def test_quirk_12_no_progress_is_not_presented_as_a_fact(upstream: Live) -> None:
    """docs/kostyor-api.md#quirk-no-progress"""
    started = upstream.start()
    assert upstream.client.upgrade_steps(started["id"]) is None
    report = upgrade_status_report(upstream.ops, started["id"])
    shown = render(report, VIEWS["upgrade-status"], OutputOptions())
    assert "no per-instance progress" in shown
    assert "0/13" not in shown
    assert "controller-01" not in shown  # not "at" a step it knows nothing of


# Quirk 14


def test_quirk_14_no_target_for_an_unknown_version(upstream: Live) -> None:
    """docs/kostyor-api.md#quirk-versions-for-unknown: the server lists every release for
    legacy (at `unknown`); kostyor-tui offers none, and refuses to start."""
    legacy = upstream.id("legacy")
    assert upstream.client.list_upgrade_versions(legacy) == upstream.client.list_all_versions()
    context = CommandContext(upstream.ops)
    assert COMMANDS["list-upgrade-versions"].run(context, {"cluster": "legacy"}) == []
    check = COMMANDS["check-upgrade"].run(context, {"cluster": "legacy"})
    assert (check.state, check.versions) == ("not ready", [])
    assert check.reason == "the cluster's version is unknown"
    with pytest.raises(Refused, match="version is unknown"):
        upstream.ops.start_upgrade(upstream.cluster("legacy"), "newton")
    with pytest.raises(Rejected, match="Cluster version is unknown"):
        upstream.ops.start_upgrade(upstream.cluster("legacy"), "newton", force=True)


# Quirk 15


def test_quirk_15_openstack_ansible_with_parameters_explains_the_500(upstream: Live) -> None:
    """docs/kostyor-api.md#quirk-discovery-parameters: the method takes no parameters."""
    with pytest.raises(ServerError) as caught:
        upstream.ops.discover("openstack-ansible", "osa", {"inventory": "/etc/x.json"})
    message = caught.value.one_line()
    assert "Driver() takes no arguments" in message
    assert "no cluster was created (method openstack-ansible, parameters sent: inventory)" in (
        message
    )
    assert "takes no parameters" in message
    assert "safe to try again" not in message
    assert len(upstream.sent("POST")) == 1


def test_quirk_15_openstack_bare_500_names_what_was_sent_never_the_password(
    upstream: Live,
) -> None:
    auth = {
        "username": "admin",
        "password": "s3cret-pw",
        "tenant_name": "admin",
        "auth_url": "http://keystone.example:5000/v2.0",
    }
    with pytest.raises(ServerError) as caught:
        upstream.ops.discover("openstack", "cloud", auth)
    message = caught.value.one_line()
    assert (
        "no cluster was created (method openstack, parameters sent: auth_url, password,"
        " tenant_name, username)" in message
    )
    assert "the cause is in the Kostyor server's log" in message
    assert "safe to try again" not in message
    assert "s3cret-pw" not in message
    assert len(upstream.sent("POST")) == 1


def test_quirk_15_openstack_ansible_without_parameters_and_null_versions(server_factory) -> None:
    server = server_factory(
        behave="upstream", inventory_dirs=(AIO_INVENTORY.parent,), ansible_inventory=AIO_INVENTORY
    )
    with live(server) as on:
        cluster = on.ops.discover("openstack-ansible", "aio")
        assert (cluster.version, cluster.status) == ("unknown", Status.NOT_READY)
        assert cluster.id is not None
        services = on.client.list_services(cluster.id)
        assert services and {service.version for service in services} == {None}
        context = CommandContext(on.ops)
        status = COMMANDS["cluster-status"].run(context, {"cluster": "aio"})
        assert status.versions == {"unknown": len(services)}
        rows = COMMANDS["cluster-component-list"].run(context, {"cluster": "aio"})
        assert {(row.version, row.upgradable) for row in rows} == {("unknown", False)}
        check = COMMANDS["check-upgrade"].run(context, {"cluster": "aio"})
        assert check.state == "not ready"


# Quirk 16


def test_quirk_16_re_read_after_an_error_answer_that_closed_the_connection(
    server_factory,
) -> None:
    """docs/kostyor-api.md#quirk-closed-connection: upstream mode closes the connection with
    every answer, the broker-down 500 included; the re-read opens a new one. Straight to
    the server, without the proxy (which keeps its own connections to the client)."""
    server = server_factory(behave="upstream", broker_down=True)
    with KostyorClient(server.url + "/", max_connections=1) as client:
        notes: list[str] = []
        ops = _operations(client, notes, [])
        cluster = ops.resolve_cluster("home_lab")
        with pytest.raises(ServerError) as caught:
            ops.start_upgrade(cluster, "newton", engine="service-by-service")
        assert "but the upgrade was saved" in caught.value.one_line()
        assert "home_lab is UPGRADE IN PROGRESS" in caught.value.one_line()
        # And the client goes on as before.
        assert ops.current_upgrade(cluster.id or "") is not None
