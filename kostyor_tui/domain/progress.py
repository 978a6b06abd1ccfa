"""An upgrade's progress, derived from where each service instance stands
(docs/kostyor-api.md#progress): services upgraded = instances at `to_version`;
nodes upgraded = hosts all of whose instances are at `to_version`; the step it
is on = the first instance not yet upgraded in the engine's order.

At 30,000 instances `upgrade_progress` and `host_states` each take 10-35 ms: a
few linear passes over the `fleet.Topology`, no sorting.
"""

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise

from kostyor_tui.domain import order
from kostyor_tui.domain.fleet import HostRecord, ServiceRecord, Topology, service_name


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
    all_hosts: set[str | None] = set(topology.host_ids)
    pending_hosts: set[str | None] = set()
    # The hosts and names of the instances the step is looked for among.
    step_hosts: set[str | None] = set()
    step_names: set[str] = set()
    total = upgraded = 0
    # Each host's rank (its most important service) is gathered in the same pass.
    ranks: dict[str | None, int] = {}
    for service, host_ids in topology.entries():
        rank = topology.service_key(service_name(service))[0]
        for host_id in host_ids:
            if rank < ranks.get(host_id, order.NO_SERVICE_RANK):
                ranks[host_id] = rank
        total += len(host_ids)
        done = service.version == to_version
        if done:
            upgraded += len(host_ids)
        else:
            pending_hosts.update(host_ids)
        if done == rolling_back:
            step_hosts.update(host_ids)
            step_names.add(service_name(service))
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
        current_service=service_name(step[0]) if step else None,
    )


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
    first, as `order.instance_key` does, then scans for the best instance there."""
    if not step_hosts:
        return None
    choose = max if rolling_back else min
    better = operator.gt if rolling_back else operator.lt
    best: tuple[ServiceRecord, str | None] | None = None
    best_key: tuple[object, ...] | None = None
    if engine == order.SERVICE_BY_SERVICE:
        name = choose(step_names, key=topology.service_key)
        candidates = (
            (service, host_id)
            for service, host_ids in topology.entries()
            if service_name(service) == name
            for host_id in host_ids
        )
    else:
        step_host = choose(step_hosts, key=topology.host_key)
        candidates = (
            (service, step_host)
            for service, host_ids in topology.entries()
            if step_host in host_ids
        )
    for service, host_id in candidates:
        if (service.version == to_version) != rolling_back:
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
    topology = Topology(hosts, services)
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
        done_here = upgraded.get(host_id, 0)
        if done_here == count:
            states[host_id] = HostState.UPGRADED
        elif done_here:
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
