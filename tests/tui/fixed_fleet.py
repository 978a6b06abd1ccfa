"""A small fleet that never moves, served over real HTTP by a canned loopback server.

Used only by the snapshot tests: a live embedded server mints fresh upgrade ids
and timestamps and keeps moving, which no screenshot can be compared against.
The client, service and screens are the real ones; only the server is replaced
by these fixed answers (shaped like the embedded server's).
"""

from datetime import datetime

from tests.support.canned import Answer, json_answer

API_URL = "http://kostyor.example:5055/"
NOW = datetime(2026, 11, 24, 10, 5, 0)

HOME_LAB = "00000000-0000-4000-8000-000000000001"
STAGING = "00000000-0000-4000-8000-000000000002"
LEGACY = "00000000-0000-4000-8000-000000000003"
EDGE = "00000000-0000-4000-8000-000000000004"
UPGRADE = "00000000-0000-4000-8000-0000000000aa"

CLUSTERS = [
    {"id": HOME_LAB, "name": "home_lab", "status": "UPGRADE PAUSED", "version": "mitaka"},
    {"id": STAGING, "name": "staging", "status": "READY FOR UPGRADE", "version": "newton"},
    {"id": LEGACY, "name": "legacy", "status": "NOT READY FOR UPGRADE", "version": "unknown"},
    {"id": EDGE, "name": "edge", "status": "UPGRADE ERROR", "version": "mitaka"},
]

ROLES = {
    "controller": ["keystone", "glance-api", "nova-api", "nova-scheduler", "neutron-server"],
    "compute": ["nova-compute", "neutron-openvswitch-agent"],
    "storage": ["cinder-volume", "swift-object-server"],
}
HOSTNAMES = (
    [f"controller-0{i}" for i in (1, 2, 3)]
    + [f"compute-0{i}" for i in range(1, 7)]
    + [
        "storage-01",
        "storage-02",
    ]
)


def _topology(cluster_id: str, prefix: int, upgraded: int) -> tuple[list[dict], list[dict]]:
    """Hosts and one service entry per instance; the first `upgraded` instances at newton."""
    hosts, services = [], []
    count = 0
    for host_index, hostname in enumerate(HOSTNAMES):
        host_id = f"{prefix}{host_index:03d}"
        role = hostname.split("-")[0]
        ids = []
        for name in ROLES[role]:
            service_id = f"{host_id}-{name}"
            version = "newton" if count < upgraded else "mitaka"
            services.append(
                {"id": service_id, "name": name, "version": version, "hosts": [host_id]}
            )
            ids.append(service_id)
            count += 1
        hosts.append(
            {"id": host_id, "hostname": hostname, "cluster_id": cluster_id, "services": ids}
        )
    return hosts, sorted(services, key=lambda s: s["name"])


TOPOLOGY = {
    HOME_LAB: _topology(HOME_LAB, 1, upgraded=8),
    EDGE: _topology(EDGE, 4, upgraded=0),
    STAGING: ([], []),
    LEGACY: ([], []),
}

UPGRADES = [
    {
        "id": UPGRADE,
        "cluster_id": HOME_LAB,
        "from_version": "mitaka",
        "to_version": "newton",
        "status": "UPGRADE PAUSED",
        "upgrade_start_time": "2026-11-24T10:00:00.000000",
        "upgrade_end_time": None,
        "engine": "node-by-node",
    }
]
RELEASES = ["liberty", "mitaka", "newton", "ocata", "pike"]


def _answer(path: str, query: dict[str, str]) -> object:
    parts = [part for part in path.split("/") if part]
    if parts == ["clusters"]:
        return CLUSTERS
    if len(parts) == 3 and parts[0] == "clusters" and parts[1] in TOPOLOGY:
        hosts, services = TOPOLOGY[parts[1]]
        return {"hosts": hosts, "services": services}.get(parts[2])
    if parts == ["upgrades"]:
        wanted = query.get("cluster_id")
        return [u for u in UPGRADES if wanted in (None, u["cluster_id"])]
    if parts == ["list-upgrade-versions"]:
        return RELEASES
    if len(parts) == 2 and parts[0] == "upgrade-versions":
        version = next((c["version"] for c in CLUSTERS if c["id"] == parts[1]), None)
        return RELEASES[RELEASES.index(version) + 1 :] if version in RELEASES else []
    if parts == ["clusters", "discover"]:
        return ["simulated", "openstack-ansible"]
    return None


def handler(
    method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
) -> Answer:
    """The canned server's answers: the fixed fleet, read-only."""
    if method != "GET":
        return json_answer(400, {"message": "the fixed fleet is read-only"})
    answer = _answer(path, query)
    if answer is None:
        return json_answer(404, {"message": f"{path} not found"})
    return json_answer(200, answer)
