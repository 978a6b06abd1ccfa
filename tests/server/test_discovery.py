"""Discovery over real HTTP: `simulated` topologies and OpenStack-Ansible inventories."""

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kostyor_tui.server.runner import BackgroundServer

# A copy of the shared fixture: a real OpenStack-Ansible all-in-one dynamic inventory.
AIO_INVENTORY = Path(__file__).parent / "fixtures" / "osa-inventory-aio.json"


@pytest.fixture
def client(server_factory, tmp_path: Path) -> Iterator[httpx.Client]:
    server: BackgroundServer = server_factory(
        seed="empty", inventory_dirs=(tmp_path, AIO_INVENTORY.parent)
    )
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def discover(client: httpx.Client, method: str, name: str, **parameters: str) -> httpx.Response:
    return client.post(
        "/clusters/discover", json={"name": name, "method": method, "parameters": parameters}
    )


def services_by_host(client: httpx.Client, cluster_id: str) -> dict[str, list[str]]:
    hosts = client.get(f"/clusters/{cluster_id}/hosts").json()
    name_of = {s["id"]: s["name"] for s in client.get(f"/clusters/{cluster_id}/services").json()}
    return {host["hostname"]: [name_of[sid] for sid in host["services"]] for host in hosts}


def test_simulated_topology_by_role(client: httpx.Client) -> None:
    response = discover(
        client, "simulated", "lab", controllers="3", computes="20", storage="2", version="mitaka"
    )
    assert response.status_code == 201
    cluster = response.json()
    assert (cluster["version"], cluster["status"]) == ("mitaka", "READY FOR UPGRADE")
    by_host = services_by_host(client, cluster["id"])
    roles = Counter(hostname.split("-")[0] for hostname in by_host)
    assert roles == {"controller": 3, "compute": 20, "storage": 2}
    controller = set(by_host["controller-01"])
    for expected in ("keystone", "glance-api", "nova-api", "nova-scheduler", "nova-conductor"):
        assert expected in controller
    assert {"neutron-server", "cinder-api", "cinder-scheduler", "horizon", "heat-engine"} <= (
        controller
    )
    assert set(by_host["compute-07"]) == {"nova-compute", "neutron-openvswitch-agent"}
    assert "cinder-volume" in by_host["storage-02"]
    assert any(name.startswith("swift-") for name in by_host["storage-02"])
    assert all(len(names) == len(set(names)) for names in by_host.values())
    services = client.get(f"/clusters/{cluster['id']}/services").json()
    assert {s["version"] for s in services} == {"mitaka"}


def test_simulated_defaults_and_unknown_version(client: httpx.Client) -> None:
    cluster = discover(client, "simulated", "defaults").json()
    assert len(client.get(f"/clusters/{cluster['id']}/hosts").json()) == 3 + 20 + 2
    unknown = discover(client, "simulated", "mystery", version="unknown").json()
    assert (unknown["version"], unknown["status"]) == ("unknown", "NOT READY FOR UPGRADE")


def test_openstack_ansible_all_in_one(client: httpx.Client) -> None:
    response = discover(client, "openstack-ansible", "aio", inventory=str(AIO_INVENTORY))
    assert response.status_code == 201, response.text
    cluster = response.json()
    assert (cluster["version"], cluster["status"]) == ("unknown", "NOT READY FOR UPGRADE")
    by_host = services_by_host(client, cluster["id"])
    assert list(by_host) == ["aio1"]  # containers roll up to their physical host
    names = by_host["aio1"]
    assert len(names) == len(set(names))  # each service once per machine
    for expected in (
        "keystone-wsgi-admin",
        "keystone-wsgi-public",
        "glance-api",
        "nova-api-os-compute",
        "nova-spicehtml5proxy",
        "nova-consoleauth",
        "nova-compute",
        "neutron-server",
        "neutron-linuxbridge-agent",
        "neutron-l3-agent",
        "cinder-volume",
        "horizon-wsgi",
        "heat-api-cfn",
        "swift-proxy-server",
        "swift-account-reaper",
        "swift-container-sync",
        "swift-object-expirer",
    ):
        assert expected in names
    # Groups outside the contract's table give no services.
    assert not any(name.startswith(("galera", "aodh", "rabbitmq", "memcached")) for name in names)


def test_openstack_ansible_children_and_version(client: httpx.Client, tmp_path: Path) -> None:
    inventory = {
        "_meta": {
            "hostvars": {
                "infra1_keystone_container-1": {"physical_host": "infra1"},
                "infra1_nova_api_container-2": {"physical_host": "infra1"},
                "infra2_keystone_container-3": {"physical_host": "infra2"},
                "compute1": {},
            }
        },
        "keystone_all": {"children": ["keystone"], "hosts": []},
        "keystone": {"hosts": ["infra1_keystone_container-1", "infra2_keystone_container-3"]},
        "nova_api_os_compute": {"children": ["nova_api_inner"]},
        "nova_api_inner": {"hosts": ["infra1_nova_api_container-2"]},
        "nova_compute": {"hosts": ["compute1"]},
        "neutron_linuxbridge_agent": {"hosts": ["compute1", "infra1_nova_api_container-2"]},
        "galera": {"hosts": ["infra1_keystone_container-1"]},
    }
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(inventory))
    response = discover(client, "openstack-ansible", "osa", inventory=str(path), version="newton")
    cluster = response.json()
    assert (cluster["version"], cluster["status"]) == ("newton", "READY FOR UPGRADE")
    by_host = {
        host: sorted(names) for host, names in services_by_host(client, cluster["id"]).items()
    }
    assert by_host == {
        "compute1": ["neutron-linuxbridge-agent", "nova-compute"],
        "infra1": [
            "keystone-wsgi-admin",
            "keystone-wsgi-public",
            "neutron-linuxbridge-agent",
            "nova-api-os-compute",
        ],
        "infra2": ["keystone-wsgi-admin", "keystone-wsgi-public"],
    }


@pytest.mark.parametrize(
    ("content", "parameters", "problem"),
    [
        (None, {}, "inventory: required field"),
        (None, {"inventory": "{tmp}/missing.json"}, "inventory: no such file"),
        ("not json {", {}, "inventory: "),
        ("[1, 2]", {}, "inventory: "),
        ('{"all": {}}', {"version": "folsom"}, "version: unallowed value folsom"),
        ('{"all": {}}', {"hosts": "3"}, "hosts: unknown parameter"),
    ],
)
def test_openstack_ansible_bad_input(
    client: httpx.Client, tmp_path: Path, content: str | None, parameters: dict, problem: str
) -> None:
    if content is not None:
        path = tmp_path / "inventory.json"
        path.write_text(content)
        parameters = {"inventory": str(path), **parameters}
    parameters = {name: value.format(tmp=tmp_path) for name, value in parameters.items()}
    response = discover(client, "openstack-ansible", "bad", **parameters)
    assert response.status_code == 400
    assert response.json()["errors"]["parameters"][0].startswith(problem)
    assert client.get("/clusters").json() == []
