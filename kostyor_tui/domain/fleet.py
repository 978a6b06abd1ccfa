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

import copy
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


# The hosts of an entry on no host at all: it still counts, as one instance.
NO_HOST: tuple[None] = (None,)


class Topology:
    """A cluster's hosts and service entries, indexed once per derivation.

    `entries()` streams each service entry with its hosts' ids (`(None,)` for an
    entry on no host at all: it still counts, once, so it is never invisible).
    A host id that `hosts` does not list is labelled by its id.

    A poll that only moved some instances' versions keeps the topology:
    `revised` gives it the new entries, sharing every index, and `subset` narrows
    it to the entries a change touched, so that only those are derived again.
    """

    def __init__(self, hosts: Sequence[HostRecord], services: Sequence[ServiceRecord]) -> None:
        self.services = services
        self.host_ids = [host.id for host in hosts if host.id is not None]
        self.hosts_without_id = len(hosts) - len(self.host_ids)
        self.labels = {host.id: host.hostname or host.id for host in hosts if host.id is not None}
        named_by_hosts: dict[int, list[str]] = {}
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
            for position, service in enumerate(services):
                if not service.hosts and service.id in named:
                    named_by_hosts[position] = named[service.id]
        # Per entry (by position), the ids of the hosts it is on.
        self.entry_hosts: list[Sequence[str | None]] = [
            service.hosts or named_by_hosts.get(position) or NO_HOST
            for position, service in enumerate(services)
        ]
        self._service_keys: dict[str, order.ServiceKey] = {}
        # Each host's rank (its most important service), computed when first needed.
        self.host_ranks: dict[str | None, int] | None = None
        self._index = _EntryIndex()

    def entries(self) -> Iterator[tuple[ServiceRecord, Sequence[str | None]]]:
        return zip(self.services, self.entry_hosts, strict=True)

    def revised(self, services: Sequence[ServiceRecord]) -> "Topology":
        """This topology with `services` for its entries: the caller vouches that they
        are the same entries on the same hosts, only at other versions."""
        revised = copy.copy(self)
        revised.services = services
        return revised

    def subset(self, positions: Sequence[int], host_ids: Iterable[str]) -> "Topology":
        """The entries at `positions` only, with `host_ids` as the hosts listed; ranks
        and labels stay the whole cluster's."""
        self.ranks()
        narrowed = copy.copy(self)
        narrowed.services = [self.services[position] for position in positions]
        narrowed.entry_hosts = [self.entry_hosts[position] for position in positions]
        narrowed.host_ids = list(host_ids)
        narrowed.hosts_without_id = 0
        narrowed._index = _EntryIndex()
        return narrowed

    def positions_on(self, host_ids: Iterable[str | None]) -> list[int]:
        """The positions of the entries on any of `host_ids`, in entry order."""
        on_host = self._index.on_host
        if on_host is None:
            on_host = self._index.on_host = {}
            for position, entry_hosts in enumerate(self.entry_hosts):
                for host_id in entry_hosts:
                    on_host.setdefault(host_id, []).append(position)
        return sorted({position for host_id in host_ids for position in on_host.get(host_id, ())})

    def positions_named(self, names: Iterable[str]) -> list[int]:
        """The positions of the entries of the components `names`, in entry order."""
        named = self._index.named
        if named is None:
            named = self._index.named = {}
            for position, service in enumerate(self.services):
                named.setdefault(service_name(service), []).append(position)
        return sorted({position for name in names for position in named.get(name, ())})

    def position_of(self, service_id: str) -> int | None:
        """The position of the entry with id `service_id` (the last, should ids repeat)."""
        by_id = self._index.by_id
        if by_id is None:
            by_id = self._index.by_id = {
                service.id: position
                for position, service in enumerate(self.services)
                if service.id is not None
            }
        return by_id.get(service_id)

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
            rank_of: dict[str | None, int] = {}  # per service name, looked up once
            for service, host_ids in self.entries():
                rank = rank_of.get(service.name)
                if rank is None:
                    rank = rank_of[service.name] = self.service_key(service_name(service))[0]
                for each_host in host_ids:
                    if rank < ranks.get(each_host, order.NO_SERVICE_RANK):
                        ranks[each_host] = rank
        return ranks

    def host_key(self, host_id: str | None) -> order.HostKey:
        rank = self.ranks().get(host_id, order.NO_SERVICE_RANK)
        return order.host_key(rank, self.label(host_id), host_id)


class _EntryIndex:
    """Lookups into a topology's entries, built when first asked for; a revised
    topology shares them (its entries are where they were)."""

    def __init__(self) -> None:
        self.on_host: dict[str | None, list[int]] | None = None
        self.named: dict[str, list[int]] | None = None
        self.by_id: dict[str, int] | None = None


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
    return host_order_in(Topology(hosts, services), engine)


def host_order_in(topology: Topology, engine: str | None = order.DEFAULT_ENGINE) -> list[str]:
    """`host_order` of a topology already indexed."""
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
    return host_version_counts_in(Topology(hosts, services), releases)


def host_version_counts_in(
    topology: Topology, releases: Sequence[str] | None = None
) -> dict[str, dict[str, int]]:
    """`host_version_counts` of a topology already indexed (or narrowed: `subset`)."""
    counts: dict[str, Counter[str]] = {host_id: Counter() for host_id in topology.host_ids}
    for service, host_ids in topology.entries():
        version = service.version or UNKNOWN_VERSION
        for host_id in host_ids:
            if host_id is not None:
                on_host = counts.get(host_id)
                if on_host is None:
                    # A host `hosts` does not list (not `setdefault`: a Counter per instance).
                    on_host = counts[host_id] = Counter()
                on_host[version] += 1
    seen: set[str] = set()
    for on_host in counts.values():
        seen.update(on_host)
    ordered = version_order(seen, releases)
    return {
        # Most hosts have one version: nothing to put in order.
        host_id: dict(on_host)
        if len(on_host) < 2
        else {version: on_host[version] for version in ordered if version in on_host}
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
    return components_in(Topology(hosts, services), releases)


def components_in(topology: Topology, releases: Sequence[str] | None = None) -> list[Component]:
    """`components` of a topology already indexed."""
    return components_of(component_tally(topology), releases)


# Per component name, per version: instances per hostname (None: instances on no host).
ComponentTally = dict[str, dict[str, Counter[str | None]]]


def component_tally(topology: Topology) -> ComponentTally:
    """What `components` are made of, counted in one pass; `retally` moves instances."""
    tally: ComponentTally = {}
    labels = topology.labels
    for service, host_ids in topology.entries():
        name, version = service_name(service), service.version or UNKNOWN_VERSION
        by_version = tally.get(name)
        if by_version is None:
            by_version = tally[name] = {}
        at_version = by_version.get(version)
        if at_version is None:
            at_version = by_version[version] = Counter()
        for host_id in host_ids:
            label = None if host_id is None else labels.get(host_id, host_id)
            at_version[label] = at_version.get(label, 0) + 1
    return tally


def retally(
    tally: ComponentTally,
    topology: Topology,
    moves: Iterable[tuple[int, ServiceRecord, ServiceRecord]],
) -> tuple[ComponentTally, set[str]]:
    """`tally` after the entries moved, given as (position, before, after) with
    `topology`'s positions; and the names of the components that changed. `tally`
    is left as it was: a component that changed is copied first."""
    moved_tally = dict(tally)
    changed: set[str] = set()
    for position, before, after in moves:
        name = service_name(after)
        if name not in changed:
            moved_tally[name] = {v: Counter(at) for v, at in moved_tally.get(name, {}).items()}
            changed.add(name)
        by_version = moved_tally[name]
        hosts = [
            None if host_id is None else topology.label(host_id)
            for host_id in topology.entry_hosts[position]
        ]
        was = by_version.get(before.version or UNKNOWN_VERSION, Counter())
        was.subtract(hosts)
        for host in hosts:
            if was[host] <= 0:
                del was[host]
        if not was:
            by_version.pop(before.version or UNKNOWN_VERSION, None)
        by_version.setdefault(after.version or UNKNOWN_VERSION, Counter()).update(hosts)
    return moved_tally, changed


def components_of(
    tally: ComponentTally,
    releases: Sequence[str] | None = None,
    names: Iterable[str] | None = None,
) -> list[Component]:
    """The components of a tally (those of `names` only, when given), in project order."""
    found = []
    for name in sorted(tally if names is None else names, key=order.service_key):
        by_version = tally[name]
        ordered = version_order(by_version, releases)
        at_version = [
            (version, sorted(host for host in by_version[version] if host is not None))
            for version in ordered
        ]
        counts = [sum(by_version[version].values()) for version in ordered]
        found.append(
            Component(
                name=name,
                hosts=tuple(sorted({host for _, hosts in at_version for host in hosts})),
                versions=tuple(zip(ordered, counts, strict=True)),
                hosts_by_version=tuple((version, tuple(hosts)) for version, hosts in at_version),
                instances=sum(counts),
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
