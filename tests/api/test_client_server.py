"""The client against the real embedded server, over real HTTP on loopback.

The server keeps its state in a fresh SQLite file per test and runs the demo
fleet (home_lab, staging, legacy, datacenter_east) with 0.05 s steps. Reads go
through `KostyorClient`; changes, name resolution and pre-checks through
`Operations` over it, as both faces do. The embedded server's behaviour:
docs/kostyor-api.md#embedded-server.
"""

import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.api.errors import (
    AuthFailed,
    NotFound,
    Rejected,
    ServerError,
    Unreachable,
)
from kostyor_tui.api.models import Upgrade
from kostyor_tui.domain.fleet import version_counts
from kostyor_tui.domain.lifecycle import Action, allowed_actions
from kostyor_tui.domain.progress import host_states, upgrade_progress
from kostyor_tui.domain.statuses import Status
from kostyor_tui.errors import AmbiguousName, Refused
from kostyor_tui.headless.exit_codes import ExitCode, exit_code_for
from kostyor_tui.operations import Operations
from tests.support.faultproxy import Fault, FaultProxy
from tests.support.waiting import wait_until

DEMO_CLUSTERS = {"home_lab", "staging", "legacy", "datacenter_east"}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def client(server) -> Iterator[KostyorClient]:
    with KostyorClient(server.url, timeout=10) as client:
        yield client


@pytest.fixture
def ops(client: KostyorClient) -> Operations:
    return Operations(client)


def test_list_and_resolve_clusters(client: KostyorClient, ops: Operations) -> None:
    clusters = client.list_clusters()
    assert {cluster.name for cluster in clusters} == DEMO_CLUSTERS
    by_name = {cluster.name: cluster for cluster in clusters}
    assert by_name["home_lab"].version == "mitaka"
    assert by_name["home_lab"].status is Status.READY
    assert by_name["legacy"].version == "unknown"

    home = ops.resolve_cluster("home_lab")
    assert home == by_name["home_lab"]
    assert ops.resolve_cluster(home.id) == home
    assert client.get_cluster(home.id) == home

    with pytest.raises(NotFound) as unknown:
        ops.resolve_cluster("home")
    assert "known clusters: datacenter_east, home_lab, legacy, staging" in unknown.value.one_line()
    with pytest.raises(NotFound):
        client.get_cluster("00000000-0000-0000-0000-000000000000")


def test_ambiguous_name_lists_the_ids(client: KostyorClient, ops: Operations) -> None:
    first = ops.resolve_cluster("home_lab")
    parameters = {"controllers": "1", "computes": "1", "storage": "0"}
    # A second cluster of the same name is refused unless asked for.
    with pytest.raises(Refused, match="A cluster named 'home_lab' already exists"):
        ops.discover("simulated", "home_lab", parameters)
    assert len(client.list_clusters()) == len(DEMO_CLUSTERS)
    second = ops.discover("simulated", "home_lab", parameters, allow_duplicate=True)
    with pytest.raises(AmbiguousName) as caught:
        ops.resolve_cluster("home_lab")
    assert first.id in caught.value.one_line() and second.id in caught.value.one_line()
    assert exit_code_for(caught.value) == ExitCode.USAGE
    # The id still picks exactly one.
    assert ops.resolve_cluster(second.id).id == second.id


def test_hosts_services_and_versions(client: KostyorClient, ops: Operations) -> None:
    home = ops.resolve_cluster("home_lab")
    hosts = client.list_hosts(home.id)
    services = client.list_services(home.id)
    assert len(hosts) == 3 + 8 + 2
    assert all(host.cluster_id == home.id for host in hosts)
    assert services and [s.name for s in services] == sorted(s.name for s in services)
    releases = client.list_all_versions()
    assert releases[:4] == ["liberty", "mitaka", "newton", "ocata"]
    assert "zed" in releases
    counts = version_counts(services, releases, hosts=hosts)
    assert list(counts) == ["mitaka"]
    assert client.list_upgrade_versions(home.id) == releases[2:]

    legacy = ops.resolve_cluster("legacy")
    assert client.list_upgrade_versions(legacy.id) == []
    for call in (client.list_hosts, client.list_services, client.list_upgrade_versions):
        with pytest.raises(NotFound):
            call("no-such-cluster")


def test_discovery(client: KostyorClient, ops: Operations) -> None:
    methods = client.list_discovery_methods()
    assert {"simulated", "openstack-ansible"} <= set(methods)
    cluster = ops.discover(
        "simulated",
        "lab_two",
        {"controllers": "1", "computes": "2", "storage": "0", "version": "newton"},
    )
    assert (cluster.name, cluster.version) == ("lab_two", "newton")
    assert len(client.list_hosts(cluster.id)) == 3
    assert "lab_two" in {c.name for c in client.list_clusters()}

    with pytest.raises(Rejected) as caught:
        ops.discover("simulated", "bad", {"computes": "many"})
    assert exit_code_for(caught.value) == ExitCode.REJECTED == 4
    assert "computes" in caught.value.one_line()
    with pytest.raises(Rejected):
        ops.discover("no-such-method", "bad")


def test_whole_upgrade_with_every_action(client: KostyorClient, ops: Operations) -> None:
    home = ops.resolve_cluster("home_lab")
    assert ops.current_upgrade(home.id) is None
    with pytest.raises(NotFound, match="never had an upgrade"):
        ops.act(home, Action.PAUSE)

    started = ops.start_upgrade(home, "newton", engine="service-by-service")
    assert started.id and started.cluster_id == home.id
    assert started.status is Status.IN_PROGRESS
    assert (started.from_version, started.to_version) == ("mitaka", "newton")
    assert (started.engine, started.driver) == ("service-by-service", "noop")
    assert client.get_upgrade(started.id).id == started.id
    assert ops.upgrade(started.id).id == started.id
    assert ops.current_upgrade(home.id).id == started.id
    assert [u.id for u in client.list_upgrades(home.id)] == [started.id]

    with pytest.raises(Refused, match="already in progress"):
        ops.start_upgrade(home, "ocata")

    def some_progress() -> bool:
        services = client.list_services(home.id)
        hosts = client.list_hosts(home.id)
        return upgrade_progress(hosts, services, "newton", started.engine).services_upgraded > 0

    wait_until(some_progress, "the first step")

    paused = ops.act(home, Action.PAUSE)
    assert (paused.id, paused.status) == (started.id, Status.PAUSED)
    assert allowed_actions(paused.status) == ("continue", "rollback", "cancel")
    with pytest.raises(Refused, match="it is UPGRADE PAUSED"):
        ops.act(home, Action.PAUSE)

    resumed = ops.act(home, Action.CONTINUE)
    assert (resumed.id, resumed.status) == (started.id, Status.IN_PROGRESS)

    rolled_back = ops.act(home, Action.ROLLBACK)
    assert rolled_back.status is Status.ROLLBACK_IN_PROGRESS
    # While it rolls back, cancel is the one way out (docs/kostyor-api.md#lifecycle).
    with pytest.raises(Refused, match="possible now: cancel"):
        ops.act(home, Action.PAUSE)

    def rollback_over() -> Upgrade | None:
        upgrade = client.get_upgrade(started.id)
        return upgrade if upgrade.status is not Status.ROLLBACK_IN_PROGRESS else None

    finished = wait_until(rollback_over, "the rollback to finish")
    services = client.list_services(home.id)
    assert set(version_counts(services)) == {"mitaka"}
    assert finished.status is not Status.IN_PROGRESS
    assert client.get_cluster(home.id).version == "mitaka"


def test_upgrade_to_the_end_then_cancel_is_refused(client: KostyorClient, ops: Operations) -> None:
    staging = ops.resolve_cluster("staging")
    # The demo's staging went to newton already; take it one release further.
    assert staging.version == "newton"
    started = ops.start_upgrade(staging, "ocata")

    def succeeded() -> bool:
        return client.get_upgrade(started.id).status is Status.SUCCEEDED

    wait_until(succeeded, "the upgrade to succeed")
    hosts = client.list_hosts(staging.id)
    services = client.list_services(staging.id)
    progress = upgrade_progress(hosts, services, "ocata")
    assert progress.done and progress.nodes_upgraded == progress.nodes_total == len(hosts)
    assert set(host_states(hosts, services, "ocata").values()) == {"upgraded"}
    assert client.get_cluster(staging.id).version == "ocata"
    with pytest.raises(Refused, match="it is UPGRADE SUCCEED"):
        ops.act(staging, Action.CANCEL)
    history = client.list_upgrades(staging.id)
    assert len(history) == 2 and history[-1].id == started.id
    assert ops.current_upgrade(staging.id).id == started.id


def test_start_refusals(client: KostyorClient, ops: Operations) -> None:
    legacy = ops.resolve_cluster("legacy")
    with pytest.raises(Refused, match="version is unknown"):
        ops.start_upgrade(legacy, "newton")
    home = ops.resolve_cluster("home_lab")
    with pytest.raises(Rejected) as backwards:
        ops.start_upgrade(home, "liberty")
    assert "not allowed" in backwards.value.one_line()
    with pytest.raises(Rejected):
        ops.start_upgrade(home, "nonsense")
    with pytest.raises(NotFound):
        ops.resolve_cluster("no-such-cluster")
    with pytest.raises(NotFound):
        ops.start_upgrade(home.model_copy(update={"id": "no-such-cluster"}), "newton")
    assert client.list_upgrades(home.id) == []


def test_unknown_upgrade(client: KostyorClient, ops: Operations) -> None:
    with pytest.raises(NotFound, match="No upgrade with id 'nope'"):
        client.get_upgrade("nope")
    with pytest.raises(NotFound, match="No upgrade with id 'nope'"):
        ops.upgrade("nope")


def test_step_log(client: KostyorClient, ops: Operations) -> None:
    """The embedded server keeps a step log (docs/kostyor-api.md#embedded-server)."""
    home = ops.resolve_cluster("home_lab")
    started = ops.start_upgrade(home, "newton")
    steps = wait_until(lambda: client.upgrade_steps(started.id), "a first step")
    assert steps[0].direction == "upgrade"
    assert steps[0].outcome in ("done", "failed")
    # Not found, whatever the reason (no such upgrade, no step log): no steps to show.
    assert client.upgrade_steps("no-such-upgrade") is None


def test_closed_port_is_unreachable() -> None:
    url = f"http://127.0.0.1:{closed_port()}/"
    with KostyorClient(url) as client, pytest.raises(Unreachable) as caught:
        client.list_clusters()
    assert exit_code_for(caught.value) == ExitCode.UNREACHABLE == 6
    assert f"cannot connect to {url}" in caught.value.one_line()
    assert "check api_url" in caught.value.one_line()


def test_authentication(server_factory) -> None:
    server = server_factory(auth=("operator", "hunter2-long"))
    with KostyorClient(server.url) as anonymous, pytest.raises(AuthFailed) as missing:
        anonymous.list_clusters()
    with (
        KostyorClient(server.url, username="operator", password="wrong-pass") as wrong,
        pytest.raises(AuthFailed) as bad,
    ):
        wrong.list_clusters()
    assert exit_code_for(missing.value) == exit_code_for(bad.value) == ExitCode.AUTH == 5
    assert "wrong-pass" not in bad.value.one_line()
    with KostyorClient(server.url, username="operator", password="hunter2-long") as good:
        assert {c.name for c in good.list_clusters()} == DEMO_CLUSTERS
    # Credentials in the URL work too, and stay out of the client's shown URL.
    with_userinfo = server.url.replace("http://", "http://operator:hunter2-long@")
    with KostyorClient(with_userinfo) as in_url:
        assert len(in_url.list_clusters()) == 4
        assert "hunter2" not in in_url.api_url


def test_path_prefix_is_kept(server) -> None:
    """A front proxy serving the API under /kostyor/, with HTML 404 pages elsewhere."""
    cluster = b'[{"id": "c-1", "name": "behind_proxy", "status": "READY FOR UPGRADE"}]'
    with FaultProxy(server.url) as proxy:
        proxy.inject(Fault.respond(200, cluster, path=r"^/kostyor/clusters$"))
        proxy.inject(Fault.not_found_html(path=r"^/(?!kostyor/)"))
        with KostyorClient(proxy.url + "/kostyor/") as client:
            (only,) = client.list_clusters()
        assert only.name == "behind_proxy"
        assert proxy.requests[-1].path == "/kostyor/clusters"
        # Forgetting the prefix meets the proxy's HTML 404: a clear hint, no crash.
        with KostyorClient(proxy.url) as client, pytest.raises(NotFound) as caught:
            client.list_clusters()
    assert "has no GET /clusters" in caught.value.one_line()
    assert "path prefix" in caught.value.one_line()


def test_post_500_after_saving_for_real(server) -> None:
    """docs/kostyor-api.md#quirk-500-after-save over real HTTP: the server saves the
    upgrade, the client sees a 500."""
    with FaultProxy(server.url) as proxy:
        proxy.inject(Fault.status_500_json(method="POST", path=r"^/upgrades$", forward=True))
        with KostyorClient(proxy.url) as client:
            ops = Operations(client)
            home = ops.resolve_cluster("home_lab")
            with pytest.raises(ServerError) as caught:
                ops.start_upgrade(home, "newton")
            saved = ops.current_upgrade(home.id)
        assert proxy.count("POST", r"^/upgrades$") == 1
    assert saved is not None
    message = caught.value.one_line()
    assert (
        f"but the upgrade was saved: {saved.id}, cluster home_lab is UPGRADE IN PROGRESS" in message
    )


def test_put_500_after_acting_for_real(server) -> None:
    with FaultProxy(server.url) as proxy:
        with KostyorClient(proxy.url) as client:
            ops = Operations(client)
            home = ops.resolve_cluster("home_lab")
            ops.start_upgrade(home, "newton")
            proxy.inject(Fault.status_500_json(method="PUT", forward=True))
            with pytest.raises(ServerError) as caught:
                ops.act(home, Action.PAUSE)
        assert proxy.count("PUT") == 1
    assert "but the pause took effect" in caught.value.one_line()
    assert "UPGRADE PAUSED" in caught.value.one_line()


def test_many_concurrent_calls_through_a_small_pool(server) -> None:
    with KostyorClient(server.url, max_connections=2) as client, ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: client.list_clusters(), range(25)))
    assert all({c.name for c in clusters} == DEMO_CLUSTERS for clusters in results)
