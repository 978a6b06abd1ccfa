"""Upstream mode (`serve --behave upstream`, docs/kostyor-api.md#upstream-mode) over real
HTTP: the embedded server answering as the real Kostyor server does, a test per quirk of
docs/kostyor-api.md#quirks it produces; then the default mode, unchanged, for the same
requests; then both modes on one store, and the options that choose the mode.

Upstream mode runs no engine, so nothing here waits: every answer is final when it comes.
"""

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kostyor_tui.server.cli import main
from kostyor_tui.server.runner import BackgroundServer, ServerOptions
from kostyor_tui.server.upstream import NODE_BY_NODE_SERVICES, UPGRADE_FIELDS
from tests.server.rawhttp import RawConnection
from tests.server.waiting import cluster_named, versions, wait_for_status
from tests.support.servers import ServerProcess, running_server

AIO_INVENTORY = Path(__file__).parent / "fixtures" / "osa-inventory-aio.json"
MISSING_ID = "00000000-0000-0000-0000-000000000000"
INTERNAL_ERROR = {"message": "Internal Server Error"}
RELEASES = [
    "liberty",
    "mitaka",
    "newton",
    "ocata",
    "pike",
    "queens",
    "rocky",
    "stein",
    "train",
    "ussuri",
    "victoria",
    "wallaby",
    "xena",
    "yoga",
    "zed",
]


@pytest.fixture
def upstream(server_factory) -> BackgroundServer:
    """The demo fleet, served as the real server answers."""
    return server_factory(behave="upstream")


@pytest.fixture
def client(upstream: BackgroundServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=upstream.url, timeout=30) as client:
        yield client


def cluster_id(client: httpx.Client, name: str) -> str:
    return cluster_named(client, name)["id"]


def start(
    client: httpx.Client,
    name: str = "home_lab",
    to_version: str = "newton",
    engine: str = "service-by-service",
) -> httpx.Response:
    """POST /upgrades; service-by-service by default, which the demo fleet's names pass
    (node-by-node fails on them: quirk 13)."""
    body = {"cluster_id": cluster_id(client, name), "to_version": to_version, "engine": engine}
    return client.post("/upgrades", json=body)


def act(client: httpx.Client, name: str, action: str, path_id: str | None = None) -> httpx.Response:
    """PUT /upgrades/{path_id}: by default the cluster's id, which upstream mode ignores as
    the real server does, and the default mode accepts as what the real server hands out."""
    own = cluster_id(client, name)
    return client.put(f"/upgrades/{path_id or own}", json={"cluster_id": own, "action": action})


def upgrades_of(client: httpx.Client, name: str) -> list[dict[str, Any]]:
    own = cluster_id(client, name)
    return [upgrade for upgrade in client.get("/upgrades").json() if upgrade["cluster_id"] == own]


def assert_html(response: httpx.Response, status: int, title: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "text/html"
    assert response.text.startswith('<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">')
    assert f"<title>{status} {title}</title>" in response.text


def discover(client: httpx.Client, method: str, name: str, **parameters: str) -> httpx.Response:
    body: dict[str, Any] = {"name": name, "method": method}
    if parameters:
        body["parameters"] = parameters
    return client.post("/clusters/discover", json=body)


# Quirk 1


def test_quirk_1_lists_are_bare(client: httpx.Client) -> None:
    """docs/kostyor-api.md#quirk-wrapped-lists: the bare form (the wrapped one is older
    servers'; no mode produces it)."""
    home = cluster_id(client, "home_lab")
    for path in (
        "/clusters",
        "/upgrades",
        f"/clusters/{home}/hosts",
        f"/clusters/{home}/services",
        "/clusters/discover",
        "/list-upgrade-versions",
        f"/upgrade-versions/{home}",
    ):
        answer = client.get(path)
        assert answer.status_code == 200
        assert isinstance(answer.json(), list) and answer.json(), path


# Quirk 2


def test_quirk_2_unknown_ids_answer_500(client: httpx.Client) -> None:
    """docs/kostyor-api.md#quirk-unknown-ids"""
    for path in (f"/clusters/{MISSING_ID}", f"/upgrades/{MISSING_ID}", "/clusters/nope"):
        answer = client.get(path)
        assert answer.status_code == 500, path
        assert answer.headers["content-type"] == "application/json"
        assert answer.json() == INTERNAL_ERROR
    # A plain Flask route there: werkzeug's HTML page.
    assert_html(client.get(f"/upgrade-versions/{MISSING_ID}"), 500, "Internal Server Error")


def test_quirk_2_where_the_real_server_does_say_not_found(client: httpx.Client) -> None:
    """Hosts, services, a new upgrade and an action catch the lookup's error: 404 JSON in
    the real server's words."""
    said = {"message": f'Cluster (ID="{MISSING_ID}") not found.'}
    for answer in (
        client.get(f"/clusters/{MISSING_ID}/hosts"),
        client.get(f"/clusters/{MISSING_ID}/services"),
        client.post("/upgrades", json={"cluster_id": MISSING_ID, "to_version": "newton"}),
        client.put("/upgrades/x", json={"cluster_id": MISSING_ID, "action": "pause"}),
    ):
        assert (answer.status_code, answer.json()) == (404, said)


# Quirk 3


def test_quirk_3_cluster_filter_is_ignored(client: httpx.Client) -> None:
    """docs/kostyor-api.md#quirk-cluster-filter-ignored"""
    assert start(client).status_code == 201
    everything = client.get("/upgrades").json()
    assert {upgrade["cluster_id"] for upgrade in everything} == {
        cluster_id(client, "home_lab"),
        cluster_id(client, "staging"),  # the demo seed's finished upgrade
    }
    for value in (cluster_id(client, "staging"), MISSING_ID, ""):
        assert client.get("/upgrades", params={"cluster_id": value}).json() == everything


# Quirk 4


def test_quirk_4_new_upgrade_has_a_null_status_and_no_engine_or_driver(
    client: httpx.Client,
) -> None:
    """docs/kostyor-api.md#quirk-null-upgrade-status"""
    answer = start(client)
    assert answer.status_code == 201
    upgrade = answer.json()
    assert list(upgrade) == list(UPGRADE_FIELDS)  # no engine, no driver
    assert upgrade["status"] is None
    assert (upgrade["from_version"], upgrade["to_version"]) == ("mitaka", "newton")
    assert upgrade["upgrade_end_time"] is None
    assert client.get(f"/upgrades/{upgrade['id']}").json() == upgrade
    assert upgrades_of(client, "home_lab") == [upgrade]
    assert all(set(u) == set(UPGRADE_FIELDS) for u in client.get("/upgrades").json())
    assert cluster_named(client, "home_lab")["status"] == "UPGRADE IN PROGRESS"


# Quirk 5


def test_quirk_5_action_hits_the_oldest_upgrade_whatever_the_path_says(
    client: httpx.Client,
) -> None:
    """docs/kostyor-api.md#quirk-action-on-oldest"""
    home = cluster_id(client, "home_lab")
    oldest = start(client).json()
    assert act(client, "home_lab", "cancel").status_code == 200
    newest = start(client).json()
    staging_upgrade = upgrades_of(client, "staging")[0]
    for path_id in (newest["id"], MISSING_ID, staging_upgrade["id"]):
        answer = act(client, "home_lab", "pause", path_id=path_id)
        assert answer.status_code == 200
        assert answer.json() == {
            "id": home,  # the cluster's id, not an upgrade's
            "cluster_id": None,
            "from_version": None,
            "to_version": None,
            "status": "UPGRADE PAUSED",
            "upgrade_start_time": None,
            "upgrade_end_time": None,
        }
    by_id = {upgrade["id"]: upgrade for upgrade in client.get("/upgrades").json()}
    assert by_id[oldest["id"]]["status"] == "UPGRADE PAUSED"
    assert by_id[newest["id"]]["status"] is None  # never touched
    assert by_id[staging_upgrade["id"]] == staging_upgrade
    assert cluster_named(client, "home_lab")["status"] == "UPGRADE PAUSED"


def test_quirk_5_cancel_sets_the_end_time_and_the_others_leave_it(client: httpx.Client) -> None:
    start(client)
    act(client, "home_lab", "rollback")
    assert upgrades_of(client, "home_lab")[0]["upgrade_end_time"] is None
    act(client, "home_lab", "cancel")
    ended = upgrades_of(client, "home_lab")[0]["upgrade_end_time"]
    assert ended is not None
    act(client, "home_lab", "continue")
    assert upgrades_of(client, "home_lab")[0]["upgrade_end_time"] == ended


# Quirk 6


def test_quirk_6_any_action_in_any_state(client: httpx.Client) -> None:
    """docs/kostyor-api.md#quirk-no-transition-checks"""
    start(client)
    for action, status in (
        ("cancel", "UPGRADE CANCELLED"),
        ("continue", "UPGRADE IN PROGRESS"),  # a cancelled upgrade, continued
        ("pause", "UPGRADE PAUSED"),
        ("pause", "UPGRADE PAUSED"),
        ("rollback", "UPGRADE ROLLBACK IN PROGRESS"),
        ("continue", "UPGRADE IN PROGRESS"),
    ):
        answer = act(client, "home_lab", action)
        assert (answer.status_code, answer.json()["status"]) == (200, status), action
        assert upgrades_of(client, "home_lab")[0]["status"] == status
        assert cluster_named(client, "home_lab")["status"] == status
    # A finished upgrade is rolled back all the same.
    assert act(client, "staging", "rollback").json()["status"] == "UPGRADE ROLLBACK IN PROGRESS"


def test_quirk_6_a_new_upgrade_is_refused_only_while_exactly_in_progress(
    client: httpx.Client,
) -> None:
    home = cluster_id(client, "home_lab")
    assert start(client).status_code == 201
    refused = start(client)
    assert (refused.status_code, refused.json()) == (
        400,
        {"message": f"Cluster {home} already has an upgrade in progress."},
    )
    for action in ("pause", "rollback", "cancel"):
        act(client, "home_lab", action)
        assert start(client).status_code == 201, action  # over an unfinished one
        act(client, "home_lab", "pause")  # the oldest again; the cluster leaves IN PROGRESS
    assert len(upgrades_of(client, "home_lab")) == 4


# Quirk 7


def test_quirk_7_action_on_a_cluster_that_never_had_an_upgrade(client: httpx.Client) -> None:
    """docs/kostyor-api.md#quirk-action-without-upgrade"""
    for action in ("pause", "continue", "rollback", "cancel"):
        answer = act(client, "datacenter_east", action)
        assert (answer.status_code, answer.json()) == (500, INTERNAL_ERROR)
    assert cluster_named(client, "datacenter_east")["status"] == "READY FOR UPGRADE"


# Quirk 8


def test_quirk_8_broker_down_saves_then_answers_500(server_factory) -> None:
    """docs/kostyor-api.md#quirk-500-after-save (serve --broker-down)"""
    server = server_factory(behave="upstream", broker_down=True)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        answer = start(client)
        assert (answer.status_code, answer.json()) == (500, INTERNAL_ERROR)
        (saved,) = upgrades_of(client, "home_lab")
        assert (saved["status"], saved["to_version"]) == (None, "newton")
        assert cluster_named(client, "home_lab")["status"] == "UPGRADE IN PROGRESS"
        # Refusals come before the save, and are answered as ever.
        assert start(client).status_code == 400
        # Actions need no broker here.
        assert act(client, "home_lab", "pause").status_code == 200


# Quirk 9


def test_quirk_9_html_404_and_405(client: httpx.Client) -> None:
    """docs/kostyor-api.md#quirk-html-errors"""
    home = cluster_id(client, "home_lab")
    for path in ("/no-such-path", "/clusters/", f"/clusters/{home}/", "/v1/clusters"):
        assert_html(client.get(path), 404, "Not Found")
    # The real server has no step log.
    assert_html(client.get(f"/upgrades/{MISSING_ID}/steps"), 404, "Not Found")
    for method, path, allowed in (
        ("DELETE", "/clusters", {"GET", "HEAD"}),
        ("PUT", "/upgrades", {"GET", "HEAD", "POST"}),
        ("POST", f"/upgrade-versions/{home}", {"GET", "HEAD"}),
    ):
        answer = client.request(method, path, json={})
        assert_html(answer, 405, "Method Not Allowed")
        assert set(answer.headers["allow"].split(", ")) == allowed


# Quirks 10 and 16


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/clusters", None, 200),
        ("GET", f"/clusters/{MISSING_ID}", None, 500),
        ("GET", "/nowhere", None, 404),
        ("PUT", "/upgrades/x", {"cluster_id": "c", "action": "stop"}, 400),
    ],
)
def test_quirks_10_and_16_every_answer_closes_its_connection(
    upstream: BackgroundServer, method: str, path: str, body: Any, status: int
) -> None:
    """docs/kostyor-api.md#quirk-closed-connection and #quirk-single-threaded: as with the
    real server's HTTP/1.0 development server, a client needs a new connection after every
    answer, an error answer included."""
    with RawConnection(upstream.url) as connection:
        answer = connection.request(method, path, body)
        assert answer.status == status
        assert answer.headers["connection"] == "close"
        assert connection.closed_within(10) is not None


# Quirk 12


def test_quirk_12_nothing_ever_progresses(upstream: BackgroundServer, client: httpx.Client) -> None:
    """docs/kostyor-api.md#quirk-no-progress: there is no engine to move anything; a
    status moves only when an action is sent, and a rollback never ends."""
    assert upstream.engine is None
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok", "engine": "off"}
    home = cluster_id(client, "home_lab")
    before = versions(client, home)
    start(client)
    act(client, "home_lab", "rollback")
    # The default mode ends a rollback with nothing to undo at once (UPGRADE CANCELLED).
    assert upgrades_of(client, "home_lab")[0]["status"] == "UPGRADE ROLLBACK IN PROGRESS"
    act(client, "home_lab", "continue")
    assert versions(client, home) == before
    assert set(before.values()) == {"mitaka"}
    assert cluster_named(client, "home_lab")["version"] == "mitaka"
    assert upgrades_of(client, "home_lab")[0]["upgrade_end_time"] is None


# Quirk 13


def test_quirk_13_node_by_node_fails_after_saving_on_a_service_it_does_not_know(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    """docs/kostyor-api.md#quirk-engine-raises-after-save: home_lab runs `keystone` and
    `horizon`, which the released node-by-node engine does not know."""
    assert {"keystone", "horizon"}.isdisjoint(NODE_BY_NODE_SERVICES)
    with caplog.at_level(logging.ERROR, logger="kostyor_tui.server.upstream"):
        answer = start(client, engine="node-by-node")
    assert (answer.status_code, answer.json()) == (500, INTERNAL_ERROR)
    (saved,) = upgrades_of(client, "home_lab")
    assert saved["status"] is None
    assert cluster_named(client, "home_lab")["status"] == "UPGRADE IN PROGRESS"
    assert "does not know: horizon, keystone" in caplog.text
    # Node-by-node is also what an upgrade without `engine` gets.
    act(client, "home_lab", "cancel")
    body = {"cluster_id": cluster_id(client, "home_lab"), "to_version": "newton"}
    assert client.post("/upgrades", json=body).status_code == 500
    assert len(upgrades_of(client, "home_lab")) == 2


def test_quirk_13_node_by_node_passes_when_it_knows_every_service(client: httpx.Client) -> None:
    computes = discover(client, "simulated", "computes", controllers="0", computes="2")
    assert computes.status_code == 201
    answer = start(client, "computes", engine="node-by-node")
    assert answer.status_code == 201
    assert answer.json()["status"] is None


# Quirk 14


def test_quirk_14_an_unknown_version_lists_every_release(client: httpx.Client) -> None:
    """docs/kostyor-api.md#quirk-versions-for-unknown"""
    legacy = cluster_named(client, "legacy")
    assert legacy["version"] == "unknown"
    assert client.get(f"/upgrade-versions/{legacy['id']}").json() == RELEASES
    answer = client.post("/upgrades", json={"cluster_id": legacy["id"], "to_version": "zed"})
    assert (answer.status_code, answer.json()) == (400, {"message": "Cluster version is unknown"})
    assert (
        client.get(f"/upgrade-versions/{cluster_id(client, 'home_lab')}").json() == (RELEASES[2:])
    )


# Quirk 15


def test_quirk_15_discovery_methods(client: httpx.Client) -> None:
    """docs/kostyor-api.md#quirk-discovery-parameters"""
    assert client.get("/clusters/discover").json() == [
        "openstack",
        "openstack-ansible",
        "simulated",
    ]


def test_quirk_15_openstack_ansible_takes_no_parameters(client: httpx.Client) -> None:
    before = client.get("/clusters").json()
    answer = discover(client, "openstack-ansible", "osa", inventory=str(AIO_INVENTORY))
    assert (answer.status_code, answer.json()) == (500, {"message": "Driver() takes no arguments"})
    assert client.get("/clusters").json() == before


def test_quirk_15_openstack_ansible_reads_the_configured_inventory(server_factory) -> None:
    server = server_factory(
        behave="upstream",
        seed="empty",
        inventory_dirs=(AIO_INVENTORY.parent,),
        ansible_inventory=AIO_INVENTORY,
    )
    with httpx.Client(base_url=server.url, timeout=30) as client:
        answer = discover(client, "openstack-ansible", "aio")
        assert answer.status_code == 201, answer.text
        cluster = answer.json()
        assert (cluster["name"], cluster["version"], cluster["status"]) == (
            "aio",
            "unknown",
            "NOT READY FOR UPGRADE",
        )
        hosts = client.get(f"/clusters/{cluster['id']}/hosts").json()
        assert [host["hostname"] for host in hosts] == ["aio1"]
        services = client.get(f"/clusters/{cluster['id']}/services").json()
        assert {"keystone-wsgi-admin", "nova-compute", "swift-object-expirer"} <= {
            service["name"] for service in services
        }
        assert {service["version"] for service in services} == {None}
        # An empty mapping is no parameters.
        assert discover(client, "openstack-ansible", "aio2").status_code == 201
        body = {"name": "aio3", "method": "openstack-ansible", "parameters": {}}
        assert client.post("/clusters/discover", json=body).status_code == 201


@pytest.mark.parametrize("problem", ["none configured", "outside", "not JSON", "missing"])
def test_quirk_15_an_inventory_ansible_cannot_read_is_a_bare_500(
    server_factory, tmp_path: Path, caplog: pytest.LogCaptureFixture, problem: str
) -> None:
    allowed = tmp_path / "inventories"
    allowed.mkdir()
    inventory = {
        "none configured": None,
        "outside": AIO_INVENTORY,
        "not JSON": allowed / "broken.json",
        "missing": allowed / "missing.json",
    }[problem]
    (allowed / "broken.json").write_text("{ not json")
    server = server_factory(
        behave="upstream", seed="empty", inventory_dirs=(allowed,), ansible_inventory=inventory
    )
    with (
        httpx.Client(base_url=server.url, timeout=30) as client,
        caplog.at_level(logging.ERROR, logger="kostyor_tui.server.upstream"),
    ):
        answer = discover(client, "openstack-ansible", "osa")
        assert (answer.status_code, answer.json()) == (500, INTERNAL_ERROR)
        assert client.get("/clusters").json() == []
    assert "openstack-ansible discovery" in caplog.text


def test_quirk_15_openstack_answers_a_bare_500_and_logs_no_password(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    before = client.get("/clusters").json()
    auth = {
        "username": "admin",
        "password": "s3cret-pw",
        "tenant_name": "admin",
        "auth_url": "http://keystone.example:5000/v2.0",
    }
    with caplog.at_level(logging.DEBUG):
        for parameters in (auth, {}, {"region": "one"}):
            answer = discover(client, "openstack", "cloud", **parameters)
            assert (answer.status_code, answer.json()) == (500, INTERNAL_ERROR)
    assert client.get("/clusters").json() == before
    assert "s3cret-pw" not in caplog.text
    assert "keystone.example" not in caplog.text


def test_quirk_15_discovery_stores_services_without_a_version(client: httpx.Client) -> None:
    answer = discover(client, "simulated", "small", controllers="1", computes="1", storage="0")
    cluster = answer.json()
    assert (cluster["version"], cluster["status"]) == ("mitaka", "READY FOR UPGRADE")
    services = client.get(f"/clusters/{cluster['id']}/services").json()
    assert services and {service["version"] for service in services} == {None}


# Requests the real server validates


def test_bodies_are_checked_in_the_real_servers_words(client: httpx.Client) -> None:
    home = cluster_id(client, "home_lab")
    refused = client.post(
        "/upgrades",
        json={"cluster_id": home, "to_version": "folsom", "driver": "ansible", "engine": "fast"},
    )
    assert refused.status_code == 400
    assert refused.json() == {
        "message": 'Cannot create an upgrade task, passed data are incorrect. See "errors"'
        " attribute for details.",
        "errors": {
            "to_version": ["unallowed value folsom"],
            "engine": ["unallowed value fast"],
            "driver": ["unallowed value ansible"],
        },
    }
    # `unknown` is in its release list, and not later than anything.
    earlier = client.post("/upgrades", json={"cluster_id": home, "to_version": "unknown"})
    assert earlier.json() == {
        "message": 'Upgrade procedure from "mitaka" to "unknown" is not allowed.'
    }
    without_cluster = client.put("/upgrades/x", json={"action": "pause"})
    assert without_cluster.status_code == 400
    assert without_cluster.json()["errors"] == {"cluster_id": ["required field"]}
    assert without_cluster.json()["message"].startswith("Cannot update an upgrade task")
    assert client.post("/clusters/discover", json={"name": "x"}).json()["errors"] == {
        "method": ["required field"]
    }
    assert upgrades_of(client, "home_lab") == []


# The guards stay on


def test_the_request_guards_stay_on_in_upstream_mode(server_factory) -> None:
    server = server_factory(behave="upstream", auth=("operator", "s3cret"))
    credentials = ("operator", "s3cret")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.get("/clusters").status_code == 401
        assert client.get("/healthz").status_code == 200
        client.auth = credentials
        home = cluster_id(client, "home_lab")
        body = json.dumps({"cluster_id": home, "to_version": "newton"})
        plain = client.post("/upgrades", content=body, headers={"Content-Type": "text/plain"})
        assert plain.status_code == 415
        foreign = client.get("/clusters", headers={"Origin": "http://evil.example"})
        assert foreign.status_code == 403
        rebound = client.get("/clusters", headers={"Host": "evil.example"})
        assert rebound.status_code == 421
        huge = client.post(
            "/upgrades",
            content=b'{"x": "' + b"a" * (1024 * 1024) + b'"}',
            headers={"Content-Type": "application/json"},
        )
        assert huge.status_code == 413
        assert upgrades_of(client, "home_lab") == []


# The default mode, unchanged


SAME_REQUESTS = [
    # (what, method, path, body): {cluster} is home_lab's id, {legacy} legacy's.
    ("unknown cluster", "GET", f"/clusters/{MISSING_ID}", None),
    ("unknown upgrade", "GET", f"/upgrades/{MISSING_ID}", None),
    ("versions of an unknown cluster", "GET", f"/upgrade-versions/{MISSING_ID}", None),
    ("versions of an unknown version", "GET", "/upgrade-versions/{legacy}", None),
    ("filtered list", "GET", f"/upgrades?cluster_id={MISSING_ID}", None),
    ("no upgrade", "PUT", "/upgrades/{cluster}", {"cluster_id": "{cluster}", "action": "pause"}),
    ("unknown path", "GET", "/no-such-path", None),
    ("trailing slash", "GET", "/clusters/", None),
    ("wrong method", "DELETE", "/clusters", None),
    ("step log", "GET", f"/upgrades/{MISSING_ID}/steps", None),
    ("discovery methods", "GET", "/clusters/discover", None),
    ("new upgrade", "POST", "/upgrades", {"cluster_id": "{cluster}", "to_version": "newton"}),
]  # fmt: skip

# What each mode answers to SAME_REQUESTS: status, and the body (None: only its kind).
EXPECTED = {
    "fixed": [
        (404, "json"),
        (404, "json"),
        (404, "json"),
        (200, []),
        (404, "json"),
        (400, "json"),
        (404, "json"),
        (404, "json"),
        (405, "json"),
        (404, "json"),
        (200, ["simulated", "openstack-ansible"]),
        (201, "json"),
    ],
    "upstream": [
        (500, INTERNAL_ERROR),
        (500, INTERNAL_ERROR),
        (500, "html"),
        (200, RELEASES),
        (200, "json"),
        (500, INTERNAL_ERROR),
        (404, "html"),
        (404, "html"),
        (405, "html"),
        (404, "html"),
        (200, ["openstack", "openstack-ansible", "simulated"]),
        (500, INTERNAL_ERROR),  # node-by-node on home_lab: quirk 13
    ],
}


@pytest.mark.parametrize("behave", ["fixed", "upstream"])
def test_the_same_requests_in_both_modes(server_factory, behave: str) -> None:
    """The default mode is unchanged; upstream mode differs only where the real server
    does."""
    server = server_factory(behave=behave)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        ids = {"cluster": cluster_id(client, "home_lab"), "legacy": cluster_id(client, "legacy")}
        answers = []
        for _, method, path, body in SAME_REQUESTS:
            sent = None if body is None else {k: v.format_map(ids) for k, v in body.items()}
            answers.append(client.request(method, path.format_map(ids), json=sent))
    for (what, *_), answer, (status, expected) in zip(
        SAME_REQUESTS, answers, EXPECTED[behave], strict=True
    ):
        assert answer.status_code == status, (what, answer.text)
        kind = answer.headers["content-type"].partition(";")[0]
        if expected == "html":
            assert kind == "text/html", what
        else:
            assert kind == "application/json", what
            if expected != "json":
                assert answer.json() == expected, what
        # Only upstream mode closes every connection.
        assert (answer.headers.get("connection") == "close") is (behave == "upstream"), what


def test_the_default_mode_keeps_its_fixes(server: BackgroundServer) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert server.engine is not None
        home = cluster_id(client, "home_lab")
        started = start(client)
        upgrade = started.json()
        assert upgrade["status"] == "UPGRADE IN PROGRESS"
        assert (upgrade["engine"], upgrade["driver"]) == ("service-by-service", "noop")
        assert [u["id"] for u in client.get("/upgrades", params={"cluster_id": home}).json()] == [
            upgrade["id"]
        ]
        paused = act(client, "home_lab", "pause", path_id=upgrade["id"])
        assert (paused.json()["id"], paused.json()["status"]) == (upgrade["id"], "UPGRADE PAUSED")
        assert act(client, "home_lab", "pause", path_id=upgrade["id"]).status_code == 400
        assert client.get(f"/upgrades/{upgrade['id']}/steps").status_code == 200
        assert client.get("/healthz").json()["engine"] == "running"


# One store, both modes


def test_a_database_from_upstream_mode_carries_on_in_the_default_mode(tmp_path: Path) -> None:
    """The same SQLite file: upstream mode saves an upgrade with a null status and services
    with null versions, with the upgrade's plan; the default mode gives the null status its
    cluster's, and its engine carries each upgrade through, untouched or paused."""
    db_path = tmp_path / "shared.sqlite3"
    with (
        running_server(db_path, behave="upstream") as upstream,
        httpx.Client(base_url=upstream.url, timeout=30) as client,
    ):
        small = discover(client, "simulated", "small", controllers="0", computes="2", storage="1")
        small_id = small.json()["id"]
        assert start(client, "small").status_code == 201
        act(client, "small", "pause")
        upgrade = upgrades_of(client, "small")[0]
        home_lab = start(client).json()  # a null status, the cluster in progress
        assert home_lab["status"] is None
    with (
        running_server(db_path, step_seconds=0.01) as fixed,
        httpx.Client(base_url=fixed.url, timeout=30) as client,
    ):
        # The null-status upgrade has its cluster's status, and moves with no action sent.
        assert client.get(f"/upgrades/{home_lab['id']}").json()["status"] is not None
        wait_for_status(client, home_lab["id"], "UPGRADE SUCCEED")
        assert set(versions(client, cluster_id(client, "home_lab")).values()) == {"newton"}
        # The paused one, with services of no version, is carried through once continued.
        assert start(client, "small").status_code == 400
        assert act(client, "small", "continue").status_code == 200
        done = wait_for_status(client, upgrade["id"], "UPGRADE SUCCEED")
        assert done["engine"] == "service-by-service"
        assert set(versions(client, small_id).values()) == {"newton"}
        steps = client.get(f"/upgrades/{upgrade['id']}/steps").json()
        assert {step["version_before"] for step in steps} == {None}


# Choosing the mode


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--behave", "real"], "invalid choice: 'real'"),
        (["--broker-down"], "--broker-down applies to --behave upstream only"),
        (["--ansible-inventory", str(AIO_INVENTORY)], "applies to --behave upstream only"),
        (
            ["--behave", "upstream", "--ansible-inventory", str(AIO_INVENTORY)],
            "is not inside an --inventory-dir",
        ),
    ],
)
def test_mode_options_refused_where_they_do_not_apply(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert said in capsys.readouterr().err


def test_server_options_refuse_upstream_options_in_the_default_mode(tmp_path: Path) -> None:
    for options in ({"broker_down": True}, {"ansible_inventory": AIO_INVENTORY}):
        with pytest.raises(ValueError, match="upstream mode only"):
            ServerOptions(db_path=tmp_path / "x.sqlite3", **options)
    with pytest.raises(ValueError, match="unknown behaviour 'real'"):
        ServerOptions(db_path=tmp_path / "x.sqlite3", behave="real")


def test_serve_behave_upstream_as_a_process(tmp_path: Path) -> None:
    """`kostyor-tui serve --behave upstream --broker-down --ansible-inventory ...`, as the
    tests and an operator start it."""
    with ServerProcess(
        tmp_path / "process.sqlite3",
        behave="upstream",
        broker_down=True,
        inventory_dirs=(AIO_INVENTORY.parent,),
        ansible_inventory=AIO_INVENTORY,
    ) as server:
        assert "--behave" in server.args
        with httpx.Client(base_url=server.url, timeout=30) as client:
            assert start(client).status_code == 500
            assert upgrades_of(client, "home_lab")[0]["status"] is None
            assert discover(client, "openstack-ansible", "aio").status_code == 201
            assert client.get("/no-such-path").headers["content-type"] == "text/html"
    log = server.log_path.read_text()
    assert "Behaviour: upstream" in log
    assert "the task broker is down" in log
