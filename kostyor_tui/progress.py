"""Upgrade progress and cluster state, computed from API data.

Pure functions: no I/O, no Textual. The Kostyor API does not report progress;
it is derived from where each service instance stands (contract section 2):
services upgraded = instances at `to_version`; nodes upgraded = hosts all of
whose instances are at `to_version`; the step the upgrade is on = the first
instance not yet upgraded in the engine's order.

A Service entry may list several hosts, and one service name may appear as
several entries (one per host, possibly at different versions); both shapes
are flattened into one instance per (service entry, host) pair, read from
`Service.hosts`, or from `Host.services` for an entry that lists no host
(a server may fill only one side).

Fleet scale (2,000 hosts, 30,000 instances) shapes the code: every function
is a few linear passes (`engine_order` alone sorts, group by group), and
instances are streamed rather than stored, because holding tens of thousands
of small objects sets off full garbage collections over every live API model.
At that scale `upgrade_progress`, `host_states`, `version_counts` and
`component_rows` each take 10-35 ms here; `engine_order`, which builds every
instance, about 50.
"""

import operator
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from kostyor_tui.api.models import Cluster, Host, Service, Upgrade
from kostyor_tui.api.status import Status
from kostyor_tui.openstack import DEFAULT_ENGINE, UNKNOWN_RANK, service_sort_key

UNKNOWN_VERSION = "unknown"
UNKNOWN_NAME = "unknown"
ACTIONS: tuple[str, ...] = ("pause", "continue", "rollback", "cancel")
SERVICE_BY_SERVICE = "service-by-service"


class ServiceInstance(NamedTuple):
    """One service running on one host (host_id None: a service entry on no host)."""

    service_id: str | None
    name: str
    host_id: str | None
    hostname: str
    version: str | None


def _name(service: Service) -> str:
    return service.name or UNKNOWN_NAME


_NO_HOST: tuple[None] = (None,)
# The rank of a host that runs nothing known: after every real one.
_NO_RANK = UNKNOWN_RANK + 1


class _Topology:
    """A cluster's hosts and service entries, indexed once per call.

    `pairs()` streams one (service entry, host id) pair per instance, the host
    id None for a service entry on no host at all (it still counts, once, so
    it is never invisible). A host id that `hosts` does not list is labelled
    by its id.
    """

    def __init__(self, hosts: Sequence[Host], services: Sequence[Service]) -> None:
        self.services = services
        self.host_ids = [host.id for host in hosts if host.id is not None]
        self.hosts_without_id = len(hosts) - len(self.host_ids)
        self.labels = {host.id: host.hostname or host.id for host in hosts if host.id is not None}
        # A server may fill only one side of the host/service relation: a
        # service entry that lists no host takes its hosts from `Host.services`.
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
        self._service_keys: dict[str, tuple[int, str]] = {}
        # Each host's rank (its most important service), computed when first needed.
        self.host_ranks: dict[str | None, int] | None = None

    def entries(self) -> Iterator[tuple[Service, Sequence[str | None]]]:
        """Each service entry with the ids of its hosts (`(None,)` when it is on none)."""
        from_hosts = self._hosts_named_by_hosts
        for service in self.services:
            host_ids = service.hosts or from_hosts.get(id(service))
            yield service, host_ids or _NO_HOST

    def pairs(self) -> Iterator[tuple[Service, str | None]]:
        """One (service entry, host id) pair per instance."""
        for service, host_ids in self.entries():
            for host_id in host_ids:
                yield service, host_id

    def label(self, host_id: str | None) -> str:
        return "" if host_id is None else self.labels.get(host_id, host_id)

    def instance(self, service: Service, host_id: str | None) -> ServiceInstance:
        return ServiceInstance(
            service.id, _name(service), host_id, self.label(host_id), service.version
        )

    # The engine order, the same as the embedded server's engine: hosts go by
    # the most important service they run, then hostname, then id; services by
    # project order, then name, then id. Node-by-node sorts by host first,
    # service-by-service by service first.

    def service_key(self, name: str) -> tuple[int, str]:
        key = self._service_keys.get(name)
        if key is None:
            key = self._service_keys[name] = service_sort_key(name)
        return key

    def entry_key(self, service: Service) -> tuple[tuple[int, str], str]:
        return (self.service_key(_name(service)), service.id or "")

    def ranks(self) -> dict[str | None, int]:
        """Each host's rank (its most important service), for every host an instance is on."""
        ranks = self.host_ranks
        if ranks is None:
            ranks = self.host_ranks = {}
            for service, host_ids in self.entries():
                rank = self.service_key(_name(service))[0]
                for each_host in host_ids:
                    if rank < ranks.get(each_host, _NO_RANK):
                        ranks[each_host] = rank
        return ranks

    def host_key(self, host_id: str | None) -> tuple[int, str, str]:
        return (self.ranks().get(host_id, _NO_RANK), self.label(host_id), host_id or "")


def service_instances(hosts: Sequence[Host], services: Sequence[Service]) -> list[ServiceInstance]:
    """One instance per (service entry, host) pair, in the order of `services`."""
    topology = _Topology(hosts, services)
    return [topology.instance(service, host_id) for service, host_id in topology.pairs()]


def engine_order(
    hosts: Sequence[Host], services: Sequence[Service], engine: str | None = DEFAULT_ENGINE
) -> list[ServiceInstance]:
    """Every service instance in the order the engine upgrades them.

    Node-by-node is the server's default, so it also stands for an unknown engine.
    """
    topology = _Topology(hosts, services)
    name_position = {
        name: index
        for index, name in enumerate(
            sorted({_name(service) for service in services}, key=topology.service_key)
        )
    }
    # Each group is a list of flat tuples, (position, id, sequence, ...): they sort
    # in C, and the unique sequence number keeps equal keys from comparing models.
    sequence = 0
    ordered: list[ServiceInstance] = []
    if engine == SERVICE_BY_SERVICE:
        host_order = sorted(topology.ranks(), key=topology.host_key)
        host_position = {host_id: index for index, host_id in enumerate(host_order)}
        hostnames = {host_id: topology.label(host_id) for host_id in host_order}
        by_name: dict[str, list[tuple[int, str, int, Service, str | None]]] = {}
        for service, host_ids in topology.entries():
            name = _name(service)
            group = by_name.get(name)
            if group is None:
                group = by_name[name] = []
            service_id = service.id or ""
            for host_id in host_ids:
                sequence += 1
                group.append((host_position[host_id], service_id, sequence, service, host_id))
        for name in sorted(by_name, key=name_position.__getitem__):
            group = by_name[name]
            group.sort()
            ordered.extend(
                ServiceInstance(service.id, name, host_id, hostnames[host_id], service.version)
                for _, _, _, service, host_id in group
            )
        return ordered
    by_host: dict[str | None, list[tuple[int, str, int, Service]]] = {}
    for service, host_ids in topology.entries():
        item_key = name_position[_name(service)]
        service_id = service.id or ""
        for host_id in host_ids:
            sequence += 1
            item = (item_key, service_id, sequence, service)
            on_host = by_host.get(host_id)
            if on_host is None:
                by_host[host_id] = [item]
            else:
                on_host.append(item)
    for host_id in sorted(by_host, key=topology.host_key):
        on_host = by_host[host_id]
        on_host.sort()
        hostname = topology.label(host_id)
        ordered.extend(
            ServiceInstance(service.id, _name(service), host_id, hostname, service.version)
            for _, _, _, service in on_host
        )
    return ordered


def host_order(
    hosts: Sequence[Host], services: Sequence[Service], engine: str | None = DEFAULT_ENGINE
) -> list[str]:
    """Host ids in the order the engine first reaches them, hosts without instances last.

    The hosts' order within `engine_order`, without building and sorting every
    instance: node-by-node goes host by host; service-by-service reaches a host
    with the first service (in project order) that runs on it.
    """
    topology = _Topology(hosts, services)
    ranked = sorted(topology.ranks(), key=topology.host_key)
    if engine == SERVICE_BY_SERVICE:
        position = {host_id: index for index, host_id in enumerate(ranked)}
        hosts_of: dict[str, set[str | None]] = {}
        for service, host_ids in topology.entries():
            name = _name(service)
            on = hosts_of.get(name)
            if on is None:
                on = hosts_of[name] = set()
            on.update(host_ids)
        reached: dict[str | None, None] = {}
        for name in sorted(hosts_of, key=topology.service_key):
            reached.update(dict.fromkeys(sorted(hosts_of[name], key=position.__getitem__)))
    else:
        reached = dict.fromkeys(ranked)
    reached.pop(None, None)
    for host_id in topology.host_ids:
        reached.setdefault(host_id, None)
    return list(reached)  # type: ignore[arg-type]


def host_version_counts(
    hosts: Sequence[Host], services: Sequence[Service], releases: Sequence[str] | None = None
) -> dict[str, dict[str, int]]:
    """Per host id, {version: instance count} in version order (as `version_counts`).

    Every host of `hosts` is there, one without instances with an empty count.
    """
    topology = _Topology(hosts, services)
    counts: dict[str, Counter[str]] = {host_id: Counter() for host_id in topology.host_ids}
    for service, host_ids in topology.entries():
        version = service.version or UNKNOWN_VERSION
        for host_id in host_ids:
            if host_id is None:
                continue
            on_host = counts.get(host_id)
            if on_host is None:
                on_host = counts[host_id] = Counter()
            on_host[version] += 1
    seen: set[str] = set()
    for on_host in counts.values():
        seen.update(on_host)
    order = _version_order(seen, releases)
    return {
        host_id: {version: on_host[version] for version in order if version in on_host}
        for host_id, on_host in counts.items()
    }


@dataclass(frozen=True)
class UpgradeProgress:
    nodes_upgraded: int
    nodes_total: int
    services_upgraded: int
    services_total: int
    current_host: str | None
    current_service: str | None

    @property
    def done(self) -> bool:
        return self.services_upgraded == self.services_total


def upgrade_progress(
    hosts: Sequence[Host],
    services: Sequence[Service],
    to_version: str | None,
    engine: str | None = DEFAULT_ENGINE,
    *,
    rolling_back: bool = False,
) -> UpgradeProgress:
    """Nodes and services upgraded, and the step the engine is on.

    The step is the first instance not yet at `to_version` in engine order; while
    rolling back it is the last one still at `to_version` (rollback runs in
    reverse). A host with no service instance counts as upgraded: all of its
    (zero) instances are at `to_version`.
    """
    topology = _Topology(hosts, services)
    all_hosts: set[str | None] = set(topology.host_ids)
    pending_hosts: set[str | None] = set()
    # The hosts and names of the instances the step is looked for among.
    step_hosts: set[str | None] = set()
    step_names: set[str] = set()
    total = upgraded = 0
    # Each host's rank (its most important service) is gathered in the same pass.
    ranks: dict[str | None, int] = {}
    for service, host_ids in topology.entries():
        rank = topology.service_key(_name(service))[0]
        for host_id in host_ids:
            if rank < ranks.get(host_id, _NO_RANK):
                ranks[host_id] = rank
        total += len(host_ids)
        done = service.version == to_version
        if done:
            upgraded += len(host_ids)
        else:
            pending_hosts.update(host_ids)
        if done == rolling_back:
            step_hosts.update(host_ids)
            step_names.add(_name(service))
    topology.host_ranks = ranks
    all_hosts.update(ranks)
    all_hosts.discard(None)
    pending_hosts.discard(None)
    nodes_total = len(all_hosts) + topology.hosts_without_id

    step = _find_step(topology, engine, to_version, rolling_back, step_hosts, step_names)
    return UpgradeProgress(
        nodes_upgraded=nodes_total - len(pending_hosts),
        nodes_total=nodes_total,
        services_upgraded=upgraded,
        services_total=total,
        current_host=(topology.label(step[1]) or None) if step else None,
        current_service=_name(step[0]) if step else None,
    )


def _find_step(
    topology: _Topology,
    engine: str | None,
    to_version: str | None,
    rolling_back: bool,
    step_hosts: set[str | None],
    step_names: set[str],
) -> tuple[Service, str | None] | None:
    """The first (last, when rolling back) instance in engine order among those
    at `to_version` (rolling back) or not (upgrading): picks the host or the
    service first, then scans for the best instance there, without sorting."""
    if not step_hosts:
        return None
    choose = max if rolling_back else min
    better = operator.gt if rolling_back else operator.lt
    best: tuple[Service, str | None] | None = None
    best_key: tuple | None = None
    if engine == SERVICE_BY_SERVICE:
        name = choose(step_names, key=topology.service_key)
        for service, host_ids in topology.entries():
            if _name(service) != name or (service.version == to_version) != rolling_back:
                continue
            for host_id in host_ids:
                key = (topology.host_key(host_id), service.id or "")
                if best_key is None or better(key, best_key):
                    best, best_key = (service, host_id), key
        return best
    step_host = choose(step_hosts, key=topology.host_key)
    for service, host_ids in topology.entries():
        if step_host not in host_ids or (service.version == to_version) != rolling_back:
            continue
        key = topology.entry_key(service)
        if best_key is None or better(key, best_key):
            best, best_key = (service, step_host), key
    return best


class HostState(StrEnum):
    UPGRADED = "upgraded"
    IN_PROGRESS = "in progress"
    PENDING = "pending"


def host_states(
    hosts: Sequence[Host], services: Sequence[Service], to_version: str | None
) -> dict[str, HostState]:
    """Per host id: upgraded (every instance at `to_version`), in progress (some), pending (none).

    In the order of `hosts`, then any host referenced only by a service. A
    host without instances is upgraded (nothing left to do on it).
    """
    topology = _Topology(hosts, services)
    total = dict.fromkeys(topology.host_ids, 0)
    upgraded = dict(total)
    for service, host_ids in topology.entries():
        done = service.version == to_version
        for host_id in host_ids:
            if host_id is None:
                continue
            total[host_id] = total.get(host_id, 0) + 1
            if done:
                upgraded[host_id] = upgraded.get(host_id, 0) + 1

    states: dict[str, HostState] = {}
    for host_id, count in total.items():
        done = upgraded.get(host_id, 0)
        if done == count:
            states[host_id] = HostState.UPGRADED
        elif done:
            states[host_id] = HostState.IN_PROGRESS
        else:
            states[host_id] = HostState.PENDING
    return states


def _version_order(versions: Iterable[str], releases: Sequence[str] | None) -> list[str]:
    """Known releases in release order, then others alphabetically, `unknown` last."""
    position = {release: index for index, release in enumerate(releases or ())}
    return sorted(
        versions,
        key=lambda v: (v == UNKNOWN_VERSION, position.get(v, len(position)), v),
    )


def version_counts(
    services: Sequence[Service],
    releases: Sequence[str] | None = None,
    *,
    hosts: Sequence[Host] = (),
) -> dict[str, int]:
    """{version: instance count}, e.g. {"mitaka": 12, "newton": 3}.

    Ordered by `releases` (the server's `/list-upgrade-versions`) when given,
    else alphabetically; a missing version counts as `unknown`. Pass `hosts`
    when the server may fill only `Host.services`.
    """
    counts: Counter[str] = Counter()
    for service, host_ids in _Topology(hosts, services).entries():
        counts[service.version or UNKNOWN_VERSION] += len(host_ids)
    return {version: counts[version] for version in _version_order(counts, releases)}


def format_version_counts(counts: Mapping[str, int]) -> str:
    """`mitaka ×12, newton ×3`."""
    return ", ".join(f"{version} ×{count}" for version, count in counts.items())


@dataclass(frozen=True)
class ComponentRow:
    """One component (service name) across the cluster."""

    component: str
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


def component_rows(
    hosts: Sequence[Host], services: Sequence[Service], releases: Sequence[str] | None = None
) -> list[ComponentRow]:
    """One row per component, in project order, with its hosts, versions and counts.

    Hostnames are sorted; an instance on no host counts but names no host.
    """
    topology = _Topology(hosts, services)
    counts: dict[str, Counter[str]] = {}
    hosts_at: dict[str, dict[str, set[str]]] = {}
    labels = topology.labels
    for service, host_ids in topology.entries():
        name = _name(service)
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

    rows = []
    for name in sorted(counts, key=service_sort_key):
        order = _version_order(counts[name], releases)
        by_version = hosts_at[name]
        rows.append(
            ComponentRow(
                component=name,
                hosts=tuple(sorted(set().union(*by_version.values()))),
                versions=tuple((version, counts[name][version]) for version in order),
                hosts_by_version=tuple(
                    (version, tuple(sorted(by_version.get(version, ())))) for version in order
                ),
                instances=sum(counts[name].values()),
            )
        )
    return rows


def component_version_counts(
    rows: Sequence[ComponentRow], releases: Sequence[str] | None = None
) -> dict[str, int]:
    """`version_counts` of the instances `component_rows` counted, without another pass."""
    counts: Counter[str] = Counter()
    for row in rows:
        for version, count in row.versions:
            counts[version] += count
    return {version: counts[version] for version in _version_order(counts, releases)}


def instance_upgradable(version: str | None, releases: Sequence[str]) -> bool:
    """Whether a release later than `version` is known (an unknown version never is)."""
    if not version or version not in releases:
        return False
    return releases.index(version) < len(releases) - 1


class ClusterState(StrEnum):
    ACTIVE = "active"
    MAINTENANCE = "maintenance"
    ERROR = "error"
    # A status this client does not recognise: claiming any of the above would be a guess.
    UNKNOWN = "unknown"


_MAINTENANCE = frozenset({Status.IN_PROGRESS, Status.PAUSED, Status.ROLLBACK_IN_PROGRESS})


def cluster_state(status: Status) -> ClusterState:
    """active / maintenance (an upgrade under way, paused or rolling back) / error."""
    if status in _MAINTENANCE:
        return ClusterState.MAINTENANCE
    if status is Status.ERROR:
        return ClusterState.ERROR
    if status is Status.UNKNOWN:
        return ClusterState.UNKNOWN
    return ClusterState.ACTIVE


_CLUSTER_TO_UPGRADE_STATUS = frozenset(
    {
        Status.IN_PROGRESS,
        Status.PAUSED,
        Status.ERROR,
        Status.CANCELLED,
        Status.ROLLBACK_IN_PROGRESS,
        Status.SUCCEEDED,
    }
)


def effective_upgrade_status(upgrade: Upgrade, cluster: Cluster | None) -> Status:
    """The upgrade's status, or when the server left it null, the one its cluster implies.

    The real server never sets an upgrade's status at creation (quirk 4); the
    cluster's status then tells where the upgrade stands. Only meaningful for
    the cluster's current (newest) upgrade.
    """
    if upgrade.status is not Status.UNKNOWN or cluster is None:
        return upgrade.status
    if cluster.status in _CLUSTER_TO_UPGRADE_STATUS:
        return cluster.status
    if (
        cluster.status is Status.READY
        and upgrade.to_version
        and cluster.version == upgrade.to_version
    ):
        return Status.SUCCEEDED
    return Status.UNKNOWN


_ACTIONS_ALLOWED_IN: dict[str, frozenset[Status]] = {
    "pause": frozenset({Status.IN_PROGRESS}),
    "continue": frozenset({Status.PAUSED, Status.ERROR}),
    "rollback": frozenset({Status.IN_PROGRESS, Status.PAUSED, Status.ERROR}),
    "cancel": frozenset({Status.IN_PROGRESS, Status.PAUSED}),
}


def allowed_actions(status: Status) -> tuple[str, ...]:
    """The actions valid in this status, in the fixed order pause, continue, rollback, cancel.

    The real server checks no transitions (quirk 6), so this is the only guard.
    """
    return tuple(action for action in ACTIONS if status in _ACTIONS_ALLOWED_IN[action])


# Why a new upgrade is refused while the cluster's last one is unfinished. The
# real server only refuses `UPGRADE IN PROGRESS` (quirk 6), but a second plan on
# top of a paused, failed or rolling-back one leaves the cluster at mixed
# versions with nobody owning them, so the client refuses those too.
_UNFINISHED_UPGRADE: dict[Status, str] = {
    Status.IN_PROGRESS: "an upgrade is already in progress",
    Status.PAUSED: "an upgrade is paused: continue, roll back or cancel it first",
    Status.ERROR: "the last upgrade failed: continue or roll it back first",
    Status.ROLLBACK_IN_PROGRESS: "a rollback is in progress",
}


def can_start_upgrade(status: Status) -> bool:
    """A new upgrade may start only when the cluster has no unfinished upgrade."""
    return status not in _UNFINISHED_UPGRADE


def start_refusal(status: Status, version: str | None) -> str | None:
    """Why a cluster cannot start an upgrade now, or None when it can."""
    if status in _UNFINISHED_UPGRADE:
        return _UNFINISHED_UPGRADE[status]
    if not version or version == UNKNOWN_VERSION:
        return "the cluster's version is unknown"
    return None


def newest_upgrade(upgrades: Sequence[Upgrade]) -> Upgrade | None:
    """The most recent upgrade: latest start time, then latest in the server's list.

    Upgrades without a start time rank before any with one.
    """
    if not upgrades:
        return None
    index = max(
        range(len(upgrades)),
        key=lambda i: (
            upgrades[i].upgrade_start_time is not None,
            _comparable(upgrades[i].upgrade_start_time),
            i,
        ),
    )
    return upgrades[index]


def _comparable(moment: datetime | None) -> datetime:
    # The server sends naive local times; an aware one is compared in its own wall time.
    if moment is None:
        return datetime.min
    return moment.replace(tzinfo=None)


def eta(start: datetime | None, now: datetime, done: int, total: int) -> timedelta | None:
    """Time left at the pace so far, or None when there is nothing to go on.

    `start` and `now` must be in the same clock (the server's timestamps are
    naive local times); mixing naive and aware datetimes gives None.
    """
    if start is None or total <= 0 or done <= 0:
        return None
    if done >= total:
        return timedelta(0)
    if (start.tzinfo is None) != (now.tzinfo is None):
        return None
    elapsed = now - start
    if elapsed <= timedelta(0):
        return None
    return elapsed * ((total - done) / done)
