"""The upgrade screen's parts: progress bars with ETA, host table rows, event log."""

from datetime import datetime, timedelta

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Log, ProgressBar

from kostyor_tui.domain import fleet, progress
from kostyor_tui.domain.statuses import Status
from kostyor_tui.service.snapshots import ClusterSnapshot, UpgradeEvent
from kostyor_tui.widgets.badges import host_state_text
from kostyor_tui.widgets.keyed_table import Row


def format_eta(left: timedelta | None) -> str:
    if left is None:
        return "ETA —"
    seconds = int(left.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"ETA {hours:d}:{minutes:02d}:{seconds:02d}"


def step_text(snapshot: ClusterSnapshot) -> str:
    done = snapshot.progress
    if done is None:
        return "Step —"
    if done.current_service is None:
        return "Step — (nothing left to do)"
    where = f"{done.current_service} on {done.current_host or 'no host'}"
    if snapshot.status is Status.CANCELLED:
        return f"Stopped before {where}"
    if snapshot.status is Status.ROLLBACK_IN_PROGRESS:
        return f"Rolling back {where}"
    return f"Step {where}"


def upgrade_host_rows(snapshot: ClusterSnapshot) -> list[tuple[str, Row]]:
    """One row per host in engine order: state, services at the target version, current step."""
    upgrade = snapshot.upgrade
    target = upgrade.to_version if upgrade else None
    names = snapshot.hostnames
    current = snapshot.progress.current_host if snapshot.progress else None
    rows = []
    for host_id in snapshot.host_order:
        versions = snapshot.host_versions.get(host_id, {})
        total = sum(versions.values())
        name = names.get(host_id, host_id)
        marker = "▶" if current is not None and name == current else ""
        rows.append(
            (
                host_id,
                (
                    marker,
                    name,
                    host_state_text(snapshot.host_states.get(host_id)),
                    f"{versions.get(target, 0) if target else 0}/{total}",
                    fleet.format_version_counts(versions) or "—",
                ),
            )
        )
    return rows


def event_line(event: UpgradeEvent) -> str:
    return f"{event.at:%H:%M:%S}  {event.text}"


class ProgressPanel(Vertical):
    """Nodes and services bars, ETA at the pace so far, and the current step."""

    DEFAULT_CSS = """
    ProgressPanel { height: auto; }
    ProgressPanel Horizontal { height: 1; }
    ProgressPanel .bar-label { width: 22; }
    ProgressPanel ProgressBar { width: 1fr; }
    ProgressPanel #step-line { color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label("Nodes", id="nodes-label", classes="bar-label")
            yield ProgressBar(id="nodes-bar", show_eta=False)
        with Horizontal():
            yield Label("Services", id="services-label", classes="bar-label")
            yield ProgressBar(id="services-bar", show_eta=False)
        yield Label("", id="step-line")

    def show(self, snapshot: ClusterSnapshot | None, now: datetime) -> None:
        done = snapshot.progress if snapshot else None
        nodes = self.query_one("#nodes-bar", ProgressBar)
        services = self.query_one("#services-bar", ProgressBar)
        if snapshot is None or done is None:
            nodes.update(total=None, progress=0)
            services.update(total=None, progress=0)
            self.query_one("#nodes-label", Label).update("Nodes —")
            self.query_one("#services-label", Label).update("Services —")
            self.query_one("#step-line", Label).update("No upgrade")
            return
        nodes.update(total=max(done.nodes_total, 1), progress=done.nodes_upgraded)
        services.update(total=max(done.services_total, 1), progress=done.services_upgraded)
        self.query_one("#nodes-label", Label).update(
            f"Nodes {done.nodes_upgraded}/{done.nodes_total}"
        )
        self.query_one("#services-label", Label).update(
            f"Services {done.services_upgraded}/{done.services_total}"
        )
        line = Text(step_text(snapshot))
        if snapshot.status is Status.IN_PROGRESS:
            start = snapshot.upgrade.upgrade_start_time if snapshot.upgrade else None
            left = progress.eta(start, now, done.services_upgraded, done.services_total)
            line.append(f"   {format_eta(left)}", style="bold")
        else:
            # The pace so far says nothing while paused, failed or going backwards.
            line.append(f"   ETA — ({snapshot.status or 'unknown'})", style="#8a8a8a")
        self.query_one("#step-line", Label).update(line)


class EventLog(Log):
    """Timestamped log of every change the poller saw."""

    def add_events(self, events: tuple[UpgradeEvent, ...]) -> None:
        if events:
            self.write_lines([event_line(event) for event in events])
