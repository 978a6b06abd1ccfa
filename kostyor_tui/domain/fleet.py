"""What a cluster's hosts and services say: its instances, versions, components and
the hosts' engine order (docs/kostyor-api.md#objects).

A Service entry may list several hosts, and one service name may appear as
several entries (one per host, possibly at different versions); both shapes
are flattened into one instance per (service entry, host) pair, read from the
entry's `hosts`, or from `Host.services` for an entry that lists no host (a
server may fill only one side).

Fleet scale (2,000 hosts, 30,000 instances) shapes the code: every function is
a few linear passes, and instances are streamed rather than stored, because
holding tens of thousands of small objects sets off full garbage collections
over every live API model.
"""

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from kostyor_tui.domain import order
from kostyor_tui.domain.lifecycle import UNKNOWN_VERSION

UNKNOWN_NAME = "unknown"


class HostRecord(Protocol):
    """What the derivations read of a host (an API model, or a test's stand-in)."""

    @property
    def id(self) -> str | None: ...
    @property
    def hostname(self) -> str | None: ...
    @property
    def services(self) -> Sequence[str]: ...


class ServiceRecord(Protocol):
    @property
    def id(self) -> str | None: ...
    @property
    def name(self) -> str | None: ...
    @property
    def version(self) -> str | None: ...
    @property
    def hosts(self) -> Sequence[str]: ...


def service_name(service: ServiceRecord) -> str:
    return service.name or UNKNOWN_NAME


_NO_HOST: tuple[None] = (None,)


class Topology:
    """A cluster's hosts and service entries, indexed once per derivation.

    `entries()` streams each service entry with its hosts' ids (`(None,)` for an
    entry on no host at all: it still counts, once, so it is never invisible).
    A host id that `hosts` does not list is labelled by its id.
    """

    def __init__(self, hosts: Sequence[HostRecord], services: Sequence[ServiceRecord]) -> None:
        self.services = services
        self.host_ids = [host.id for host in hosts if host.id is not None]
        self.hosts_without_id = len(hosts) - len(self.host_ids)
        self.labels = {host.id: host.hostname or host.id for host in hosts if host.id is not None}
        self._hosts_named_by_hosts: dict[int, list[str]] = {}
        hostless = {service.id for service in services if not service.hosts}
        hostless.discard(None)
        if hostless:
            named: dict[str, list[str]] = {}
            for host in hosts:
                if host.id is None:
                    continue
                for service_id in host.services:
                    if service_id in hostless:
                        named.setdefault(service_id, []).append(host.id)
            for service in services:
                if not service.hosts and service.id in named:
                    self._hosts_named_by_hosts[id(service)] = named[service.id]
        self._service_keys: dict[str, order.ServiceKey] = {}
        # Each host's rank (its most important service), computed when first needed.
        self.host_ranks: dict[str | None, int] | None = None

    def entries(self) -> Iterator[tuple[ServiceRecord, Sequence[str | None]]]:
        from_hosts = self._hosts_named_by_hosts
        for service in self.services:
            host_ids = service.hosts or from_hosts.get(id(service))
            yield service, host_ids or _NO_HOST

    def label(self, host_id: str | None) -> str:
        return "" if host_id is None else self.labels.get(host_id, host_id)

    def service_key(self, name: str) -> order.ServiceKey:
        key = self._service_keys.get(name)
        if key is None:
            key = self._service_keys[name] = order.service_key(name)
        return key

    def ranks(self) -> dict[str | None, int]:
        """Each host's rank, for every host an instance is on."""
        ranks = self.host_ranks
        if ranks is None:
            ranks = self.host_ranks = {}
            for service, host_ids in self.entries():
                rank = self.service_key(service_name(service))[0]
                for each_host in host_ids:
                    if rank < ranks.get(each_host, order.NO_SERVICE_RANK):
                        ranks[each_host] = rank
        return ranks

    def host_key(self, host_id: str | None) -> order.HostKey:
        rank = self.ranks().get(host_id, order.NO_SERVICE_RANK)
        return order.host_key(rank, self.label(host_id), host_id)


def instances(
    hosts: Sequence[HostRecord], services: Sequence[ServiceRecord]
) -> list[order.Instance]:
    """One instance per (service entry, host) pair, in the order of `services`."""
    topology = Topology(hosts, services)
    return [
        order.Instance(
            service.id, service_name(service), host_id, topology.label(host_id), service.version
        )
        for service, host_ids in topology.entries()
        for host_id in host_ids
    ]


def host_order(
    hosts: Sequence[HostRecord],
    services: Sequence[ServiceRecord],
    engine: str | None = order.DEFAULT_ENGINE,
) -> list[str]:
    """Host ids in the order the engine first reaches them, hosts without instances last.

    The hosts' order within `order.engine_order`, without building and sorting
    every instance: node-by-node goes host by host; service-by-service reaches a
    host with the first service (in project order) that runs on it.
    """
    topology = Topology(hosts, services)
    ranked = sorted(topology.ranks(), key=topology.host_key)
    if engine == order.SERVICE_BY_SERVICE:
        position = {host_id: index for index, host_id in enumerate(ranked)}
        hosts_of: dict[str, set[str | None]] = {}
        for service, host_ids in topology.entries():
            hosts_of.setdefault(service_name(service), set()).update(host_ids)
        reached: dict[str | None, None] = {}
        for name in sorted(hosts_of, key=topology.service_key):
            reached.update(dict.fromkeys(sorted(hosts_of[name], key=position.__getitem__)))
    else:
        reached = dict.fromkeys(ranked)
    reached.pop(None, None)
    for host_id in topology.host_ids:
        reached.setdefault(host_id, None)
    return [host_id for host_id in reached if host_id is not None]


def version_order(versions: Iterable[str], releases: Sequence[str] | None) -> list[str]:
    """Known releases in release order, then others alphabetically, `unknown` last."""
    position = {release: index for index, release in enumerate(releases or ())}
    return sorted(
        versions,
        key=lambda v: (v == UNKNOWN_VERSION, position.get(v, len(position)), v),
    )


def version_counts(
    services: Sequence[ServiceRecord],
    releases: Sequence[str] | None = None,
    *,
    hosts: Sequence[HostRecord] = (),
) -> dict[str, int]:
    """{version: instance count}, e.g. {"mitaka": 12, "newton": 3}.

    Ordered by `releases` (the server's `/list-upgrade-versions`) when given,
    else alphabetically; a missing version counts as `unknown`. Pass `hosts`
    when the server may fill only `Host.services`.
    """
    counts: Counter[str] = Counter()
    for service, host_ids in Topology(hosts, services).entries():
        counts[service.version or UNKNOWN_VERSION] += len(host_ids)
    return {version: counts[version] for version in version_order(counts, releases)}


def host_version_counts(
    hosts: Sequence[HostRecord],
    services: Sequence[ServiceRecord],
    releases: Sequence[str] | None = None,
) -> dict[str, dict[str, int]]:
    """Per host id, {version: instance count} in version order; every host of `hosts` is
    there, one without instances with an empty count."""
    topology = Topology(hosts, services)
    counts: dict[str, Counter[str]] = {host_id: Counter() for host_id in topology.host_ids}
    for service, host_ids in topology.entries():
        version = service.version or UNKNOWN_VERSION
        for host_id in host_ids:
            if host_id is not None:
                counts.setdefault(host_id, Counter())[version] += 1
    seen: set[str] = set()
    for on_host in counts.values():
        seen.update(on_host)
    ordered = version_order(seen, releases)
    return {
        host_id: {version: on_host[version] for version in ordered if version in on_host}
        for host_id, on_host in counts.items()
    }


def format_version_counts(counts: Mapping[str, int]) -> str:
    """`mitaka ×12, newton ×3`."""
    return ", ".join(f"{version} ×{count}" for version, count in counts.items())


@dataclass(frozen=True)
class Component:
    """One component (service name) across a cluster."""

    name: str
    hosts: tuple[str, ...]
    # (version, instance count), in version order.
    versions: tuple[tuple[str, int], ...]
    # (version, hostnames at that version), in version order.
    hosts_by_version: tuple[tuple[str, tuple[str, ...]], ...]
    instances: int

    @property
    def mixed(self) -> bool:
        return len(self.versions) > 1

    @property
    def version(self) -> str:
        """The one version, or `mitaka ×2, newton ×1` when the instances disagree."""
        if not self.mixed:
            return self.versions[0][0] if self.versions else UNKNOWN_VERSION
        return format_version_counts(dict(self.versions))


def components(
    hosts: Sequence[HostRecord],
    services: Sequence[ServiceRecord],
    releases: Sequence[str] | None = None,
) -> list[Component]:
    """One per component, in project order, with its hosts, versions and counts.

    Hostnames are sorted; an instance on no host counts but names no host.
    """
    topology = Topology(hosts, services)
    counts: dict[str, Counter[str]] = {}
    hosts_at: dict[str, dict[str, set[str]]] = {}
    labels = topology.labels
    for service, host_ids in topology.entries():
        name = service_name(service)
        version = service.version or UNKNOWN_VERSION
        component_counts = counts.get(name)
        if component_counts is None:
            component_counts = counts[name] = Counter()
            hosts_at[name] = {}
        component_counts[version] += len(host_ids)
        at_version = hosts_at[name].setdefault(version, set())
        for host_id in host_ids:
            if host_id is not None:
                at_version.add(labels.get(host_id, host_id))

    found = []
    for name in sorted(counts, key=order.service_key):
        ordered = version_order(counts[name], releases)
        by_version = hosts_at[name]
        found.append(
            Component(
                name=name,
                hosts=tuple(sorted(set().union(*by_version.values()))),
                versions=tuple((version, counts[name][version]) for version in ordered),
                hosts_by_version=tuple(
                    (version, tuple(sorted(by_version.get(version, ())))) for version in ordered
                ),
                instances=sum(counts[name].values()),
            )
        )
    return found


def component_version_counts(
    found: Sequence[Component], releases: Sequence[str] | None = None
) -> dict[str, int]:
    """`version_counts` of the instances `components` counted, without another pass."""
    counts: Counter[str] = Counter()
    for component in found:
        for version, count in component.versions:
            counts[version] += count
    return {version: counts[version] for version in version_order(counts, releases)}


def upgradable(version: str | None, releases: Sequence[str]) -> bool:
    """Whether a release later than `version` is known (an unknown version never is)."""
    if not version or version not in releases:
        return False
    return releases.index(version) < len(releases) - 1
