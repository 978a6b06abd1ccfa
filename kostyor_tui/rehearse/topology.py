"""Where a rehearsal's topology comes from: an OpenStack-Ansible inventory file (read by
the embedded server's own openstack-ansible discovery), a live endpoint's cluster (read
only, through the client), or a generated role-based fleet (`simulated`, the same as the
server's simulated discovery)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.config import Settings
from kostyor_tui.domain.fleet import Topology as fleet_topology
from kostyor_tui.domain.fleet import service_name
from kostyor_tui.domain.text import printable
from kostyor_tui.errors import KostyorTuiError, UsageError
from kostyor_tui.operations import Operations
from kostyor_tui.server.topology import HostSpec, role_based_hosts


@dataclass(frozen=True)
class Topology:
    name: str
    version: str
    hosts: list[HostSpec]
    source: str

    @property
    def instances(self) -> int:
        return sum(len(host.services) for host in self.hosts)


def from_inventory(path: Path, version: str) -> Topology:
    """The machines and services of an OpenStack-Ansible dynamic inventory JSON file."""
    from kostyor_tui.server import discovery
    from kostyor_tui.server.errors import ApiError

    absolute = path.resolve()
    limits = discovery.Limits(inventory_dirs=(absolute.parent,))
    try:
        hosts = discovery.inventory_hosts(
            discovery.allowed_inventory_path(str(absolute), limits), limits
        )
    except ApiError as error:
        raise UsageError(f"--inventory {path}: {error.message}") from None
    if not hosts:
        raise UsageError(f"--inventory {path}: no host runs an OpenStack service there")
    return Topology(absolute.stem, version, hosts, f"openstack-ansible inventory {path.name}")


def simulated(controllers: int, computes: int, storage: int, version: str) -> Topology:
    """A generated fleet: controllers, computes and storage nodes, as `simulated`
    discovery makes them."""
    hosts = role_based_hosts(controllers, computes, storage)
    return Topology(
        "simulated",
        version,
        hosts,
        f"simulated {controllers} controller(s), {computes} compute(s), {storage} storage",
    )


def from_endpoint(settings: Settings, cluster: str) -> Topology:
    """A live cluster's hosts and services, read (GET only) from the profile's endpoint;
    instances as the client counts them everywhere (`domain.fleet`: a service's hosts
    from `Service.hosts`, else from `Host.services`)."""
    with KostyorClient(**settings.client_options()) as client:
        found = Operations(client, read_only=True).resolve_cluster(cluster)
        if found.id is None:
            raise KostyorTuiError(f"cluster {cluster!r} has no id on this server")
        hosts = client.list_hosts(found.id)
        services = client.list_services(found.id)
    if not found.version:
        raise KostyorTuiError(f"cluster {cluster!r} reports no version to rehearse from")
    fleet = fleet_topology(hosts, services)
    names: dict[str, list[str]] = {host_id: [] for host_id in fleet.host_ids}
    for service, host_ids in fleet.entries():
        name = printable(service_name(service))
        for host_id in host_ids:
            # An entry on no host cannot be placed on a copy: it is left out.
            if host_id is not None and name not in names.setdefault(host_id, []):
                names[host_id].append(name)
    name = printable(found.name or cluster)
    return Topology(
        name,
        found.version,
        [HostSpec(printable(fleet.label(host_id)), tuple(own)) for host_id, own in names.items()],
        f"cluster {name} of profile {settings.profile_name}",
    )
