"""What commands return: report dataclasses and the pure functions that build them.

A report's field names are its stable JSON keys (the README lists them); both
faces show the same report, headless as a table or JSON, the console in a
dialog. Builders take API data already read and do no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from kostyor_tui.domain import fleet, lifecycle, order, progress
from kostyor_tui.domain.statuses import MAINTENANCE, UNFINISHED, Status, cluster_state

if TYPE_CHECKING:
    # Annotations only: the reports (and so `--help` and the views) load without pydantic.
    from kostyor_tui.api.models import Cluster, Host, Service, Step, Upgrade


@dataclass(frozen=True)
class ClusterSummary:
    id: str | None
    name: str | None
    version: str | None
    status: str


@dataclass(frozen=True)
class ProfileClusterSummary:
    """A cluster of `list-clusters --all-profiles`: the profile whose endpoint listed it,
    then the cluster as `list-clusters` shows it."""

    profile: str
    id: str | None
    name: str | None
    version: str | None
    status: str


@dataclass(frozen=True)
class UpgradeSummary:
    id: str | None
    cluster_id: str | None
    cluster_name: str | None
    status: str
    # "server" when the server said the status; "cluster" when it left it null and the
    # status is the one its cluster's implies (docs/kostyor-api.md#quirk-null-upgrade-status);
    # None when nothing tells (an older upgrade with a null status).
    status_from: str | None
    from_version: str | None
    to_version: str | None
    upgrade_start_time: datetime | None
    upgrade_end_time: datetime | None


@dataclass(frozen=True)
class CurrentStep:
    host: str | None
    service: str | None


@dataclass(frozen=True)
class FailedStep:
    """The step an upgrade stopped at, as the server's step log tells it."""

    host: str | None
    service: str | None
    at: datetime | None


@dataclass(frozen=True)
class UpgradeStatusReport:
    id: str | None
    cluster_id: str | None
    cluster_name: str | None
    status: str
    from_version: str | None
    to_version: str | None
    # The engine the server says the upgrade runs with; None when it does not say.
    engine: str | None
    # False where the server's versions tell nothing of how far it got (the real
    # server's never move): the counts of upgraded nodes and services are then None.
    progress_reported: bool
    nodes_upgraded: int | None
    nodes_total: int
    services_upgraded: int | None
    services_total: int
    # The step it is on, when that is known (progress reported, engine known).
    current: CurrentStep | None
    # The step it failed at, when the server keeps a step log.
    failure: FailedStep | None
    upgrade_start_time: datetime | None
    upgrade_end_time: datetime | None

    @property
    def finished(self) -> bool:
        """Nothing more will happen without an operator: succeeded, cancelled, failed..."""
        return Status(self.status) not in MAINTENANCE


@dataclass(frozen=True)
class ClusterStatusReport:
    id: str | None
    name: str | None
    region: str | None
    version: str | None
    versions: dict[str, int]
    state: str
    status: str
    upgrade: UpgradeStatusReport | None


@dataclass(frozen=True)
class ComponentVersionRow:
    """One component at one version (a component at mixed versions has several rows)."""

    component: str
    hosts: list[str]
    version: str
    upgradable: bool


@dataclass(frozen=True)
class HostRow:
    id: str | None
    hostname: str | None
    services: list[str]
    versions: dict[str, int]


@dataclass(frozen=True)
class UpgradeCheck:
    state: str
    versions: list[str]
    reason: str | None


def cluster_summary(cluster: Cluster) -> ClusterSummary:
    return ClusterSummary(
        id=cluster.id, name=cluster.name, version=cluster.version, status=str(cluster.status)
    )


def profile_cluster_summary(profile: str, summary: ClusterSummary) -> ProfileClusterSummary:
    return ProfileClusterSummary(profile, **dataclasses.asdict(summary))


def upgrade_summary(upgrade: Upgrade, cluster_name: str | None = None) -> UpgradeSummary:
    if upgrade.raw_status is not None:
        status_from: str | None = "server"
    else:
        status_from = "cluster" if upgrade.status is not Status.UNKNOWN else None
    return UpgradeSummary(
        id=upgrade.id,
        cluster_id=upgrade.cluster_id,
        cluster_name=cluster_name,
        status=str(upgrade.status),
        status_from=status_from,
        from_version=upgrade.from_version,
        to_version=upgrade.to_version,
        upgrade_start_time=upgrade.upgrade_start_time,
        upgrade_end_time=upgrade.upgrade_end_time,
    )


def upgrade_status(
    upgrade: Upgrade,
    hosts: Sequence[Host],
    services: Sequence[Service],
    cluster_name: str | None = None,
    steps: Sequence[Step] | None = None,
) -> UpgradeStatusReport:
    """An upgrade's progress, computed from its cluster's hosts and services
    (docs/kostyor-api.md#progress), as far as the server's data can tell it: `steps` is
    the server's step log, None when it keeps none. `upgrade.status` is taken as it is:
    a null one has already been derived from the cluster."""
    done = progress.upgrade_progress(
        hosts,
        services,
        upgrade.to_version,
        upgrade.engine or order.DEFAULT_ENGINE,
        rolling_back=upgrade.status is Status.ROLLBACK_IN_PROGRESS,
    )
    if upgrade.status is Status.SUCCEEDED:
        # Every step was done; the cluster may have moved on since (a later upgrade).
        done = done.completed()
    reported = upgrade.status is Status.SUCCEEDED or progress.progress_reported(
        steps is not None, done.services_upgraded
    )
    current = None
    # Only an upgrade under way (or stopped by an error) is "at" a step, and only an
    # engine the server names says which one.
    if (
        reported
        and upgrade.engine is not None
        and upgrade.status in UNFINISHED
        and (done.current_host or done.current_service)
    ):
        current = CurrentStep(host=done.current_host, service=done.current_service)
    return UpgradeStatusReport(
        id=upgrade.id,
        cluster_id=upgrade.cluster_id,
        cluster_name=cluster_name,
        status=str(upgrade.status),
        from_version=upgrade.from_version,
        to_version=upgrade.to_version,
        engine=upgrade.engine,
        progress_reported=reported,
        nodes_upgraded=done.nodes_upgraded if reported else None,
        nodes_total=done.nodes_total,
        services_upgraded=done.services_upgraded if reported else None,
        services_total=done.services_total,
        current=current,
        failure=failed_step(upgrade.status, steps),
        upgrade_start_time=upgrade.upgrade_start_time,
        upgrade_end_time=upgrade.upgrade_end_time,
    )


def failed_step(status: Status, steps: Sequence[Step] | None) -> FailedStep | None:
    """The step a failed upgrade stopped at: the last failed one in the step log."""
    if status is not Status.ERROR or not steps:
        return None
    failed = [step for step in steps if step.outcome == "failed"]
    if not failed:
        return None
    last = failed[-1]
    return FailedStep(host=last.hostname, service=last.service, at=last.at)


def cluster_status(
    cluster: Cluster,
    hosts: Sequence[Host],
    services: Sequence[Service],
    upgrade: Upgrade | None,
    releases: Sequence[str],
    region: str | None,
    steps: Sequence[Step] | None = None,
) -> ClusterStatusReport:
    return ClusterStatusReport(
        id=cluster.id,
        name=cluster.name,
        region=region,
        version=cluster.version,
        versions=fleet.version_counts(services, releases, hosts=hosts),
        state=str(cluster_state(cluster.status)),
        status=str(cluster.status),
        upgrade=(
            upgrade_status(upgrade, hosts, services, cluster.name, steps)
            if upgrade is not None
            else None
        ),
    )


def component_version_rows(
    hosts: Sequence[Host], services: Sequence[Service], releases: Sequence[str]
) -> list[ComponentVersionRow]:
    return [
        ComponentVersionRow(
            component=component.name,
            hosts=list(hostnames),
            version=version,
            upgradable=fleet.upgradable(version, releases),
        )
        for component in fleet.components(hosts, services, releases)
        for version, hostnames in component.hosts_by_version
    ]


def host_rows(
    hosts: Sequence[Host], services: Sequence[Service], releases: Sequence[str]
) -> list[HostRow]:
    names_on: dict[str | None, set[str]] = {}
    versions_on: dict[str | None, list[str | None]] = {}
    for instance in fleet.instances(hosts, services):
        names_on.setdefault(instance.host_id, set()).add(instance.name)
        versions_on.setdefault(instance.host_id, []).append(instance.version)
    rows = []
    for host in hosts:
        versions = [
            version or lifecycle.UNKNOWN_VERSION for version in versions_on.get(host.id, [])
        ]
        counts = {version: versions.count(version) for version in set(versions)}
        rows.append(
            HostRow(
                id=host.id,
                hostname=host.hostname,
                services=sorted(names_on.get(host.id, ()), key=order.service_key),
                versions={
                    version: counts[version] for version in fleet.version_order(counts, releases)
                },
            )
        )
    return rows


def upgrade_check(
    cluster: Cluster, status: Status, host_count: int, targets: list[str]
) -> UpgradeCheck:
    """`check-upgrade`: the rule `upgrade-cluster` applies (docs/kostyor-api.md#lifecycle)."""
    state, reason = lifecycle.readiness(status, cluster.version, host_count, targets)
    return UpgradeCheck(state=str(state), versions=targets, reason=reason)


def as_data(value: Any) -> Any:
    """A report (dataclasses, lists, dicts) as JSON-ready plain data: what headless JSON
    prints, and what the console shows."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): as_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [as_data(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value
