"""The client against the real embedded server, over real HTTP on loopback.

The server keeps its state in a fresh SQLite file per test and runs the demo
fleet (home_lab, staging, legacy, datacenter_east) with 0.05 s steps.
"""

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable

import pytest

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.api.errors import (
    ActionRefused,
    AmbiguousName,
    AuthFailed,
    NotFound,
    Rejected,
    ServerError,
    Unreachable,
)
from kostyor_tui.api.models import Upgrade
from kostyor_tui.domain.fleet import version_counts
from kostyor_tui.domain.lifecycle import allowed_actions
from kostyor_tui.domain.progress import host_states, upgrade_progress
from kostyor_tui.domain.statuses import Status
from tests.support.faultproxy import Fault, FaultProxy

DEMO_CLUSTERS = {"home_lab", "staging", "legacy", "datacenter_east"}


async def wait_for(
    check: Callable[[], Awaitable[object]], what: str, timeout: float = 20.0
) -> object:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
async def client(server):
    async with KostyorClient(server.url, timeout=10) as client:
        yield client


async def test_list_and_resolve_clusters(client: KostyorClient) -> None:
    clusters = await client.list_clusters()
    assert {cluster.name for cluster in clusters} == DEMO_CLUSTERS
    by_name = {cluster.name: cluster for cluster in clusters}
    assert by_name["home_lab"].version == "mitaka"
    assert by_name["home_lab"].status is Status.READY
    assert by_name["legacy"].version == "unknown"

    home = await client.resolve_cluster("home_lab")
    assert home == by_name["home_lab"]
    assert await client.resolve_cluster(home.id) == home
    assert await client.get_cluster(home.id) == home

    with pytest.raises(NotFound) as unknown:
        await client.resolve_cluster("home")
    assert "known clusters: datacenter_east, home_lab, legacy, staging" in unknown.value.one_line()
    with pytest.raises(NotFound):
        await client.get_cluster("00000000-0000-0000-0000-000000000000")


async def test_ambiguous_name_lists_the_ids(client: KostyorClient) -> None:
    first = await client.resolve_cluster("home_lab")
    second = await client.discover_cluster(
        "simulated", "home_lab", {"controllers": "1", "computes": "1", "storage": "0"}
    )
    with pytest.raises(AmbiguousName) as caught:
        await client.resolve_cluster("home_lab")
    assert first.id in caught.value.one_line() and second.id in caught.value.one_line()
    # The id still picks exactly one.
    assert (await client.resolve_cluster(second.id)).id == second.id


async def test_hosts_services_and_versions(client: KostyorClient) -> None:
    home = await client.resolve_cluster("home_lab")
    hosts = await client.list_hosts(home.id)
    services = await client.list_services(home.id)
    assert len(hosts) == 3 + 8 + 2
    assert all(host.cluster_id == home.id for host in hosts)
    assert services and [s.name for s in services] == sorted(s.name for s in services)
    releases = await client.list_all_versions()
    assert releases[:4] == ["liberty", "mitaka", "newton", "ocata"]
    assert "zed" in releases
    counts = version_counts(services, releases, hosts=hosts)
    assert list(counts) == ["mitaka"]
    assert await client.list_upgrade_versions(home.id) == releases[2:]

    legacy = await client.resolve_cluster("legacy")
    assert await client.list_upgrade_versions(legacy.id) == []
    for call in (client.list_hosts, client.list_services, client.list_upgrade_versions):
        with pytest.raises(NotFound):
            await call("no-such-cluster")


async def test_discovery(client: KostyorClient) -> None:
    methods = await client.list_discovery_methods()
    assert {"simulated", "openstack-ansible"} <= set(methods)
    cluster = await client.discover_cluster(
        "simulated",
        "lab_two",
        {"controllers": "1", "computes": "2", "storage": "0", "version": "newton"},
    )
    assert (cluster.name, cluster.version) == ("lab_two", "newton")
    assert len(await client.list_hosts(cluster.id)) == 3
    assert "lab_two" in {c.name for c in await client.list_clusters()}

    with pytest.raises(Rejected) as caught:
        await client.discover_cluster("simulated", "bad", {"computes": "many"})
    assert caught.value.exit_code == 4
    assert "computes" in caught.value.one_line()
    with pytest.raises(Rejected):
        await client.discover_cluster("no-such-method", "bad")


async def test_whole_upgrade_with_every_action(client: KostyorClient) -> None:
    home = await client.resolve_cluster("home_lab")
    assert await client.current_upgrade(home.id) is None
    with pytest.raises(NotFound, match="never had an upgrade"):
        await client.upgrade_action(home.id, "pause")

    started = await client.start_upgrade(home.id, "newton", engine="service-by-service")
    assert started.id and started.cluster_id == home.id
    assert started.status is Status.IN_PROGRESS
    assert (started.from_version, started.to_version) == ("mitaka", "newton")
    assert (started.engine, started.driver) == ("service-by-service", "noop")
    assert (await client.get_upgrade(started.id)).id == started.id
    assert (await client.current_upgrade(home.id)).id == started.id
    assert [u.id for u in await client.list_upgrades(home.id)] == [started.id]

    with pytest.raises(ActionRefused, match="already in progress"):
        await client.start_upgrade(home.id, "ocata")

    async def some_progress() -> bool:
        services = await client.list_services(home.id)
        hosts = await client.list_hosts(home.id)
        return upgrade_progress(hosts, services, "newton", started.engine).services_upgraded > 0

    await wait_for(some_progress, "the first step")

    paused = await client.upgrade_action(home.id, "pause")
    assert (paused.id, paused.status) == (started.id, Status.PAUSED)
    assert allowed_actions(paused.status) == ("continue", "rollback", "cancel")
    with pytest.raises(ActionRefused, match="it is UPGRADE PAUSED"):
        await client.upgrade_action(home.id, "pause")

    resumed = await client.upgrade_action(home.id, "continue")
    assert (resumed.id, resumed.status) == (started.id, Status.IN_PROGRESS)

    rolled_back = await client.upgrade_action(home.id, "rollback")
    assert rolled_back.status is Status.ROLLBACK_IN_PROGRESS
    with pytest.raises(ActionRefused, match="no action is possible now"):
        await client.upgrade_action(home.id, "cancel")

    async def rollback_over() -> Upgrade | None:
        upgrade = await client.get_upgrade(started.id)
        return upgrade if upgrade.status is not Status.ROLLBACK_IN_PROGRESS else None

    finished = await wait_for(rollback_over, "the rollback to finish")
    services = await client.list_services(home.id)
    assert set(version_counts(services)) == {"mitaka"}
    assert finished.status is not Status.IN_PROGRESS
    assert (await client.get_cluster(home.id)).version == "mitaka"


async def test_upgrade_to_the_end_then_cancel_is_refused(client: KostyorClient) -> None:
    staging = await client.resolve_cluster("staging")
    # The demo's staging went to newton already; take it one release further.
    assert staging.version == "newton"
    started = await client.start_upgrade(staging.id, "ocata")

    async def succeeded() -> bool:
        return (await client.get_upgrade(started.id)).status is Status.SUCCEEDED

    await wait_for(succeeded, "the upgrade to succeed")
    hosts = await client.list_hosts(staging.id)
    services = await client.list_services(staging.id)
    progress = upgrade_progress(hosts, services, "ocata")
    assert progress.done and progress.nodes_upgraded == progress.nodes_total == len(hosts)
    assert set(host_states(hosts, services, "ocata").values()) == {"upgraded"}
    assert (await client.get_cluster(staging.id)).version == "ocata"
    with pytest.raises(ActionRefused, match="it is UPGRADE SUCCEED"):
        await client.upgrade_action(staging.id, "cancel")
    history = await client.list_upgrades(staging.id)
    assert len(history) == 2 and history[-1].id == started.id
    assert (await client.current_upgrade(staging.id)).id == started.id


async def test_start_refusals(client: KostyorClient) -> None:
    legacy = await client.resolve_cluster("legacy")
    with pytest.raises(ActionRefused, match="version is unknown"):
        await client.start_upgrade(legacy.id, "newton")
    home = await client.resolve_cluster("home_lab")
    with pytest.raises(Rejected) as backwards:
        await client.start_upgrade(home.id, "liberty")
    assert "not allowed" in backwards.value.one_line()
    with pytest.raises(Rejected):
        await client.start_upgrade(home.id, "nonsense")
    with pytest.raises(NotFound):
        await client.start_upgrade("no-such-cluster", "newton")
    assert await client.list_upgrades(home.id) == []


async def test_unknown_upgrade(client: KostyorClient) -> None:
    with pytest.raises(NotFound, match="No upgrade with id 'nope'"):
        await client.get_upgrade("nope")


async def test_closed_port_is_unreachable() -> None:
    url = f"http://127.0.0.1:{closed_port()}/"
    async with KostyorClient(url) as client:
        with pytest.raises(Unreachable) as caught:
            await client.list_clusters()
    assert caught.value.exit_code == 6
    assert f"cannot connect to {url}" in caught.value.one_line()
    assert "check api_url" in caught.value.one_line()


async def test_authentication(server_factory) -> None:
    server = server_factory(auth=("operator", "hunter2-long"))
    async with KostyorClient(server.url) as anonymous:
        with pytest.raises(AuthFailed) as missing:
            await anonymous.list_clusters()
    async with KostyorClient(server.url, username="operator", password="wrong-pass") as wrong:
        with pytest.raises(AuthFailed) as bad:
            await wrong.list_clusters()
    assert missing.value.exit_code == bad.value.exit_code == 5
    assert "wrong-pass" not in bad.value.one_line()
    async with KostyorClient(server.url, username="operator", password="hunter2-long") as good:
        assert {c.name for c in await good.list_clusters()} == DEMO_CLUSTERS
    # Credentials in the URL work too, and stay out of the client's shown URL.
    with_userinfo = server.url.replace("http://", "http://operator:hunter2-long@")
    async with KostyorClient(with_userinfo) as in_url:
        assert len(await in_url.list_clusters()) == 4
        assert "hunter2" not in in_url.api_url


async def test_path_prefix_is_kept(server) -> None:
    """A front proxy serving the API under /kostyor/, with HTML 404 pages elsewhere."""
    cluster = b'[{"id": "c-1", "name": "behind_proxy", "status": "READY FOR UPGRADE"}]'
    with FaultProxy(server.url) as proxy:
        proxy.inject(Fault.respond(200, cluster, path=r"^/kostyor/clusters$"))
        proxy.inject(Fault.not_found_html(path=r"^/(?!kostyor/)"))
        async with KostyorClient(proxy.url + "/kostyor/") as client:
            (only,) = await client.list_clusters()
        assert only.name == "behind_proxy"
        assert proxy.requests[-1].path == "/kostyor/clusters"
        # Forgetting the prefix meets the proxy's HTML 404: a clear hint, no crash.
        async with KostyorClient(proxy.url) as client:
            with pytest.raises(NotFound) as caught:
                await client.list_clusters()
    assert "has no GET /clusters" in caught.value.one_line()
    assert "path prefix" in caught.value.one_line()


async def test_post_500_after_saving_for_real(server) -> None:
    """Quirk 8 over real HTTP: the server saves the upgrade, the client sees a 500."""
    with FaultProxy(server.url) as proxy:
        proxy.inject(Fault.status_500_json(method="POST", path=r"^/upgrades$", forward=True))
        async with KostyorClient(proxy.url) as client:
            home = await client.resolve_cluster("home_lab")
            with pytest.raises(ServerError) as caught:
                await client.start_upgrade(home.id, "newton")
            saved = await client.current_upgrade(home.id)
        assert proxy.count("POST", r"^/upgrades$") == 1
    assert saved is not None
    message = caught.value.one_line()
    assert f"but the upgrade was saved: {saved.id}, cluster is UPGRADE IN PROGRESS" in message


async def test_put_500_after_acting_for_real(server) -> None:
    with FaultProxy(server.url) as proxy:
        async with KostyorClient(proxy.url) as client:
            home = await client.resolve_cluster("home_lab")
            await client.start_upgrade(home.id, "newton")
            proxy.inject(Fault.status_500_json(method="PUT", forward=True))
            with pytest.raises(ServerError) as caught:
                await client.upgrade_action(home.id, "pause")
        assert proxy.count("PUT") == 1
    assert "but the pause took effect" in caught.value.one_line()
    assert "UPGRADE PAUSED" in caught.value.one_line()


async def test_many_concurrent_calls_through_a_small_pool(server) -> None:
    async with KostyorClient(server.url, max_connections=2) as client:
        results = await asyncio.gather(*(client.list_clusters() for _ in range(25)))
    assert all({c.name for c in clusters} == DEMO_CLUSTERS for clusters in results)
