"""A database holding one big cluster: `hosts` hosts, 15 service instances on most.

Seeded straight through the server's own store (the simulated discovery's three
roles cannot reach 15 instances per host on average): 11 controllers with the
17 control-plane services, 2 storage nodes with 4, and the rest hyperconverged
nodes with 15 each (compute, network agents, storage daemons, telemetry), so
2,000 hosts hold 11*17 + 2*4 + 1,987*15 = 30,000 instances and 10,000 hosts
150,000. A small cluster is added first, so that the console opens on it and
the benchmark can time moving to the big one.
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
CONTROLLERS = 11
STORAGE = 2


def large_cluster_hosts(count: int) -> list[HostSpec]:
    hosts = [HostSpec(f"ctl-{n:02d}", CONTROLLER_SERVICES) for n in range(1, CONTROLLERS + 1)]
    hosts += [HostSpec(f"sto-{n:02d}", STORAGE_SERVICES) for n in range(1, STORAGE + 1)]
    rest = count - CONTROLLERS - STORAGE
    hosts += [HostSpec(f"hci-{n:05d}", HYPERCONVERGED_SERVICES) for n in range(1, rest + 1)]
    return hosts


def build(db_path: Path, hosts_count: int) -> tuple[int, int]:
    """Create the database; return (hosts, instances) of the large cluster."""
    hosts = large_cluster_hosts(hosts_count)
    store = Store(db_path)
    try:
        store.initialize()
        store.add_cluster(SMALL_NAME, "mitaka", role_based_hosts(1, 2, 1))
        store.add_cluster(LARGE_NAME, "mitaka", hosts)
    finally:
        store.close()
    return len(hosts), sum(len(host.services) for host in hosts)
