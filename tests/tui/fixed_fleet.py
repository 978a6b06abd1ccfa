"""A small fleet that never moves, served over real HTTP by a canned loopback server.

Used only by the snapshot tests: a live embedded server mints fresh upgrade ids
and timestamps and keeps moving, which no screenshot can be compared against.
The client, service and screens are the real ones; only the server is replaced
by these fixed answers (shaped like the embedded server's).
"""

from datetime import datetime, timedelta

from tests.support.canned import Answer, json_answer

API_URL = "http://kostyor.example:5055/"
NOW = datetime(2026, 11, 24, 10, 5, 0)

HOME_LAB = "00000000-0000-4000-8000-000000000001"
STAGING = "00000000-0000-4000-8000-000000000002"
LEGACY = "00000000-0000-4000-8000-000000000003"
EDGE = "00000000-0000-4000-8000-000000000004"
ROLLBACK_LAB = "00000000-0000-4000-8000-000000000005"
UPGRADE = "00000000-0000-4000-8000-0000000000aa"
EDGE_UPGRADE = "00000000-0000-4000-8000-0000000000bb"
ROLLBACK_UPGRADE = "00000000-0000-4000-8000-0000000000cc"

CLUSTERS = [
    {"id": HOME_LAB, "name": "home_lab", "status": "UPGRADE PAUSED", "version": "mitaka"},
    {"id": STAGING, "name": "staging", "status": "READY FOR UPGRADE", "version": "newton"},
    {"id": LEGACY, "name": "legacy", "status": "NOT READY FOR UPGRADE", "version": "unknown"},
    {"id": EDGE, "name": "edge", "status": "UPGRADE ERROR", "version": "mitaka"},
    {
        "id": ROLLBACK_LAB,
        "name": "rollback_lab",
        "status": "UPGRADE ROLLBACK IN PROGRESS",
        "version": "mitaka",
    },
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


def _hostless(topology: tuple[list[dict], list[dict]]) -> tuple[list[dict], list[dict]]:
    """A cluster recorded before hosts were: services that name no host."""
    _, services = topology
    return [], [{**service, "hosts": []} for service in services]


# edge failed on the first instance of controller-02; rollback_lab upgraded 20 instances,
# then rolled 6 of them back.
EDGE_UPGRADED = 17
ROLLBACK_UPGRADED, ROLLED_BACK = 20, 6

TOPOLOGY = {
    HOME_LAB: _topology(HOME_LAB, 1, upgraded=8),
    EDGE: _topology(EDGE, 4, upgraded=EDGE_UPGRADED),
    ROLLBACK_LAB: _topology(ROLLBACK_LAB, 5, upgraded=ROLLBACK_UPGRADED - ROLLED_BACK),
    STAGING: ([], []),
    LEGACY: _hostless(_topology(LEGACY, 3, upgraded=0)),
}

STEP_GAP = timedelta(seconds=10)


def _steps(cluster_id: str, start: datetime, upgraded: int, *, failed: bool, rolled_back: int):
    """The step log of an upgrade in engine order (hosts in order, services of each host):
    `upgraded` steps done, then a failed step or `rolled_back` rollback steps."""
    hosts, services = TOPOLOGY[cluster_id]
    by_id = {service["id"]: service for service in services}
    plan = [(host["hostname"], by_id[sid]) for host in hosts for sid in host["services"]]
    steps = []

    def step(hostname: str, service: dict, direction: str, outcome: str, before, after) -> None:
        position = len(steps) + 1
        steps.append(
            {
                "position": position,
                "service_id": service["id"],
                "service": service["name"],
                "hostname": hostname,
                "direction": direction,
                "outcome": outcome,
                "version_before": before,
                "version_after": after,
                "at": (start + STEP_GAP * position).isoformat(timespec="microseconds"),
            }
        )

    for hostname, service in plan[:upgraded]:
        step(hostname, service, "upgrade", "done", "mitaka", "newton")
    if failed:
        hostname, service = plan[upgraded]
        step(hostname, service, "upgrade", "failed", "mitaka", "mitaka")
    for hostname, service in reversed(plan[upgraded - rolled_back : upgraded]):
        step(hostname, service, "rollback", "done", "newton", "mitaka")
    return steps


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
    },
    {
        "id": EDGE_UPGRADE,
        "cluster_id": EDGE,
        "from_version": "mitaka",
        "to_version": "newton",
        "status": "UPGRADE ERROR",
        "upgrade_start_time": "2026-11-24T10:01:00.000000",
        "upgrade_end_time": None,
        "engine": "node-by-node",
    },
    {
        "id": ROLLBACK_UPGRADE,
        "cluster_id": ROLLBACK_LAB,
        "from_version": "mitaka",
        "to_version": "newton",
        "status": "UPGRADE ROLLBACK IN PROGRESS",
        "upgrade_start_time": "2026-11-24T10:00:00.000000",
        "upgrade_end_time": None,
        "engine": "node-by-node",
    },
]
STEPS = {
    EDGE_UPGRADE: _steps(
        EDGE, datetime(2026, 11, 24, 10, 1, 0), EDGE_UPGRADED, failed=True, rolled_back=0
    ),
    ROLLBACK_UPGRADE: _steps(
        ROLLBACK_LAB,
        datetime(2026, 11, 24, 10, 0, 0),
        ROLLBACK_UPGRADED,
        failed=False,
        rolled_back=ROLLED_BACK,
    ),
}
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
    if len(parts) == 3 and parts[0] == "upgrades" and parts[2] == "steps":
        return STEPS.get(parts[1])
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
