"""Realistic OpenStack topologies: which services a controller, compute or storage node runs.

Used by the `simulated` discovery method and by the demo seed.
"""

from dataclasses import dataclass

CONTROLLER_SERVICES: tuple[str, ...] = (
    "keystone",
    "glance-api",
    "glance-registry",
    "nova-api",
    "nova-scheduler",
    "nova-conductor",
    "nova-consoleauth",
    "neutron-server",
    "neutron-dhcp-agent",
    "neutron-l3-agent",
    "neutron-metadata-agent",
    "neutron-openvswitch-agent",
    "cinder-api",
    "cinder-scheduler",
    "horizon",
    "heat-api",
    "heat-engine",
)
COMPUTE_SERVICES: tuple[str, ...] = ("nova-compute", "neutron-openvswitch-agent")
STORAGE_SERVICES: tuple[str, ...] = (
    "cinder-volume",
    "swift-account-server",
    "swift-container-server",
    "swift-object-server",
)


@dataclass(frozen=True)
class HostSpec:
    """A machine to create, with the names of the services it runs (each once)."""

    hostname: str
    services: tuple[str, ...]


def _names(prefix: str, role: str, count: int) -> list[str]:
    width = max(2, len(str(count)))
    return [f"{prefix}{role}-{number:0{width}d}" for number in range(1, count + 1)]


def role_based_hosts(
    controllers: int, computes: int, storage: int, *, prefix: str = ""
) -> list[HostSpec]:
    """Controllers, computes and storage nodes named `{prefix}controller-01` and so on."""
    return (
        [HostSpec(name, CONTROLLER_SERVICES) for name in _names(prefix, "controller", controllers)]
        + [HostSpec(name, COMPUTE_SERVICES) for name in _names(prefix, "compute", computes)]
        + [HostSpec(name, STORAGE_SERVICES) for name in _names(prefix, "storage", storage)]
    )
