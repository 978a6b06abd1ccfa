"""A database holding a cluster of 2,000 hosts and 30,000 service instances.

Seeded straight through the server's own store (the simulated discovery's three
roles cannot reach 15 instances per host on average): 11 controllers with the
17 control-plane services, 2 storage nodes with 4, and 1,987 hyperconverged
nodes with 15 each (compute, network agents, storage daemons, telemetry):
11*17 + 2*4 + 1987*15 = 30,000 instances on 2,000 hosts. A small cluster is
added first, so that the console opens on it and the benchmark can time moving
to the large one.
"""

from pathlib import Path

from kostyor_tui.server.store import Store
from kostyor_tui.server.topology import (
    CONTROLLER_SERVICES,
    STORAGE_SERVICES,
    HostSpec,
    role_based_hosts,
)

LARGE_NAME = "z-large"
SMALL_NAME = "a-small"
HYPERCONVERGED_SERVICES: tuple[str, ...] = (
    "nova-compute",
    "neutron-openvswitch-agent",
    "neutron-l3-agent",
    "neutron-dhcp-agent",
    "neutron-metadata-agent",
    "cinder-volume",
    "cinder-backup",
    "ceilometer-polling",
    "ceilometer-agent-notification",
    "gnocchi-metricd",
    "swift-account-server",
    "swift-container-server",
    "swift-object-server",
    "swift-object-replicator",
    "ironic-conductor",
)


def large_cluster_hosts() -> list[HostSpec]:
    hosts = [HostSpec(f"ctl-{n:02d}", CONTROLLER_SERVICES) for n in range(1, 12)]
    hosts += [HostSpec(f"sto-{n:02d}", STORAGE_SERVICES) for n in range(1, 3)]
    hosts += [HostSpec(f"hci-{n:04d}", HYPERCONVERGED_SERVICES) for n in range(1, 1988)]
    return hosts


def build(db_path: Path) -> tuple[int, int]:
    """Create the database; return (hosts, instances) of the large cluster."""
    hosts = large_cluster_hosts()
    store = Store(db_path)
    try:
        store.initialize()
        store.add_cluster(SMALL_NAME, "mitaka", role_based_hosts(1, 2, 1))
        store.add_cluster(LARGE_NAME, "mitaka", hosts)
    finally:
        store.close()
    return len(hosts), sum(len(host.services) for host in hosts)
