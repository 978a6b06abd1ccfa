"""Every endpoint (docs/kostyor-api.md#resources, with the fixes of #embedded-server) over
real HTTP."""

import re
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from kostyor_tui.server.runner import BackgroundServer
from tests.server.waiting import act, cluster_named, discover_small, start_upgrade, wait_for_status

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")
UPGRADE_FIELDS = {
    "id",
    "cluster_id",
    "from_version",
    "to_version",
    "status",
    "upgrade_start_time",
    "upgrade_end_time",
    "engine",
    "driver",
}
MISSING_ID = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def client(server: BackgroundServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def assert_error(response: httpx.Response, status_code: int, errors: dict | None = None) -> dict:
    assert response.status_code == status_code, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert isinstance(body["message"], str) and body["message"]
    assert "Traceback" not in response.text
    if errors is not None:
        assert body["errors"] == errors
    return body


# Clusters, hosts, services


def test_list_clusters_is_the_demo_fleet(client: httpx.Client) -> None:
    clusters = client.get("/clusters").json()
    assert all(set(cluster) == {"id", "name", "status", "version"} for cluster in clusters)
    by_name = {cluster["name"]: cluster for cluster in clusters}
    assert by_name["home_lab"]["version"] == "mitaka"
    assert by_name["home_lab"]["status"] == "READY FOR UPGRADE"
    assert by_name["staging"]["version"] == "newton"
    assert by_name["staging"]["status"] == "READY FOR UPGRADE"
    assert by_name["legacy"] == {**by_name["legacy"], "version": "unknown"}
    assert by_name["legacy"]["status"] == "NOT READY FOR UPGRADE"
    assert len(by_name) == 4


def test_get_cluster_and_unknown_cluster(client: httpx.Client) -> None:
    home = cluster_named(client, "home_lab")
    assert client.get(f"/clusters/{home['id']}").json() == home
    body = assert_error(client.get(f"/clusters/{MISSING_ID}"), 404)
    assert MISSING_ID in body["message"]
    for path in ("hosts", "services"):
        assert_error(client.get(f"/clusters/{MISSING_ID}/{path}"), 404)


def test_hosts_of_home_lab_by_role(client: httpx.Client) -> None:
    home = cluster_named(client, "home_lab")
    hosts = client.get(f"/clusters/{home['id']}/hosts").json()
    roles = Counter(host["hostname"].split("-")[0] for host in hosts)
    assert roles == {"controller": 3, "compute": 8, "storage": 2}
    assert all(host["cluster_id"] == home["id"] and host["services"] for host in hosts)
    services = client.get(f"/clusters/{home['id']}/services").json()
    # Host -> service ids and service -> host ids describe the same instances.
    from_hosts = {(host["id"], sid) for host in hosts for sid in host["services"]}
    from_services = {(hid, service["id"]) for service in services for hid in service["hosts"]}
    assert from_hosts == from_services
    assert client.get(f"/clusters/{cluster_named(client, 'legacy')['id']}/hosts").json() == []


def test_services_sorted_by_name_one_instance_each(client: httpx.Client) -> None:
    home = cluster_named(client, "home_lab")
    services = client.get(f"/clusters/{home['id']}/services").json()
    names = [service["name"] for service in services]
    assert names == sorted(names)
    assert all(set(s) == {"id", "name", "version", "hosts"} for s in services)
    assert all(len(s["hosts"]) == 1 and s["version"] == "mitaka" for s in services)
    counts = Counter(names)
    assert counts["keystone"] == 3
    assert counts["nova-compute"] == 8
    assert counts["cinder-volume"] == 2
    assert counts["neutron-openvswitch-agent"] == 3 + 8


# Versions


def test_release_lists(client: httpx.Client) -> None:
    releases = client.get("/list-upgrade-versions").json()
    assert releases[:4] == ["liberty", "mitaka", "newton", "ocata"]
    assert len(releases) > 4  # goes past ocata
    home = cluster_named(client, "home_lab")
    assert client.get(f"/upgrade-versions/{home['id']}").json() == releases[2:]
    legacy = cluster_named(client, "legacy")
    assert client.get(f"/upgrade-versions/{legacy['id']}").json() == []
    assert_error(client.get(f"/upgrade-versions/{MISSING_ID}"), 404)


# Discovery


def test_discovery_methods(client: httpx.Client) -> None:
    assert client.get("/clusters/discover").json() == ["simulated", "openstack-ansible"]


def test_discover_simulated_creates_a_cluster(client: httpx.Client) -> None:
    response = client.post(
        "/clusters/discover",
        json={
            "name": "rehearsal",
            "method": "simulated",
            "parameters": {"controllers": "2", "computes": "5", "storage": "1", "version": "ocata"},
        },
    )
    assert response.status_code == 201
    cluster = response.json()
    assert cluster["name"] == "rehearsal"
    assert (cluster["version"], cluster["status"]) == ("ocata", "READY FOR UPGRADE")
    assert cluster in client.get("/clusters").json()
    hosts = client.get(f"/clusters/{cluster['id']}/hosts").json()
    assert len(hosts) == 8


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"name": ["required field"], "method": ["required field"]}),
        ({"name": "x", "method": "magic"}, {"method": ["unallowed value magic"]}),
        ({"name": 5, "method": "simulated"}, {"name": ["must be of string type"]}),
        ({"name": "", "method": "simulated"}, {"name": ["empty values not allowed"]}),
        (
            {"name": "x", "method": "simulated", "parameters": ["computes=3"]},
            {"parameters": ["must be of dict type"]},
        ),
        (
            {"name": "x", "method": "simulated", "parameters": {"computes": 3}},
            {"parameters": ["value of 'computes' must be of string type"]},
        ),
        ({"name": "x", "method": "simulated", "colour": "red"}, {"colour": ["unknown field"]}),
    ],
)
def test_discover_validation(client: httpx.Client, body: dict, errors: dict) -> None:
    assert_error(client.post("/clusters/discover", json=body), 400, errors)
    assert len(client.get("/clusters").json()) == 4  # nothing was created


@pytest.mark.parametrize(
    ("parameters", "field_error"),
    [
        ({"computes": "many"}, "computes: must be a non-negative integer"),
        ({"computes": "-1"}, "computes: must be a non-negative integer"),
        ({"version": "grizzly"}, "version: unallowed value grizzly"),
        ({"racks": "2"}, "racks: unknown parameter"),
    ],
)
def test_discover_bad_parameters(client: httpx.Client, parameters: dict, field_error: str) -> None:
    body = {"name": "x", "method": "simulated", "parameters": parameters}
    error = assert_error(client.post("/clusters/discover", json=body), 400)
    assert error["errors"]["parameters"][0].startswith(field_error)


# Upgrades


def test_upgrade_history_and_filter(client: httpx.Client) -> None:
    staging = cluster_named(client, "staging")
    history = client.get("/upgrades").json()
    assert [(u["cluster_id"], u["status"]) for u in history] == [(staging["id"], "UPGRADE SUCCEED")]
    home = cluster_named(client, "home_lab")
    started = start_upgrade(client, home["id"])
    assert [u["id"] for u in client.get("/upgrades").json()] == [history[0]["id"], started["id"]]
    assert client.get("/upgrades", params={"cluster_id": home["id"]}).json() == [
        client.get(f"/upgrades/{started['id']}").json()
    ]
    assert client.get("/upgrades", params={"cluster_id": staging["id"]}).json() == history
    assert_error(client.get("/upgrades", params={"cluster_id": MISSING_ID}), 404)


def test_start_upgrade_answers_the_full_upgrade(client: httpx.Client) -> None:
    home = cluster_named(client, "home_lab")
    upgrade = start_upgrade(client, home["id"], "ocata")
    assert set(upgrade) == UPGRADE_FIELDS
    assert upgrade["cluster_id"] == home["id"]
    assert (upgrade["from_version"], upgrade["to_version"]) == ("mitaka", "ocata")
    assert upgrade["status"] == "UPGRADE IN PROGRESS"
    assert (upgrade["engine"], upgrade["driver"]) == ("node-by-node", "noop")
    assert TIMESTAMP.match(upgrade["upgrade_start_time"])
    assert upgrade["upgrade_end_time"] is None
    assert cluster_named(client, "home_lab")["status"] == "UPGRADE IN PROGRESS"
    assert client.get(f"/upgrades/{upgrade['id']}").json()["id"] == upgrade["id"]


def test_finished_upgrade_has_an_end_time(client: httpx.Client) -> None:
    staging = client.get("/upgrades").json()[0]
    assert TIMESTAMP.match(staging["upgrade_start_time"])
    assert TIMESTAMP.match(staging["upgrade_end_time"])
    assert staging["upgrade_end_time"] >= staging["upgrade_start_time"]


def test_start_upgrade_refusals(client: httpx.Client) -> None:
    home = cluster_named(client, "home_lab")
    staging = cluster_named(client, "staging")
    legacy = cluster_named(client, "legacy")
    body = assert_error(start_upgrade_response(client, legacy["id"], "newton"), 400)
    assert body["message"] == "Cluster version is unknown"
    body = assert_error(start_upgrade_response(client, staging["id"], "mitaka"), 400)
    assert body["message"] == 'Upgrade procedure from "newton" to "mitaka" is not allowed.'
    assert_error(start_upgrade_response(client, staging["id"], "newton"), 400)
    assert_error(start_upgrade_response(client, staging["id"], "havana"), 400)
    assert_error(start_upgrade_response(client, MISSING_ID, "newton"), 404)
    start_upgrade(client, home["id"])
    body = assert_error(start_upgrade_response(client, home["id"], "ocata"), 400)
    assert body["message"] == f"Cluster {home['id']} already has an upgrade in progress."
    assert len(client.get("/upgrades").json()) == 2  # the seeded one and ours


def start_upgrade_response(client: httpx.Client, cluster_id: str, to: str) -> httpx.Response:
    return client.post("/upgrades", json={"cluster_id": cluster_id, "to_version": to})


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"cluster_id": ["required field"], "to_version": ["required field"]}),
        ({"cluster_id": 7, "to_version": "newton"}, {"cluster_id": ["must be of string type"]}),
        (
            {"cluster_id": "c", "to_version": "newton", "engine": "big-bang"},
            {"engine": ["unallowed value big-bang"]},
        ),
        (  # as the real server refuses it: a rehearsal's typo is caught before the day
            {"cluster_id": "c", "to_version": "newton", "driver": "bogus"},
            {"driver": ["unallowed value bogus"]},
        ),
        (
            {"cluster_id": "c", "to_version": "newton", "parameters": {"a": 1}},
            {"parameters": ["value of 'a' must be of string type"]},
        ),
        (
            {"cluster_id": "c", "to_version": "newton", "id": "mine"},
            {"id": ["unknown field"]},
        ),
    ],
)
def test_start_upgrade_validation(client: httpx.Client, body: dict, errors: dict) -> None:
    assert_error(client.post("/upgrades", json=body), 400, errors)


@pytest.mark.parametrize(
    "content",
    [b"", b"not json", b"[1, 2]", b'"text"', b"\xff\xfe", b'{"cluster_id": ', b"[" * 100_000],
)
def test_non_json_bodies_get_400(client: httpx.Client, content: bytes) -> None:
    headers = {"content-type": "application/json"}
    assert_error(client.post("/upgrades", content=content, headers=headers), 400)
    assert_error(client.post("/clusters/discover", content=content, headers=headers), 400)
    staging_upgrade = client.get("/upgrades").json()[0]["id"]
    assert_error(client.put(f"/upgrades/{staging_upgrade}", content=content, headers=headers), 400)


def test_unknown_upgrade(client: httpx.Client) -> None:
    assert_error(client.get(f"/upgrades/{MISSING_ID}"), 404)
    assert_error(client.get(f"/upgrades/{MISSING_ID}/steps"), 404)
    home = cluster_named(client, "home_lab")
    response = client.put(
        f"/upgrades/{MISSING_ID}", json={"cluster_id": home["id"], "action": "pause"}
    )
    assert_error(response, 404)


# Actions


def test_action_validation_and_state_rules(client: httpx.Client) -> None:
    home = cluster_named(client, "home_lab")
    staging = cluster_named(client, "staging")
    seeded = client.get("/upgrades").json()[0]
    # The cluster has no upgrade at all.
    response = client.put(
        f"/upgrades/{home['id']}", json={"cluster_id": home["id"], "action": "pause"}
    )
    assert (
        assert_error(response, 400)["message"] == f"Cluster {home['id']} has no upgrade to pause."
    )
    assert_error(
        client.put(f"/upgrades/{seeded['id']}", json={"action": "dance"}),
        400,
        {"action": ["unallowed value dance"]},
    )
    assert_error(
        client.put(f"/upgrades/{seeded['id']}", json={}), 400, {"action": ["required field"]}
    )
    # The seeded upgrade belongs to staging, not to home_lab.
    assert_error(
        client.put(f"/upgrades/{seeded['id']}", json={"cluster_id": home["id"], "action": "pause"}),
        400,
    )
    # A finished upgrade accepts no action.
    for action in ("pause", "continue", "cancel", "rollback"):
        body = assert_error(act(client, seeded, action), 400)
        assert '"UPGRADE SUCCEED"' in body["message"]
    assert client.get(f"/upgrades/{seeded['id']}").json()["status"] == "UPGRADE SUCCEED"
    assert cluster_named(client, "staging") == staging


def test_actions_answer_with_the_full_newest_upgrade(client: httpx.Client) -> None:
    small = discover_small(client)
    upgrade = start_upgrade(client, small["id"])
    assert_error(act(client, upgrade, "continue"), 400)  # not paused
    paused = act(client, upgrade, "pause")
    assert paused.status_code == 200
    assert set(paused.json()) == UPGRADE_FIELDS
    assert (paused.json()["id"], paused.json()["status"]) == (upgrade["id"], "UPGRADE PAUSED")
    assert cluster_named(client, "small")["status"] == "UPGRADE PAUSED"
    assert_error(act(client, upgrade, "pause"), 400)  # already paused
    # cluster_id may be left out: it is taken from the upgrade in the path.
    resumed = client.put(f"/upgrades/{upgrade['id']}", json={"action": "continue"})
    assert resumed.json()["status"] == "UPGRADE IN PROGRESS"
    cancelled = act(client, upgrade, "cancel").json()
    assert cancelled["status"] == "UPGRADE CANCELLED"
    assert TIMESTAMP.match(cancelled["upgrade_end_time"])
    # A new upgrade after a cancelled one: actions go to the newest.
    second = start_upgrade(client, small["id"])
    assert act(client, upgrade, "pause").json()["id"] == second["id"]
    assert client.get(f"/upgrades/{upgrade['id']}").json()["status"] == "UPGRADE CANCELLED"
    wait_for_status(client, second["id"], "UPGRADE PAUSED")


# HTTP edges


def test_unknown_paths_and_methods(client: httpx.Client) -> None:
    for path in ("/", "/v1/clusters", "/clusters/", "/nope", "/clusters/a/b/c"):
        assert_error(client.get(path), 404)
    assert_error(client.delete("/clusters"), 405)
    assert_error(client.put("/clusters/discover", json={}), 405)


def test_oversized_body_is_refused(client: httpx.Client) -> None:
    response = client.post(
        "/clusters/discover",
        content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
        headers={"content-type": "application/json"},
    )
    assert_error(response, 413)
