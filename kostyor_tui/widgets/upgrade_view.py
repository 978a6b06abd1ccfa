"""What the upgrade view says about an upgrade, as plain functions of a snapshot.

The answer to the one question an operator has at 2 a.m.: is it OK, what is it
doing, how long is left. Only what the server's data tells is shown: progress
where versions move (docs/kostyor-api.md#quirk-no-progress), the engine's order
and step where the server names its engine, a failure where its step log has
it; a finished upgrade says how it ended, never what it was doing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from textual.content import Content

from kostyor_tui.domain import fleet, progress
from kostyor_tui.domain.statuses import MOVING, UNFINISHED, Status
from kostyor_tui.domain.text import printable
from kostyor_tui.reports import FailedStep, failed_step
from kostyor_tui.service.snapshots import ClusterSnapshot
from kostyor_tui.widgets.badges import host_state_content, status_content
from kostyor_tui.widgets.keyed_table import Row

NO_PROGRESS = (
    "This server reports no per-instance progress: its status is all it tells "
    "(docs/kostyor-api.md#quirk-no-progress)."
)


def duration(span: timedelta | None) -> str:
    if span is None:
        return "—"
    seconds = max(0, int(span.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours:d}:{minutes:02d}:{seconds:02d}"


def failure(snapshot: ClusterSnapshot) -> FailedStep | None:
    return failed_step(snapshot.status or Status.UNKNOWN, snapshot.steps)


def rollback_counts(snapshot: ClusterSnapshot) -> tuple[int, int] | None:
    """(instances rolled back, instances to roll back in all) from the step log."""
    if snapshot.steps is None or snapshot.progress is None:
        return None
    rolled = sum(
        1 for step in snapshot.steps if step.direction == "rollback" and step.outcome == "done"
    )
    return rolled, rolled + snapshot.progress.services_upgraded


def eta(snapshot: ClusterSnapshot) -> timedelta | None:
    """Time left at the recent pace of this upgrade's own steps (the server's times), for
    an upgrade the engine is moving; None when nothing tells."""
    if snapshot.status not in MOVING or not snapshot.steps or snapshot.progress is None:
        return None
    direction = "rollback" if snapshot.status is Status.ROLLBACK_IN_PROGRESS else "upgrade"
    done_at = [
        step.at
        for step in snapshot.steps
        if step.direction == direction and step.outcome == "done" and step.at is not None
    ]
    pace = progress.recent_pace(done_at)
    if pace is None:
        return None
    done = snapshot.progress
    left = (
        done.services_upgraded
        if direction == "rollback"
        else (done.services_total - done.services_upgraded)
    )
    return pace * left


def title(name: str, snapshot: ClusterSnapshot | None, now: datetime) -> Content:
    parts: list[str | tuple[str, str]] = [(f"Upgrade of {printable(name)}", "bold")]
    if snapshot is None:
        return Content.assemble(*parts, ("  loading…", "$text-muted"))
    upgrade = snapshot.upgrade
    if upgrade is None:
        return Content.assemble(*parts, ("  no upgrade yet: u starts one", "$text-muted"))
    parts.append(
        f"  {printable(upgrade.from_version or '?')} → {printable(upgrade.to_version or '?')}  "
    )
    details = [f"id {printable(upgrade.id or '?')}"]
    details.append(f"engine {printable(upgrade.engine)}" if upgrade.engine else "engine not said")
    start = upgrade.upgrade_start_time
    if start is not None:
        details.append(f"started {start:%Y-%m-%d %H:%M:%S}")
        end = upgrade.upgrade_end_time
        if end is not None:
            details.append(f"took {duration(end - start)}")
        elif snapshot.status in UNFINISHED:
            # Counting on while paused or stuck too: the screen ticks (UpgradeScreen).
            details.append(f"elapsed {duration(now - start)}")
    return Content.assemble(
        *parts,
        status_content(snapshot.status),
        ("\n" + "  ·  ".join(details), "$text-muted"),
    )


def step_known(snapshot: ClusterSnapshot) -> bool:
    """Whether the step the engine is on can be known: the server reports progress and
    names the engine, whose order says which instance comes next. Otherwise no step, host
    or cursor position is shown as fact (docs/kostyor-api.md#quirk-no-progress)."""
    return snapshot.progress_reported and snapshot.engine_known and snapshot.progress is not None


def step_line(snapshot: ClusterSnapshot | None, stale: bool) -> Content:
    """Where the upgrade is, or how it ended; with the ETA while it moves."""
    if snapshot is None or snapshot.upgrade is None or snapshot.progress is None:
        return Content("")
    status = snapshot.status or Status.UNKNOWN
    done = snapshot.progress
    reported = snapshot.progress_reported
    target = printable(snapshot.upgrade.to_version or "?")
    origin = printable(snapshot.upgrade.from_version or "?")
    where = None
    if step_known(snapshot) and done.current_service is not None:
        where = f"{printable(done.current_service)} on {printable(done.current_host or 'no host')}"
    if status is Status.ERROR:
        failed = failure(snapshot)
        if failed is None:
            text = "✖ The upgrade failed; this server does not say where."
        else:
            at = f" at {failed.at:%H:%M:%S}" if failed.at else ""
            text = (
                f"✖ FAILED: {printable(failed.service or '?')} on "
                f"{printable(failed.host or '?')}{at}"
            )
        return Content.assemble(
            (text, "bold $error"), ("   c continues (retries it), b rolls back", "$text-muted")
        )
    if status is Status.SUCCEEDED:
        return Content.styled(f"✔ Succeeded: every instance at {target}", "bold $success")
    if status is Status.CANCELLED:
        if not reported:
            return Content.styled("■ Cancelled", "bold $warning")
        if done.services_upgraded == 0:
            return Content.styled(f"■ Cancelled: every instance back at {origin}", "bold $warning")
        return Content.styled(
            f"■ Cancelled: {done.services_upgraded} of {done.services_total} instances stay at "
            f"{target}, the rest at {origin}",
            "bold $warning",
        )
    if status is Status.PAUSED:
        text = f"⏸ Paused before {where}" if where else "⏸ Paused"
        return Content.assemble((text, "bold $secondary"), ("   c continues", "$text-muted"))
    if status in MOVING:
        verb = "Rolling back" if status is Status.ROLLBACK_IN_PROGRESS else "Step"
        text = f"{verb} {where}" if where else f"{verb}: where is not reported"
        left = eta(snapshot)
        if stale:
            return Content.assemble(text, ("   ETA — (the data is not current)", "$text-muted"))
        return Content.assemble(text, (f"   ETA {duration(left)}", "bold"))
    return Content(str(status))


@dataclass(frozen=True)
class Bar:
    label: str
    done: int
    total: int


def bars(snapshot: ClusterSnapshot | None) -> list[Bar] | None:
    """The progress bars, or None when no progress is reported (then NO_PROGRESS is shown
    instead) or there is no upgrade."""
    if snapshot is None or snapshot.upgrade is None or snapshot.progress is None:
        return None
    if not snapshot.progress_reported:
        return None
    done = snapshot.progress
    if snapshot.status is Status.ROLLBACK_IN_PROGRESS:
        counts = rollback_counts(snapshot)
        if counts is not None:
            return [Bar(f"Rolled back {counts[0]}/{counts[1]}", *counts)]
    return [
        Bar(
            f"Nodes {done.nodes_upgraded}/{done.nodes_total}", done.nodes_upgraded, done.nodes_total
        ),
        Bar(
            f"Services {done.services_upgraded}/{done.services_total}",
            done.services_upgraded,
            done.services_total,
        ),
    ]


def host_rows(snapshot: ClusterSnapshot) -> list[tuple[str, Row]]:
    """One row per host in engine order: where the upgrade is (▶) or failed (✖), the host's
    state, its services at the target version, its versions."""
    upgrade = snapshot.upgrade
    target = upgrade.to_version if upgrade else None
    names = snapshot.hostnames
    reported = snapshot.progress_reported
    status = snapshot.status or Status.UNKNOWN
    failed = failure(snapshot)
    done = snapshot.progress
    current = None
    if done is not None and step_known(snapshot) and status in {*MOVING, Status.PAUSED}:
        current = done.current_host
    rows: list[tuple[str, Row]] = []
    for host_id in snapshot.host_order:
        versions = snapshot.host_versions.get(host_id, {})
        total = sum(versions.values())
        name = names.get(host_id, host_id)
        if failed is not None and failed.host == name:
            marker, state = "✖", host_state_content(None, failed=True)
        elif current is not None and name == current:
            marker = "⏸" if status is Status.PAUSED else "▶"
            state = host_state_content(snapshot.host_states.get(host_id))
        else:
            marker = ""
            state = host_state_content(
                snapshot.host_states.get(host_id) if reported else None,
                finished=status not in UNFINISHED,
            )
        rows.append(
            (
                host_id,
                (
                    marker,
                    printable(name),
                    state,
                    f"{versions.get(target, 0) if target else 0}/{total}" if reported else "—",
                    fleet.format_version_counts(versions) or "—",
                ),
            )
        )
    return rows


def hosts_empty_note(name: str, snapshot: ClusterSnapshot, query: str) -> str:
    """Why the host table is empty, and what to do."""
    if query:
        return f"No host matches {printable(query)!r} (esc clears the search)."
    return (
        f"Kostyor has no host data for {printable(name)}: there is nothing to show per host. "
        "d discovers the cluster again with its hosts."
    )


def followed_host(snapshot: ClusterSnapshot) -> str | None:
    """The host id the view follows: the failed one, else the one the engine is on."""
    names = snapshot.hostnames
    failed = failure(snapshot)
    wanted = failed.host if failed is not None else None
    if (
        wanted is None
        and snapshot.progress is not None
        and step_known(snapshot)
        and snapshot.status in MOVING
    ):
        wanted = snapshot.progress.current_host
    if wanted is None:
        return None
    return next((host_id for host_id, name in names.items() if name == wanted), None)
