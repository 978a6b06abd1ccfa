"""The lifecycle of an upgrade, written once (docs/kostyor-api.md#lifecycle).

`LIFECYCLE` says, for each action, in which statuses it is valid and which
status it leads to. The client's pre-checks (`allowed_actions`,
`action_refusal`), the console's buttons and the embedded server's transition
checks are all read from it; `START_BLOCKED_BY` does the same for starting a
new upgrade. The real server checks none of this
(docs/kostyor-api.md#quirk-no-transition-checks), so for it this table is the
only guard.

Also here: which upgrade is a cluster's current one, and the status an upgrade
has when the server left it null.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, TypeVar

from kostyor_tui.domain.statuses import UPGRADE_STATUSES, Status

UNKNOWN_VERSION = "unknown"


class Action(StrEnum):
    PAUSE = "pause"
    CONTINUE = "continue"
    ROLLBACK = "rollback"
    CANCEL = "cancel"


ACTIONS: tuple[Action, ...] = tuple(Action)


@dataclass(frozen=True)
class Transition:
    valid_in: frozenset[Status]
    leads_to: Status


LIFECYCLE: dict[Action, Transition] = {
    Action.PAUSE: Transition(frozenset({Status.IN_PROGRESS}), Status.PAUSED),
    Action.CONTINUE: Transition(frozenset({Status.PAUSED, Status.ERROR}), Status.IN_PROGRESS),
    Action.ROLLBACK: Transition(
        frozenset({Status.IN_PROGRESS, Status.PAUSED, Status.ERROR}),
        Status.ROLLBACK_IN_PROGRESS,
    ),
    # Cancel also stops a rollback: on the real server a rollback never finishes
    # (docs/kostyor-api.md#quirk-no-progress), and cancel is the way out of it.
    Action.CANCEL: Transition(
        frozenset({Status.IN_PROGRESS, Status.PAUSED, Status.ROLLBACK_IN_PROGRESS}),
        Status.CANCELLED,
    ),
}


def allowed_actions(status: Status) -> tuple[Action, ...]:
    """The actions valid in this status, in the fixed order pause, continue, rollback, cancel."""
    return tuple(action for action in ACTIONS if status in LIFECYCLE[action].valid_in)


def action_refusal(action: Action, status: Status) -> str | None:
    """Why `action` is not valid for an upgrade in `status`, or None when it is."""
    if status in LIFECYCLE[action].valid_in:
        return None
    allowed = allowed_actions(status)
    possible = f"possible now: {', '.join(allowed)}" if allowed else "no action is possible now"
    return f"it is {status}; {possible}"


# Why a new upgrade is refused while the cluster's last one is unfinished. The
# real server only refuses `UPGRADE IN PROGRESS`, but a second plan on top of a
# paused, failed or rolling-back one leaves the cluster at mixed versions with
# nobody owning them, so kostyor-tui (and its embedded server) refuse those too.
START_BLOCKED_BY: dict[Status, str] = {
    Status.IN_PROGRESS: "an upgrade is already in progress",
    Status.PAUSED: "an upgrade is paused: continue, roll back or cancel it first",
    Status.ERROR: "the last upgrade failed: continue or roll it back first",
    Status.ROLLBACK_IN_PROGRESS: "a rollback is in progress",
}


class Readiness(StrEnum):
    """Whether a cluster can start an upgrade now (`check-upgrade`)."""

    READY = "ready"
    NOT_READY = "not ready"
    IN_PROGRESS = "in progress"


def start_refusal(
    status: Status, version: str | None, *, host_count: int | None = None
) -> tuple[Readiness, str] | None:
    """Why a cluster (its status, its version, how many hosts it has if known) cannot start
    an upgrade now, or None when it can."""
    if status in START_BLOCKED_BY:
        return Readiness.IN_PROGRESS, START_BLOCKED_BY[status]
    if not version or version == UNKNOWN_VERSION:
        return Readiness.NOT_READY, "the cluster's version is unknown"
    if status is Status.NOT_READY:
        return Readiness.NOT_READY, f"Kostyor reports the cluster {Status.NOT_READY}"
    if host_count == 0:
        return Readiness.NOT_READY, "the cluster has no hosts"
    return None


def readiness(
    status: Status, version: str | None, host_count: int, targets: Sequence[str]
) -> tuple[Readiness, str | None]:
    """`check-upgrade`'s answer: the same rule as `start_refusal`, and a release to go to."""
    refusal = start_refusal(status, version, host_count=host_count)
    if refusal is not None:
        return refusal
    if not targets:
        return Readiness.NOT_READY, f"no release later than {version} is known"
    return Readiness.READY, None


class UpgradeRecord(Protocol):
    """What the rules below read of an upgrade (an API model or a server row)."""

    @property
    def status(self) -> Status: ...
    @property
    def to_version(self) -> str | None: ...
    @property
    def upgrade_start_time(self) -> datetime | None: ...


class ClusterRecord(Protocol):
    @property
    def status(self) -> Status: ...
    @property
    def version(self) -> str | None: ...


U = TypeVar("U", bound=UpgradeRecord)


def newest_upgrade(upgrades: Sequence[U]) -> U | None:
    """A cluster's current upgrade: the latest start time, then the latest in the server's
    list; upgrades without a start time rank before any with one."""
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


def effective_status(upgrade: UpgradeRecord, cluster: ClusterRecord | None) -> Status:
    """The upgrade's status, or when the server left it null, the one its cluster implies
    (docs/kostyor-api.md#quirk-null-upgrade-status). Only meaningful for the cluster's
    current (newest) upgrade: the cluster says nothing about older ones."""
    if upgrade.status is not Status.UNKNOWN or cluster is None:
        return upgrade.status
    if cluster.status in UPGRADE_STATUSES:
        return cluster.status
    if (
        cluster.status is Status.READY
        and upgrade.to_version
        and cluster.version == upgrade.to_version
    ):
        return Status.SUCCEEDED
    return Status.UNKNOWN
