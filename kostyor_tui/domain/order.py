"""The order in which Kostyor's engines upgrade service instances
(docs/kostyor-api.md#engine-order), for the client, the console and the embedded
server alike.

Node-by-node: hosts by the most important service they run (the project order
below: controllers before computes before storage), then by hostname and id;
each host's services in project order, then by name and id. Service-by-service:
each service in that order, on all its hosts in that same host order.
`instance_key` is the one definition of that order; the fast paths elsewhere
(`fleet.host_order`, `progress.upgrade_progress`) compare with the same keys.
"""

from collections.abc import Iterable, Sequence
from typing import NamedTuple

NODE_BY_NODE = "node-by-node"
SERVICE_BY_SERVICE = "service-by-service"
# The engines Kostyor ships; a server may offer others (plugins).
KNOWN_ENGINES: tuple[str, ...] = (NODE_BY_NODE, SERVICE_BY_SERVICE)
# What Kostyor uses when an upgrade names no engine or driver.
DEFAULT_ENGINE = NODE_BY_NODE
DEFAULT_DRIVER = "noop"
# The upgrade drivers of a server with the OpenStack-Ansible plugin installed.
KNOWN_DRIVERS: tuple[str, ...] = (DEFAULT_DRIVER, "openstack-ansible", "openstack-ansible-alt")

PROJECT_ORDER: tuple[str, ...] = (
    "keystone",
    "glance",
    "nova",
    "neutron",
    "cinder",
    "horizon",
    "heat",
    "ceilometer",
    "aodh",
    "gnocchi",
    "swift",
    "ironic",
)

_RANK = {project: rank for rank, project in enumerate(PROJECT_ORDER)}
UNKNOWN_RANK = len(PROJECT_ORDER)
# The rank of a host that runs nothing at all: after every other.
NO_SERVICE_RANK = UNKNOWN_RANK + 1

HostKey = tuple[int, str, str]
ServiceKey = tuple[int, str]


class Instance(NamedTuple):
    """One service running on one host (host_id None: a service entry on no host)."""

    service_id: str | None
    name: str
    host_id: str | None
    hostname: str
    version: str | None


def project_of(service_name: str) -> str:
    """The OpenStack project a service belongs to: `nova-compute` -> `nova`."""
    return service_name.split("-", 1)[0].split("_", 1)[0].lower()


def service_rank(service_name: str) -> int:
    """Position of a service's project in the upgrade order; unknown projects go last."""
    return _RANK.get(project_of(service_name), UNKNOWN_RANK)


def service_key(service_name: str) -> ServiceKey:
    return (service_rank(service_name), service_name)


def host_rank(service_names: Iterable[str]) -> int:
    """A host ranks by the most important service it runs (lowest rank wins)."""
    return min((service_rank(name) for name in service_names), default=NO_SERVICE_RANK)


def host_key(rank: int, hostname: str, host_id: str | None) -> HostKey:
    return (rank, hostname, host_id or "")


def instance_key(
    engine: str | None, host: object, service_name: str, service_id: str | None
) -> tuple[object, ...]:
    """Where an instance comes in the engine's order, given its host's key (a `host_key`,
    or any key that sorts hosts in engine order, such as their position)."""
    service = service_key(service_name)
    if engine == SERVICE_BY_SERVICE:
        return (service, host, service_id or "")
    return (host, service, service_id or "")


def engine_order(instances: Sequence[Instance], engine: str | None) -> list[Instance]:
    """`instances` (all of a cluster's, so that hosts rank by everything they run) in the
    order the engine upgrades them; an unknown engine is taken as node-by-node."""
    names_by_host: dict[str | None, list[str]] = {}
    for instance in instances:
        names_by_host.setdefault(instance.host_id, []).append(instance.name)
    ranks = {host_id: host_rank(names) for host_id, names in names_by_host.items()}
    return sorted(
        instances,
        key=lambda i: instance_key(
            engine, host_key(ranks[i.host_id], i.hostname, i.host_id), i.name, i.service_id
        ),
    )
