"""Every quirk of the contract's section 3, through `httpx.MockTransport`.

The embedded server fixes these quirks (contract section 4), so they cannot be
met over real HTTP in this repository: `QuirkyServer` replays answers of the
real server's shapes. Each test names the quirk it covers.
"""

import asyncio

import httpx
import pytest

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.api.errors import (
    ActionRefused,
    AmbiguousName,
    NotFound,
    ProtocolError,
    ServerError,
    TimedOut,
)
from kostyor_tui.domain.statuses import Status
from tests.api.loopback import loopback_server, read_request_head
from tests.api.quirky_server import QuirkyServer, json_response

API_URL = "https://ops.example/kostyor/"


@pytest.fixture
def real() -> QuirkyServer:
    server = QuirkyServer(prefix="/kostyor/")
    server.add_cluster("c-1", "home_lab", "mitaka")
    server.add_cluster("c-2", "edge", "newton")
    return server


def client_for(server: QuirkyServer, **options) -> KostyorClient:
    return KostyorClient(API_URL, transport=server.transport(), **options)


# Quirk 1


@pytest.mark.parametrize("wrapped", [False, True])
async def test_quirk_1_cluster_list_bare_or_wrapped(real: QuirkyServer, wrapped: bool) -> None:
    real.wrap_lists = wrapped
    async with client_for(real) as client:
        clusters = await client.list_clusters()
        upgrades = await client.list_upgrades()
    assert [(c.id, c.name, c.version) for c in clusters] == [
        ("c-1", "home_lab", "mitaka"),
        ("c-2", "edge", "newton"),
    ]
    assert clusters[0].status is Status.READY
    assert upgrades == []
    # The base URL's path prefix is kept in every request.
    assert {str(r.url) for r in real.requests} == {
        "https://ops.example/kostyor/clusters",
        "https://ops.example/kostyor/upgrades",
    }


# Quirk 2


async def test_quirk_2_unknown_cluster_id_is_not_found_not_server_error(
    real: QuirkyServer,
) -> None:
    async with client_for(real) as client:
        with pytest.raises(NotFound) as caught:
            await client.get_cluster("nope")
        for call in (client.list_hosts, client.list_services, client.list_upgrade_versions):
            with pytest.raises(NotFound):
                await call("nope")
    message = caught.value.one_line()
    assert "'nope'" in message and "edge, home_lab" in message
    assert "500" not in message
    # Resolved through GET /clusters after the 500.
    assert real.sent("GET", "/clusters")


async def test_quirk_2_html_500_for_upgrade_versions_of_unknown_cluster(
    real: QuirkyServer,
) -> None:
    async with client_for(real) as client:
        assert await client.list_upgrade_versions("c-1") == ["newton", "ocata"]
        with pytest.raises(NotFound, match="No cluster named or with id 'ghost'"):
            await client.list_upgrade_versions("ghost")


async def test_quirk_2_a_500_for_a_known_cluster_stays_a_server_error() -> None:
    """When the id is in GET /clusters, the 500 was a real server error: say so."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/clusters":
            return json_response(200, [{"id": "c-1", "name": "home_lab"}])
        return json_response(500, {"message": "database is locked"})

    async with KostyorClient("http://k", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ServerError) as caught:
            await client.get_cluster("c-1")
    assert "database is locked" in caught.value.one_line()
    assert caught.value.exit_code == 7


async def test_quirk_2_unknown_upgrade_id_is_not_found(real: QuirkyServer) -> None:
    real.add_upgrade("u-1", "c-1", status="UPGRADE SUCCEED")
    async with client_for(real) as client:
        assert (await client.get_upgrade("u-1")).status is Status.SUCCEEDED
        with pytest.raises(NotFound, match="No upgrade with id 'u-9'"):
            await client.get_upgrade("u-9")


async def test_resolve_cluster_by_id_name_ambiguous_and_unknown(real: QuirkyServer) -> None:
    real.add_cluster("c-3", "edge", "ocata")
    # An id wins over a name that happens to equal it.
    real.add_cluster("c-4", "c-1", "ocata")
    async with client_for(real) as client:
        assert (await client.resolve_cluster("home_lab")).id == "c-1"
        assert (await client.resolve_cluster("c-1")).name == "home_lab"
        with pytest.raises(AmbiguousName) as ambiguous:
            await client.resolve_cluster("edge")
        with pytest.raises(NotFound) as unknown:
            await client.resolve_cluster("lab")
    assert "c-2, c-3" in ambiguous.value.one_line()
    assert ambiguous.value.exit_code == 2
    assert "known clusters: c-1, edge, home_lab" in unknown.value.one_line()


# Quirk 3


async def test_quirk_3_cluster_filter_applied_on_the_client(real: QuirkyServer) -> None:
    real.add_upgrade("u-1", "c-1", status="UPGRADE SUCCEED")
    real.add_upgrade("u-2", "c-2", status="UPGRADE SUCCEED")
    real.add_upgrade("u-3", "c-1", status="UPGRADE CANCELLED")
    async with client_for(real) as client:
        upgrades = await client.list_upgrades("c-1")
        everything = await client.list_upgrades()
    assert [u.id for u in upgrades] == ["u-1", "u-3"]
    assert len(everything) == 3
    assert real.sent("GET", "/upgrades")[0].url.params["cluster_id"] == "c-1"


# Quirk 4


async def test_quirk_4_null_status_of_a_new_upgrade_is_derived(real: QuirkyServer) -> None:
    async with client_for(real) as client:
        upgrade = await client.start_upgrade("c-1", "newton")
        assert upgrade.id == "upgrade-1"
        assert upgrade.status is Status.IN_PROGRESS
        assert upgrade.raw_status is None
        assert (await client.get_upgrade("upgrade-1")).status is Status.IN_PROGRESS
        assert (await client.current_upgrade("c-1")).status is Status.IN_PROGRESS
        assert await client.current_upgrade("c-2") is None
    # The server's own answer still says null: the status really was derived.
    assert real.upgrades[0]["status"] is None


async def test_quirk_4_only_the_newest_upgrade_takes_the_clusters_status(
    real: QuirkyServer,
) -> None:
    real.add_upgrade("old", "c-1", status=None, start="2026-11-20T10:00:00")
    real.add_upgrade("new", "c-1", status=None, start="2026-11-24T10:00:00")
    real.clusters[0]["status"] = "UPGRADE PAUSED"
    async with client_for(real) as client:
        assert (await client.get_upgrade("old")).status is Status.UNKNOWN
        assert (await client.get_upgrade("new")).status is Status.PAUSED


# Quirk 5


async def test_quirk_5_put_answer_ignored_state_re_read(real: QuirkyServer) -> None:
    real.add_upgrade("u-1", "c-1", status="UPGRADE IN PROGRESS")
    real.clusters[0]["status"] = "UPGRADE IN PROGRESS"
    async with client_for(real) as client:
        upgrade = await client.upgrade_action("c-1", "pause")
    # The answer was {"id": "c-1", "status": ...}: never shown as an upgrade id.
    assert (upgrade.id, upgrade.cluster_id, upgrade.status) == ("u-1", "c-1", Status.PAUSED)
    assert (upgrade.from_version, upgrade.to_version) == ("mitaka", "newton")
    (put,) = real.sent("PUT")
    assert put.url.path == "/kostyor/upgrades/u-1"
    after_put = real.requests[real.requests.index(put) + 1 :]
    assert {r.url.path for r in after_put} == {"/kostyor/clusters/c-1", "/kostyor/upgrades"}


async def test_quirk_5_action_applied_to_an_older_upgrade_is_reported(
    real: QuirkyServer,
) -> None:
    real.add_upgrade("u-old", "c-1", status="UPGRADE CANCELLED", start="2026-11-24T09:00:00")
    real.add_upgrade("u-new", "c-1", status=None, start="2026-11-24T10:00:00")
    real.clusters[0]["status"] = "UPGRADE IN PROGRESS"

    def handler(request: httpx.Request) -> httpx.Response:
        answer = real.handle(request)
        if request.method == "PUT":
            # This server changes only the oldest upgrade, not the cluster.
            real.clusters[0]["status"] = "UPGRADE IN PROGRESS"
        return answer

    async with KostyorClient(API_URL, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ServerError) as caught:
            await client.upgrade_action("c-1", "pause")
    message = caught.value.one_line()
    assert "applied the pause to an older upgrade of cluster home_lab, u-old" in message
    assert "instead of the current one, u-new (still UPGRADE IN PROGRESS)" in message
    assert len(real.sent("PUT")) == 1


# Quirk 6


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("UPGRADE CANCELLED", "continue"),
        ("UPGRADE IN PROGRESS", "continue"),
        ("UPGRADE PAUSED", "pause"),
        ("UPGRADE ERROR", "cancel"),
        ("UPGRADE SUCCEED", "rollback"),
        ("UPGRADE ROLLBACK IN PROGRESS", "pause"),
    ],
)
async def test_quirk_6_invalid_actions_refused_before_sending(
    real: QuirkyServer, status: str, action: str
) -> None:
    real.add_upgrade("u-1", "c-1", status=status)
    async with client_for(real) as client:
        with pytest.raises(ActionRefused) as caught:
            await client.upgrade_action("c-1", action)
    assert not real.sent("PUT")
    message = caught.value.one_line()
    assert f"Cannot {action} the upgrade of cluster home_lab: it is {status}" in message
    assert caught.value.exit_code == 4


@pytest.mark.parametrize(
    ("status", "action", "result"),
    [
        ("UPGRADE IN PROGRESS", "pause", Status.PAUSED),
        ("UPGRADE PAUSED", "continue", Status.IN_PROGRESS),
        ("UPGRADE ERROR", "continue", Status.IN_PROGRESS),
        ("UPGRADE ERROR", "rollback", Status.ROLLBACK_IN_PROGRESS),
        ("UPGRADE PAUSED", "cancel", Status.CANCELLED),
    ],
)
async def test_quirk_6_valid_actions_are_sent(
    real: QuirkyServer, status: str, action: str, result: Status
) -> None:
    real.add_upgrade("u-1", "c-1", status=status)
    real.clusters[0]["status"] = status
    async with client_for(real) as client:
        upgrade = await client.upgrade_action("c-1", action)
    assert upgrade.status is result
    (put,) = real.sent("PUT")
    assert put.read() == f'{{"cluster_id":"c-1","action":"{action}"}}'.encode()


async def test_a_null_upgrade_status_is_checked_against_the_clusters(real: QuirkyServer) -> None:
    real.add_upgrade("u-1", "c-1", status=None)
    real.clusters[0]["status"] = "UPGRADE IN PROGRESS"
    async with client_for(real) as client:
        with pytest.raises(ActionRefused, match="possible now: pause, rollback, cancel"):
            await client.upgrade_action("c-1", "continue")
        assert (await client.upgrade_action("c-1", "pause")).status is Status.PAUSED


async def test_unknown_action_refused(real: QuirkyServer) -> None:
    async with client_for(real) as client:
        with pytest.raises(ActionRefused, match="Unknown upgrade action 'explode'"):
            await client.upgrade_action("c-1", "explode")  # type: ignore[arg-type]
    assert not real.requests


async def test_starting_while_in_progress_or_version_unknown_refused(real: QuirkyServer) -> None:
    real.clusters[0]["status"] = "UPGRADE IN PROGRESS"
    real.add_cluster("c-3", "mystery", "unknown")
    async with client_for(real) as client:
        with pytest.raises(ActionRefused, match="already in progress"):
            await client.start_upgrade("c-1", "newton")
        with pytest.raises(ActionRefused, match="version is unknown"):
            await client.start_upgrade("c-3", "newton")
        with pytest.raises(NotFound, match="known clusters"):
            await client.start_upgrade("nope", "newton")
    assert not real.sent("POST")


# Quirk 7


async def test_quirk_7_action_on_a_cluster_that_never_had_an_upgrade(real: QuirkyServer) -> None:
    async with client_for(real) as client:
        with pytest.raises(NotFound) as caught:
            await client.upgrade_action("c-1", "pause")
    assert "never had an upgrade" in caught.value.one_line()
    assert not real.sent("PUT")


# Quirk 8


async def test_quirk_8_post_500_after_saving_is_reported_and_not_retried(
    real: QuirkyServer,
) -> None:
    real.broker_down = True
    async with client_for(real) as client:
        with pytest.raises(ServerError) as caught:
            await client.start_upgrade("c-1", "newton")
    message = caught.value.one_line()
    assert "answered 500" in message
    assert "but the upgrade was saved: upgrade-1, cluster is UPGRADE IN PROGRESS" in message
    assert "do not start it again" in message
    assert len(real.sent("POST")) == 1


async def test_quirk_8_post_500_without_saving_says_nothing_was_saved() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if request.method == "POST":
            return json_response(500, {"message": "Internal Server Error"})
        if request.url.path == "/clusters/c-1":
            return json_response(200, {"id": "c-1", "name": "lab", "version": "mitaka"})
        return json_response(200, [])

    async with KostyorClient("http://k", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ServerError) as caught:
            await client.start_upgrade("c-1", "newton")
    assert "no upgrade was saved" in caught.value.one_line()
    assert "safe to try again" in caught.value.one_line()
    assert sum(r.method == "POST" for r in requests) == 1


async def test_quirk_8_post_timeout_re_reads_state(real: QuirkyServer) -> None:
    """The request reached the server, which saved the upgrade, but no answer came."""

    def handler(request: httpx.Request) -> httpx.Response:
        answer = real.handle(request)
        if request.method == "POST":
            raise httpx.ReadTimeout("timed out", request=request)
        return answer

    async with KostyorClient(API_URL, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(TimedOut) as caught:
            await client.start_upgrade("c-1", "newton")
    assert "but the upgrade was saved: upgrade-1" in caught.value.one_line()
    assert len(real.sent("POST")) == 1


async def test_quirk_8_put_500_re_reads_and_says_whether_it_took_effect(
    real: QuirkyServer,
) -> None:
    real.add_upgrade("u-1", "c-1", status="UPGRADE IN PROGRESS")

    def handler(request: httpx.Request) -> httpx.Response:
        answer = real.handle(request)  # the action is applied...
        if request.method == "PUT":
            return json_response(500, {"message": "Internal Server Error"})  # ...then a 500
        return answer

    async with KostyorClient(API_URL, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ServerError) as caught:
            await client.upgrade_action("c-1", "pause")
    assert "but the pause took effect: upgrade u-1 is UPGRADE PAUSED" in caught.value.one_line()
    assert len(real.sent("PUT")) == 1


async def test_quirk_8_put_500_that_changed_nothing(real: QuirkyServer) -> None:
    real.add_upgrade("u-1", "c-1", status="UPGRADE IN PROGRESS")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            return json_response(503, {"message": "broker down"})
        return real.handle(request)

    async with KostyorClient(API_URL, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ServerError) as caught:
            await client.upgrade_action("c-1", "cancel")
    message = caught.value.one_line()
    assert "answered 503: broker down" in message
    assert "still UPGRADE IN PROGRESS" in message


# Quirk 9


async def test_quirk_9_html_404_and_405_never_crash(real: QuirkyServer) -> None:
    async with client_for(real) as client:
        with pytest.raises(NotFound) as not_found:
            await client._request("GET", "no-such-path", what="read a path")
        with pytest.raises(ProtocolError) as not_allowed:
            await client._request("DELETE", "clusters", what="delete clusters")
    assert "has no GET /no-such-path" in not_found.value.one_line()
    assert "404 Not Found" in not_found.value.one_line()
    assert "path prefix" in not_found.value.one_line()
    assert "does not accept DELETE /clusters (405)" in not_allowed.value.one_line()


async def test_quirk_9_wrong_api_url_gives_a_clear_not_found() -> None:
    """An api_url missing its prefix meets the front server's HTML 404 pages."""
    server = QuirkyServer(prefix="/kostyor/")

    def handler(request: httpx.Request) -> httpx.Response:
        if not request.url.path.startswith("/kostyor/"):
            return httpx.Response(404, content=b"<html><title>Not here</title></html>")
        return server.handle(request)

    async with KostyorClient(
        "https://ops.example/", transport=httpx.MockTransport(handler)
    ) as client:
        with pytest.raises(NotFound, match="has no GET /clusters"):
            await client.list_clusters()


# Quirk 10


async def test_quirk_10_concurrency_is_bounded(real: QuirkyServer) -> None:
    in_flight = 0
    most = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        # Yield a few times so that other requests could start if allowed.
        for _ in range(5):
            await asyncio.sleep(0)
        in_flight -= 1
        return real.handle(request)

    async with KostyorClient(
        API_URL, transport=httpx.MockTransport(handler), max_connections=3
    ) as client:
        results = await asyncio.gather(*(client.list_clusters() for _ in range(20)))
    assert all(len(clusters) == 2 for clusters in results)
    assert most == 3


# Quirk 11


async def test_quirk_11_discovery_gets_the_long_timeout(real: QuirkyServer) -> None:
    timeouts: dict[tuple[str, str], float] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        timeouts[(request.method, request.url.path)] = request.extensions["timeout"]["read"]
        return real.handle(request)

    async with KostyorClient(
        API_URL, transport=httpx.MockTransport(handler), timeout=7, discovery_timeout=900
    ) as client:
        assert await client.list_discovery_methods() == ["openstack"]
        cluster = await client.discover_cluster("openstack", "new_lab", {"region": "one"})
    assert cluster.name == "new_lab"
    assert timeouts[("POST", "/kostyor/clusters/discover")] == 900
    assert timeouts[("GET", "/kostyor/clusters/discover")] == 7
    assert timeouts[("GET", "/kostyor/clusters")] == 7
    (post,) = real.sent("POST", "/clusters/discover")
    assert post.read() == b'{"name":"new_lab","method":"openstack","parameters":{"region":"one"}}'


async def test_discovery_failure_says_whether_the_cluster_was_created(real: QuirkyServer) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        answer = real.handle(request)
        if request.method == "POST":
            raise httpx.ReadTimeout("timed out", request=request)
        return answer

    async with KostyorClient(API_URL, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(TimedOut) as caught:
            await client.discover_cluster("openstack", "slow_lab")
    assert "but the cluster was created: slow_lab (new-2)" in caught.value.one_line()
    assert len(real.sent("POST")) == 1


@pytest.mark.parametrize("answer", [b"[1]", b"<html>oops</html>", b'{"id": {"no": 1}}'])
async def test_a_garbled_answer_to_a_post_is_re_read_too(real: QuirkyServer, answer: bytes) -> None:
    """The upgrade was saved although its 201 answer is garbage: say so, once."""

    def handler(request: httpx.Request) -> httpx.Response:
        response = real.handle(request)
        if request.method == "POST":
            return httpx.Response(201, content=answer)
        return response

    async with KostyorClient(API_URL, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ProtocolError) as started:
            await client.start_upgrade("c-1", "newton")
        with pytest.raises(ProtocolError) as discovered:
            await client.discover_cluster("openstack", "garbled_lab")
    assert "but the upgrade was saved: upgrade-1" in started.value.one_line()
    assert "but the cluster was created: garbled_lab" in discovered.value.one_line()
    assert len(real.sent("POST", "/upgrades")) == 1
    assert len(real.sent("POST", "/clusters/discover")) == 1


async def test_quirk_10_concurrency_is_bounded_on_real_sockets() -> None:
    """Counted by a loopback server: connections open at once never exceed the pool."""
    open_now = 0
    most = 0

    async def slow_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal open_now, most
        open_now += 1
        most = max(most, open_now)
        try:
            await read_request_head(reader)
            await asyncio.sleep(0.02)
            writer.write(
                b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]"
            )
            await writer.drain()
        finally:
            open_now -= 1

    async with (
        loopback_server(slow_answer) as port,
        KostyorClient(f"http://127.0.0.1:{port}/", max_connections=2) as client,
    ):
        results = await asyncio.gather(*(client.list_clusters() for _ in range(12)))
    assert results == [[]] * 12
    assert most == 2
