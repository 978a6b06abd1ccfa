"""`upgrade-status --watch` and `--wait`: follow an upgrade until it ends, through short
outages of the API, and say how it ended in an exit code.

- Polls at the profile's `poll_interval`; each change is handed to the caller
  (`--watch` prints it, `--wait` keeps quiet).
- After the first good read, an outage (no connection, a timeout, 429/503 busy, a
  502/504 from a proxy) is retried with backoff, doubling up to `MAX_BACKOFF`
  seconds (longer if the server asks, by Retry-After), and said on stderr; any other
  failure ends the follow at once with its own exit code, as a first failed read does.
- It ends when the upgrade is no longer in progress, paused or rolling back; or when
  `--timeout` has passed; or when nothing has changed for `--idle-timeout` seconds
  (default `DEFAULT_IDLE_TIMEOUT`): on the real server nothing ever moves, and a
  rollback never finishes (docs/kostyor-api.md#quirk-no-progress), so a follow must not
  wait forever on a state nothing will change.
- `outcome_error` turns the final report into what the exit code must say: nothing for
  a success, else `UpgradeFailed`, `UpgradeCancelled` or `UpgradeRolledBack` (a
  rollback ends `UPGRADE CANCELLED`; it is told apart by having been seen rolling back,
  or by the step log of a server that keeps one).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kostyor_tui.api.errors import Busy, KostyorError, ServerError, Unreachable
from kostyor_tui.commands import DEFAULT_IDLE_TIMEOUT, upgrade_status_report
from kostyor_tui.domain.statuses import Status
from kostyor_tui.errors import (
    GaveUpWaiting,
    KostyorTuiError,
    UpgradeCancelled,
    UpgradeEnded,
    UpgradeFailed,
    UpgradeRolledBack,
)
from kostyor_tui.operations import Operations
from kostyor_tui.reports import UpgradeStatusReport

if TYPE_CHECKING:
    from kostyor_tui.api.models import Upgrade

MAX_BACKOFF = 30.0
# Gateways answer these while the API behind them restarts.
_GATEWAY_CODES = (502, 503, 504)


@dataclass(frozen=True)
class Limits:
    """How often to poll, and when to give up (None: never)."""

    interval: float
    timeout: float | None = None
    idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT


def transient(failure: KostyorError) -> bool:
    """A failure a follow waits out: the API is away or busy, not wrong."""
    if isinstance(failure, Unreachable | Busy):
        return True
    return isinstance(failure, ServerError) and failure.status_code in _GATEWAY_CODES


@dataclass
class Followed:
    """The end of a follow: the last report, and whether it was seen rolling back."""

    report: UpgradeStatusReport
    rolled_back: bool


def follow(
    ops: Operations,
    upgrade: Upgrade,
    limits: Limits,
    *,
    on_change: Callable[[UpgradeStatusReport], None],
    narrate: Callable[[str], None],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Followed:
    """Read the upgrade until it ends; `on_change` gets the first report and every change.
    Raises GaveUpWaiting when a limit runs out, or the failure that ended it."""
    started = clock()
    report = upgrade_status_report(ops, upgrade)
    cluster_name = report.cluster_name
    upgrade_id = upgrade.id or ""
    on_change(report)
    last_change = clock()
    rolled_back = report.status == Status.ROLLBACK_IN_PROGRESS
    failures = 0
    outage_since = 0.0
    wait = limits.interval
    while not report.finished:
        now = clock()
        gave_up = _limit_reached(limits, now - started, now - last_change)
        if gave_up is not None:
            raise _gave_up(report, gave_up, limits)
        sleep(_until_a_limit(limits, wait, now - started, now - last_change))
        try:
            current = upgrade_status_report(ops, upgrade_id, cluster_name)
        except KostyorError as failure:
            if not transient(failure):
                raise
            now = clock()
            if not failures:
                outage_since = now
            failures += 1
            wait = min(MAX_BACKOFF, limits.interval * 2 ** (failures - 1))
            if isinstance(failure, Busy) and failure.retry_after:
                wait = max(wait, failure.retry_after)
            away = now - outage_since
            if _limit_reached(limits, now - started, now - last_change) is not None:
                raise failure.restated(
                    f"{failure.message} (gave up following upgrade {upgrade_id} after "
                    f"{away:.0f} s without an answer)",
                    hint=failure.hint,
                ) from None
            narrate(
                f"cannot read upgrade {upgrade_id} ({failure.message}); retrying in "
                f"{wait:g} s" + (f", away for {away:.0f} s" if failures > 1 else "")
            )
            continue
        wait = limits.interval
        if failures:
            narrate(f"the API answers again after {clock() - outage_since:.0f} s")
            failures = 0
        if current != report:
            report = current
            last_change = clock()
            on_change(report)
            if report.status == Status.ROLLBACK_IN_PROGRESS:
                rolled_back = True
    return Followed(report, rolled_back)


def _limit_reached(limits: Limits, elapsed: float, idle: float) -> str | None:
    if limits.timeout is not None and elapsed >= limits.timeout:
        return "timeout"
    if limits.idle_timeout and idle >= limits.idle_timeout:
        return "idle"
    return None


def _until_a_limit(limits: Limits, wait: float, elapsed: float, idle: float) -> float:
    """`wait`, cut so that a limit running out is noticed when it does."""
    left = [wait]
    if limits.timeout is not None:
        left.append(limits.timeout - elapsed)
    if limits.idle_timeout:
        left.append(limits.idle_timeout - idle)
    return max(0.0, min(left))


def _gave_up(report: UpgradeStatusReport, why: str, limits: Limits) -> GaveUpWaiting:
    name = f"upgrade {report.id} of {report.cluster_name or report.cluster_id}"
    if why == "timeout":
        reason = f"it has not ended after {limits.timeout:g} s (--timeout)"
    else:
        reason = f"nothing has changed for {limits.idle_timeout:g} s (--idle-timeout)"
    hint = "raise --timeout or --idle-timeout (--idle-timeout 0: never give up for that)"
    if report.status == Status.ROLLBACK_IN_PROGRESS:
        hint = (
            "a real Kostyor server never finishes a rollback: cancel it (upgrade-cancel), "
            f"or {hint}"
        )
    elif report.status == Status.PAUSED:
        hint = f"it is paused: continue it with upgrade-continue, or {hint}"
    elif not report.progress_reported:
        hint = (
            "this server reports no per-instance progress and a real Kostyor server never"
            " ends an upgrade by itself: waiting longer will not help; check the cloud, then"
            " cancel it (upgrade-cancel)"
        )
    return GaveUpWaiting(f"Gave up waiting for {name}: {reason}; it is {report.status}", hint=hint)


def outcome_error(ops: Operations, followed: Followed) -> KostyorTuiError | None:
    """What the exit code must say about how the followed upgrade ended (None: success)."""
    report = followed.report
    name = f"upgrade {report.id} of {report.cluster_name or report.cluster_id}"
    status = report.status
    if status == Status.SUCCEEDED:
        return None
    if status == Status.ERROR:
        where = ""
        if report.current is not None:
            where = " at " + " ".join(p for p in (report.current.host, report.current.service) if p)
        return UpgradeFailed(
            f"The {name} failed{where}: it is {status}",
            hint="continue it with upgrade-continue (the failed step is retried), or roll it "
            "back with upgrade-rollback",
        )
    if status == Status.CANCELLED:
        if followed.rolled_back or _rolled_back_by_steps(ops, report.id):
            return UpgradeRolledBack(f"The {name} was rolled back: it is {status}")
        return UpgradeCancelled(f"The {name} was cancelled: it is {status}")
    return UpgradeEnded(
        f"The {name} ended in a status kostyor-tui does not know: {status}",
        hint="check it with upgrade-status and the server's log",
    )


def _rolled_back_by_steps(ops: Operations, upgrade_id: str | None) -> bool:
    """Whether the server's step log (the embedded server keeps one) shows a rollback."""
    if not upgrade_id:
        return False
    try:
        steps = ops.client.upgrade_steps(upgrade_id)
    except KostyorError:
        return False
    return any(step.direction == "rollback" for step in steps or ())
