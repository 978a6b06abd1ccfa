"""The order in which an engine upgrades service instances (contract section 2).

Node-by-node: hosts sorted by the most important service they run, then by
hostname; each host's services in project order. Service-by-service: each
service in project order, on all its hosts in that same host order. Ties are
broken by name, so the order is fully determined by the data.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from kostyor_tui.openstack import host_rank, service_sort_key

NODE_BY_NODE = "node-by-node"
SERVICE_BY_SERVICE = "service-by-service"
ENGINES: tuple[str, ...] = (NODE_BY_NODE, SERVICE_BY_SERVICE)


@dataclass(frozen=True)
class Instance:
    """One service on one host, as the planner sees it."""

    service_id: str
    name: str
    host_id: str
    hostname: str
    version: str


def _host_keys(instances: Sequence[Instance]) -> dict[str, tuple[int, str, str]]:
    names_by_host: dict[str, list[str]] = defaultdict(list)
    hostname_of: dict[str, str] = {}
    for instance in instances:
        names_by_host[instance.host_id].append(instance.name)
        hostname_of[instance.host_id] = instance.hostname
    return {
        host_id: (host_rank(names), hostname_of[host_id], host_id)
        for host_id, names in names_by_host.items()
    }


def engine_order(instances: Sequence[Instance], engine: str) -> list[Instance]:
    """`instances` (all of a cluster's, so hosts rank by everything they run) in engine order."""
    host_key = _host_keys(instances)
    if engine == SERVICE_BY_SERVICE:
        return sorted(
            instances,
            key=lambda i: (service_sort_key(i.name), host_key[i.host_id], i.service_id),
        )
    return sorted(
        instances,
        key=lambda i: (host_key[i.host_id], service_sort_key(i.name), i.service_id),
    )
