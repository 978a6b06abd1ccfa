"""An upgrade's progress, derived from where each service instance stands
(docs/kostyor-api.md#progress): services upgraded = instances at `to_version`;
nodes upgraded = hosts all of whose instances are at `to_version`; the step it
is on = the first instance not yet upgraded in the engine's order.

Both are derived from the counts a cluster's snapshot keeps anyway (per host
and per component, `fleet.host_version_counts_in` and `fleet.components_in`),
so that a poll which moved a few instances re-counts only their hosts and
components; the step looks only at the instances on its host (or of its
component), through the `fleet.Topology`'s index.
"""

import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise

from kostyor_tui.domain import order
from kostyor_tui.domain.fleet import (
    NO_HOST,
    Component,
    HostRecord,
    ServiceRecord,
    Topology,
    components_in,
    host_version_counts_in,
    service_name,
)
from kostyor_tui.domain.lifecycle import UNKNOWN_VERSION


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

    def completed(self) -> "UpgradeProgress":
        """Every step done and none current (a succeeded upgrade, whatever moved since)."""
        return UpgradeProgress(
            self.nodes_total, self.nodes_total, self.services_total, self.services_total, None, None
        )


def upgrade_progress(
    hosts: Sequence[HostRecord],
    services: Sequence[ServiceRecord],
    to_version: str | None,
    engine: str | None = order.DEFAULT_ENGINE,
    *,
    rolling_back: bool = False,
) -> UpgradeProgress:
    """Nodes and services upgraded, and the step the engine is on.

    The step is the first instance not yet at `to_version` in engine order; while
    rolling back it is the last one still at `to_version` (rollback runs in
    reverse). A host with no service instance counts as upgraded: all of its
    (zero) instances are at `to_version`.
    """
    topology = Topology(hosts, services)
    return progress_in(
        topology,
        host_version_counts_in(topology),
        components_in(topology),
        to_version,
        engine,
        rolling_back=rolling_back,
    )


def progress_in(
    topology: Topology,
    host_versions: Mapping[str, Mapping[str, int]],
    components: Sequence[Component],
    to_version: str | None,
    engine: str | None = order.DEFAULT_ENGINE,
    *,
    rolling_back: bool = False,
) -> UpgradeProgress:
    """`upgrade_progress` from what a snapshot derives anyway: the topology's
    `host_version_counts_in` and `components_in`. Only the step looks at instances,
    and only those on its host (or of its component)."""
    services_total = upgraded = 0
    step_names: set[str] = set()
    for component in components:
        services_total += component.instances
        at_target = dict(component.versions).get(to_version or "", 0)
        upgraded += at_target
        if (at_target > 0) if rolling_back else (at_target < component.instances):
            step_names.add(component.name)
    pending = 0
    step_hosts: set[str | None] = set()
    for host_id, counts in host_versions.items():
        at_target = counts.get(to_version or "", 0)
        not_done = sum(counts.values()) - at_target
        pending += not_done > 0
        if (at_target > 0) if rolling_back else (not_done > 0):
            step_hosts.add(host_id)
    # An instance on no host is a step too (host None).
    on_no_host = (topology.services[position] for position in topology.positions_on(NO_HOST))
    if any(is_done(service, to_version) == rolling_back for service in on_no_host):
        step_hosts.add(None)
    nodes_total = len(host_versions) + topology.hosts_without_id
    step = _find_step(topology, engine, to_version, rolling_back, step_hosts, step_names)
    return UpgradeProgress(
        nodes_upgraded=nodes_total - pending,
        nodes_total=nodes_total,
        services_upgraded=upgraded,
        services_total=services_total,
        current_host=(topology.label(step[1]) or None) if step else None,
        current_service=service_name(step[0]) if step else None,
    )


def is_done(service: ServiceRecord, to_version: str | None) -> bool:
    """Whether an instance is at the upgrade's target (a missing version counts as
    `unknown`, as in every version count)."""
    return (service.version or UNKNOWN_VERSION) == to_version


def _find_step(
    topology: Topology,
    engine: str | None,
    to_version: str | None,
    rolling_back: bool,
    step_hosts: set[str | None],
    step_names: set[str],
) -> tuple[ServiceRecord, str | None] | None:
    """The first (last, when rolling back) instance in engine order among those at
    `to_version` (rolling back) or not (upgrading): picks the host or the service
    first, as `order.instance_key` does, then scans that host's (that service's)
    instances for the best."""
    if not step_hosts:
        return None
    choose = max if rolling_back else min
    better = operator.gt if rolling_back else operator.lt
    best: tuple[ServiceRecord, str | None] | None = None
    best_key: tuple[object, ...] | None = None
    services, entry_hosts = topology.services, topology.entry_hosts
    if engine == order.SERVICE_BY_SERVICE:
        name = choose(step_names, key=topology.service_key)
        candidates: Iterable[tuple[ServiceRecord, str | None]] = (
            (services[position], host_id)
            for position in topology.positions_named((name,))
            for host_id in entry_hosts[position]
        )
    else:
        step_host = choose(step_hosts, key=topology.host_key)
        candidates = (
            (services[position], step_host) for position in topology.positions_on((step_host,))
        )
    for service, host_id in candidates:
        if is_done(service, to_version) != rolling_back:
            continue
        key = order.instance_key(
            engine, topology.host_key(host_id), service_name(service), service.id
        )
        if best_key is None or better(key, best_key):
            best, best_key = (service, host_id), key
    return best


def progress_reported(has_step_log: bool, upgraded_instances: int) -> bool:
    """Whether the instances' versions tell how far an upgrade got.

    Only where an engine moves them: the real server's never does
    (docs/kostyor-api.md#quirk-no-progress), so there "0 of N upgraded" would be
    shown as a fact that is merely the absence of news. A server that keeps a step
    log runs an engine; otherwise an instance already at the target is the proof.
    """
    return has_step_log or upgraded_instances > 0


class HostState(StrEnum):
    UPGRADED = "upgraded"
    IN_PROGRESS = "in progress"
    PENDING = "pending"


def host_states(
    hosts: Sequence[HostRecord], services: Sequence[ServiceRecord], to_version: str | None
) -> dict[str, HostState]:
    """Per host id: upgraded (every instance at `to_version`), in progress (some), pending
    (none). In the order of `hosts`, then any host referenced only by a service. A host
    without instances is upgraded (nothing left to do on it)."""
    return host_states_in(host_version_counts_in(Topology(hosts, services)), to_version)


def host_states_in(
    host_versions: Mapping[str, Mapping[str, int]], to_version: str | None
) -> dict[str, HostState]:
    """`host_states` from the hosts' version counts (`fleet.host_version_counts_in`)."""
    states: dict[str, HostState] = {}
    for host_id, counts in host_versions.items():
        at_target = counts.get(to_version or "", 0)
        if at_target == sum(counts.values()):
            states[host_id] = HostState.UPGRADED
        elif at_target:
            states[host_id] = HostState.IN_PROGRESS
        else:
            states[host_id] = HostState.PENDING
    return states


def recent_pace(done_at: Sequence[datetime], window: int = 20) -> timedelta | None:
    """How long a step takes now: the median gap between the last `window` steps done (the
    server's own times). A pause or an outage is one long gap, which the median ignores;
    an earlier run's steps are another upgrade's and never counted."""
    recent = sorted(done_at)[-(window + 1) :]
    gaps = sorted(later - earlier for earlier, later in pairwise(recent))
    if not gaps:
        return None
    return gaps[len(gaps) // 2]


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
