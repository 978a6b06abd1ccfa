"""The event log: what changed between two polls of a cluster, as timestamped lines."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from kostyor_tui.api.models import Service
from kostyor_tui.domain import order
from kostyor_tui.domain.statuses import Status
from kostyor_tui.service.snapshots import ClusterSnapshot, UpgradeEvent

# A poll that sees more instance changes than this logs a count for the rest, so a
# 30,000-instance cluster cannot flood the log in one go.
EVENTS_PER_POLL = 25


def _engine_order_key(snapshot: ClusterSnapshot) -> Callable[[Service], tuple[object, ...]]:
    """Sorts the instances one poll saw change in the order the engine moved them."""
    host_position = {host_id: index for index, host_id in enumerate(snapshot.host_order)}
    last = len(host_position)

    def key(service: Service) -> tuple[object, ...]:
        host = min((host_position.get(h, last) for h in service.hosts), default=last)
        return order.instance_key(snapshot.engine, host, service.name or "", service.id)

    return key


def describe_changes(
    old: ClusterSnapshot | None, new: ClusterSnapshot, at: datetime
) -> list[UpgradeEvent]:
    """The changes between two polls of a cluster, as log lines."""
    name = new.cluster.name or new.cluster_id
    events: list[str] = []
    if old is None:
        if new.upgrade is not None:
            events.append(f"watching {name}: {_upgrade_line(new)}")
        else:
            events.append(f"watching {name}: no upgrade")
        return [UpgradeEvent(at, text) for text in events]
    if old.cluster.status != new.cluster.status:
        events.append(f"cluster {name}: {old.cluster.status} → {new.cluster.status}")
    if old.cluster.version != new.cluster.version:
        events.append(f"cluster {name} now at {new.cluster.version}")
    old_upgrade, new_upgrade = old.upgrade, new.upgrade
    if new_upgrade is not None and (old_upgrade is None or old_upgrade.id != new_upgrade.id):
        events.append(f"new upgrade {new_upgrade.id}: {_upgrade_line(new)}")
    elif new_upgrade is not None and old.status != new.status:
        events.append(f"upgrade {_status_text(old.status)} → {_status_text(new.status)}")
    hostnames = {host.id: host.hostname or host.id for host in new.hosts}
    old_versions = {service.id: service.version for service in old.services}
    moved = [
        service
        for service in new.services
        if service.id in old_versions and old_versions[service.id] != service.version
    ]
    moved.sort(key=_engine_order_key(new), reverse=new.status is Status.ROLLBACK_IN_PROGRESS)
    for service in moved[:EVENTS_PER_POLL]:
        where = ", ".join(hostnames.get(h, h) or "?" for h in service.hosts) or "no host"
        events.append(f"{service.name} on {where}: {old_versions[service.id]} → {service.version}")
    if len(moved) > EVENTS_PER_POLL:
        events.append(f"… and {len(moved) - EVENTS_PER_POLL} more instances changed version")
    if old.progress and new.progress and old.progress.nodes_upgraded != new.progress.nodes_upgraded:
        events.append(f"nodes upgraded {new.progress.nodes_upgraded}/{new.progress.nodes_total}")
    return [UpgradeEvent(at, text) for text in events]


def _status_text(status: object) -> str:
    return str(status) if status is not None else "unknown"


def _upgrade_line(snapshot: ClusterSnapshot) -> str:
    upgrade = snapshot.upgrade
    if upgrade is None:
        return "no upgrade"
    return f"{upgrade.from_version} → {upgrade.to_version}, {_status_text(snapshot.status)}"
