"""The event log: what changed between two polls of a cluster, as timestamped lines."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from kostyor_tui.api.models import Service, Step
from kostyor_tui.domain import order
from kostyor_tui.domain.statuses import Status
from kostyor_tui.service.snapshots import ClusterSnapshot, UpgradeEvent

# A poll that sees more instance changes than this logs a count for the rest, so a
# 30,000-instance cluster cannot flood the log in one go. Steps read from the server's
# step log carry their own time and are logged up to a larger bound.
EVENTS_PER_POLL = 25
STEPS_PER_POLL = 1000


def _engine_order_key(snapshot: ClusterSnapshot) -> Callable[[Service], tuple[object, ...]]:
    """Sorts the instances one poll saw change in the order the engine moved them."""
    host_position = {host_id: index for index, host_id in enumerate(snapshot.host_order)}
    last = len(host_position)

    def key(service: Service) -> tuple[object, ...]:
        host = min((host_position.get(h, last) for h in service.hosts), default=last)
        return order.instance_key(snapshot.engine, host, service.name or "", service.id)

    return key


def step_event(step: Step, at: datetime) -> UpgradeEvent:
    """One step of the server's step log, at the time the server committed it."""
    where = f"{step.service or '?'} on {step.hostname or '?'}"
    moved = f"{step.version_before} → {step.version_after}"
    if step.outcome == "failed":
        text = f"✖ FAILED {where} (still at {step.version_before})"
    elif step.direction == "rollback":
        text = f"rolled back {where}: {moved}"
    else:
        text = f"{where}: {moved}"
    return UpgradeEvent(step.at or at, text)


def describe_changes(
    old: ClusterSnapshot | None,
    new: ClusterSnapshot,
    at: datetime,
    steps: Sequence[Step] = (),
) -> list[UpgradeEvent]:
    """The changes between two polls of a cluster, as log lines: the `steps` the server's
    step log added since (each at its own time) or, where it keeps none, the instances
    seen to change version; then what changed in the cluster and its upgrade."""
    name = new.cluster.name or new.cluster_id
    events: list[str] = []
    if old is None:
        if new.upgrade is not None:
            events.append(f"watching {name}: {_upgrade_line(new)}")
        else:
            events.append(f"watching {name}: no upgrade")
        return [UpgradeEvent(at, text) for text in events]
    logged = [step_event(step, at) for step in steps[-STEPS_PER_POLL:]]
    if len(steps) > STEPS_PER_POLL:
        skipped = len(steps) - STEPS_PER_POLL
        logged.insert(0, UpgradeEvent(at, f"… {skipped} earlier steps not listed"))
    if old.cluster.status != new.cluster.status:
        events.append(f"cluster {name}: {old.cluster.status} → {new.cluster.status}")
    if old.cluster.version != new.cluster.version:
        events.append(f"cluster {name} now at {new.cluster.version}")
    old_upgrade, new_upgrade = old.upgrade, new.upgrade
    if new_upgrade is not None and (old_upgrade is None or old_upgrade.id != new_upgrade.id):
        events.append(f"new upgrade {new_upgrade.id}: {_upgrade_line(new)}")
    elif new_upgrade is not None and old.status != new.status:
        events.append(f"upgrade {_status_text(old.status)} → {_status_text(new.status)}")
    if new.steps is None:
        events += _moved_instances(old, new)
    if old.progress and new.progress and old.progress.nodes_upgraded != new.progress.nodes_upgraded:
        events.append(f"nodes upgraded {new.progress.nodes_upgraded}/{new.progress.nodes_total}")
    return logged + [UpgradeEvent(at, text) for text in events]


def _moved_instances(old: ClusterSnapshot, new: ClusterSnapshot) -> list[str]:
    """The instances seen at another version than at the last poll, in engine order."""
    hostnames = {host.id: host.hostname or host.id for host in new.hosts}
    old_versions = {service.id: service.version for service in old.services}
    moved = [
        service
        for service in new.services
        if service.id in old_versions and old_versions[service.id] != service.version
    ]
    moved.sort(key=_engine_order_key(new), reverse=new.status is Status.ROLLBACK_IN_PROGRESS)
    lines = []
    for service in moved[:EVENTS_PER_POLL]:
        where = ", ".join(hostnames.get(h, h) or "?" for h in service.hosts) or "no host"
        lines.append(f"{service.name} on {where}: {old_versions[service.id]} → {service.version}")
    if len(moved) > EVENTS_PER_POLL:
        lines.append(f"… and {len(moved) - EVENTS_PER_POLL} more instances changed version")
    return lines


def _status_text(status: object) -> str:
    return str(status) if status is not None else "unknown"


def _upgrade_line(snapshot: ClusterSnapshot) -> str:
    upgrade = snapshot.upgrade
    if upgrade is None:
        return "no upgrade"
    return f"{upgrade.from_version} → {upgrade.to_version}, {_status_text(snapshot.status)}"
