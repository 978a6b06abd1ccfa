"""Everything the console shows about one cluster, derived in one go from one poll's data.

Plain data and functions: no I/O, no Textual. `build_snapshot` runs in the
poller's thread, so that deriving a 30,000-instance cluster never holds up the
keyboard.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from kostyor_tui.api.models import Cluster, Host, Service, Step, Upgrade
from kostyor_tui.domain import fleet, lifecycle, order
from kostyor_tui.domain.progress import (
    HostState,
    UpgradeProgress,
    host_states_in,
    progress_in,
    progress_reported,
)
from kostyor_tui.domain.statuses import MOVING, Status


def _to_version(snapshot: ClusterSnapshot) -> str | None:
    return snapshot.upgrade.to_version if snapshot.upgrade is not None else None


@dataclass(frozen=True)
class UpgradeEvent:
    """One line of the event log."""

    at: datetime
    text: str


# A cluster whose status is unrecognised may be moving: it is re-read like a moving one.
MAY_MOVE = MOVING | {Status.UNKNOWN}


@dataclass(frozen=True, eq=False)
class ClusterSnapshot:
    """One cluster as one poll saw it. Compared by identity: a poll that finds nothing
    changed keeps the old snapshot, so "is it the same object" is "did anything change"."""

    cluster: Cluster
    hosts: tuple[Host, ...]
    services: tuple[Service, ...]
    upgrades: tuple[Upgrade, ...]
    fetched_at: datetime
    upgrade: Upgrade | None = None  # the newest upgrade of the cluster
    # `upgrade`'s status, derived from the cluster's when the server left it null
    # (docs/kostyor-api.md#quirk-null-upgrade-status).
    status: Status | None = None
    progress: UpgradeProgress | None = None
    host_states: Mapping[str, HostState] = field(default_factory=dict)
    components: tuple[fleet.Component, ...] = ()
    version_counts: Mapping[str, int] = field(default_factory=dict)
    # host id -> {version: instance count}
    host_versions: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # Host ids in the order the engine upgrades them (hosts without services last).
    host_order: tuple[str, ...] = ()
    releases: tuple[str, ...] = ()
    engine: str = order.DEFAULT_ENGINE
    # What changed since the snapshot before this one (the event log's new lines).
    events: tuple[UpgradeEvent, ...] = ()
    # The latest entries of `upgrade`'s step log, and how many entries it has in all;
    # steps None when the server keeps no step log.
    steps: tuple[Step, ...] | None = None
    steps_seen: int = 0
    # Polls since the hosts and services were last read in full (the ones between
    # followed the upgrade through its step log: docs of `service.poller`).
    followed_polls: int = 0
    # The hosts and services indexed, for `advance_snapshot` to re-derive a part of.
    topology: fleet.Topology | None = field(default=None, repr=False)
    component_tally: fleet.ComponentTally = field(default_factory=dict, repr=False)
    # host id -> hostname (the id when the host has no name)
    hostnames: Mapping[str, str] = field(default_factory=dict, repr=False)
    # The snapshot `advance_snapshot` made this one from (held weakly: snapshots must not
    # chain), and the hosts whose versions it moved: a screen showing that one's hosts
    # redraws these only (`hosts_moved_since`).
    advanced_from: weakref.ref[ClusterSnapshot] | None = field(default=None, repr=False)
    moved_hosts: frozenset[str] = field(default=frozenset(), repr=False)

    @property
    def progress_reported(self) -> bool:
        """Whether the versions tell how far the upgrade got
        (docs/kostyor-api.md#quirk-no-progress)."""
        if self.status is Status.SUCCEEDED:
            return True
        upgraded = self.progress.services_upgraded if self.progress else 0
        return progress_reported(self.steps is not None, upgraded)

    @property
    def engine_known(self) -> bool:
        """Whether the server says which engine runs the upgrade (else the order shown is
        node-by-node, Kostyor's default, a guess)."""
        return self.upgrade is not None and self.upgrade.engine is not None

    def hosts_moved_since(self, shown: ClusterSnapshot | None) -> frozenset[str] | None:
        """The hosts whose name, versions or upgrade state may differ from `shown`'s:
        none when it is this one, `moved_hosts` when this one was advanced from it (and
        the states are told alike), None when not known (any may)."""
        if shown is self:
            return frozenset()
        if (
            shown is None
            or self.advanced_from is None
            or self.advanced_from() is not shown
            or self.progress_reported != shown.progress_reported
            or _to_version(self) != _to_version(shown)
        ):
            return None
        return self.moved_hosts

    @property
    def cluster_id(self) -> str:
        return self.cluster.id or ""

    def same_data(
        self,
        cluster: Cluster,
        hosts: Sequence[Host],
        services: Sequence[Service],
        upgrades: Sequence[Upgrade],
    ) -> bool:
        return (
            self.cluster == cluster
            and self.upgrades == tuple(upgrades)
            and self.services == tuple(services)
            and self.hosts == tuple(hosts)
        )


def build_snapshot(
    cluster: Cluster,
    hosts: Sequence[Host],
    services: Sequence[Service],
    upgrades: Sequence[Upgrade],
    fetched_at: datetime,
    releases: Sequence[str] = (),
    previous: ClusterSnapshot | None = None,
) -> ClusterSnapshot:
    """Derive everything the screens show from API data.

    The engine order of the hosts depends only on the topology, so it is reused
    from `previous` while the hosts stay the same.
    """
    upgrade = lifecycle.newest_upgrade(upgrades)
    status = lifecycle.effective_status(upgrade, cluster) if upgrade else None
    engine = (upgrade.engine if upgrade else None) or order.DEFAULT_ENGINE
    hosts_seen, services_seen = tuple(hosts), tuple(services)
    topology = fleet.Topology(hosts_seen, services_seen)
    same_topology = (
        previous is not None
        and previous.engine == engine
        and len(previous.services) == len(services)
        and previous.hosts == hosts_seen
    )
    if same_topology and previous is not None:
        engine_order = previous.host_order
    else:
        engine_order = tuple(fleet.host_order_in(topology, engine))
    tally = fleet.component_tally(topology)
    return _derived(
        ClusterSnapshot(
            cluster=cluster,
            hosts=hosts_seen,
            services=services_seen,
            upgrades=tuple(upgrades),
            fetched_at=fetched_at,
            upgrade=upgrade,
            status=status,
            host_order=engine_order,
            releases=tuple(releases),
            engine=engine,
            topology=topology,
            component_tally=tally,
            hostnames={host.id: host.hostname or host.id for host in hosts_seen if host.id},
        ),
        fleet.components_of(tally, releases),
        fleet.host_version_counts_in(topology, releases),
    )


def advance_snapshot(
    old: ClusterSnapshot,
    services: Sequence[Service],
    moved: Sequence[int],
    fetched_at: datetime,
    upgrades: Sequence[Upgrade],
) -> ClusterSnapshot:
    """`old` after the instances at positions `moved` of its services changed version,
    and nothing else (the caller's promise: the same cluster and hosts, the same
    entries in the same order, the same upgrade in the same status, as `upgrades`
    now tell it). Equal to `build_snapshot` of the new data, but
    only the moved instances' hosts and components are counted again: what a poll
    following an upgrade through its step log costs grows with the steps, not with
    the fleet. Steps and events are left to the caller."""
    if old.topology is None:
        raise ValueError("a snapshot without its topology cannot be advanced")
    services_seen = tuple(services)
    topology = old.topology.revised(services_seen)
    moves = [
        (position, old.services[position], services_seen[position])
        for position in dict.fromkeys(moved)
        if old.services[position].version != services_seen[position].version
    ]
    hosts_hit = {
        host_id
        for position, _, _ in moves
        for host_id in topology.entry_hosts[position]
        if host_id is not None
    }
    on_hosts = topology.subset(topology.positions_on(hosts_hit), hosts_hit)
    host_versions = dict(old.host_versions)
    host_versions.update(
        (host_id, counts)
        for host_id, counts in fleet.host_version_counts_in(on_hosts, old.releases).items()
        if host_id in hosts_hit
    )
    tally, names_hit = fleet.retally(old.component_tally, topology, moves)
    recounted = {
        component.name: component
        for component in fleet.components_of(tally, old.releases, names_hit)
    }
    components = [recounted.get(component.name, component) for component in old.components]
    snapshot = replace(
        old,
        upgrades=tuple(upgrades),
        upgrade=lifecycle.newest_upgrade(upgrades),
        services=services_seen,
        fetched_at=fetched_at,
        topology=topology,
        component_tally=tally,
        events=(),
        advanced_from=weakref.ref(old),
        moved_hosts=frozenset(hosts_hit),
    )
    return _derived(snapshot, components, host_versions)


def _derived(
    snapshot: ClusterSnapshot,
    components: Sequence[fleet.Component],
    host_versions: Mapping[str, Mapping[str, int]],
) -> ClusterSnapshot:
    """`snapshot` with what follows from its components' and hosts' version counts."""
    upgrade, topology = snapshot.upgrade, snapshot.topology
    done = None
    states: Mapping[str, HostState] = {}
    if upgrade is not None and upgrade.to_version and topology is not None:
        done = progress_in(
            topology,
            host_versions,
            components,
            upgrade.to_version,
            snapshot.engine,
            rolling_back=snapshot.status is Status.ROLLBACK_IN_PROGRESS,
        )
        states = host_states_in(host_versions, upgrade.to_version)
    return replace(
        snapshot,
        progress=done,
        host_states=states,
        components=tuple(components),
        version_counts=fleet.component_version_counts(components, snapshot.releases),
        host_versions=host_versions,
    )


def settled(snapshot: ClusterSnapshot | None, cluster: Cluster) -> bool:
    """Whether `cluster`, as just listed, cannot have moved since `snapshot` was read:
    the same as then, and neither it nor its upgrade in a status where the engine
    moves instances. Its upgrades must still be compared before trusting that."""
    return (
        snapshot is not None
        and snapshot.cluster == cluster
        and cluster.status not in MAY_MOVE
        and snapshot.status not in MAY_MOVE
    )
