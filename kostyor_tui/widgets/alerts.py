"""What deserves the operator's attention when the fleet changes: an upgrade that failed,
paused or ended. The app rings the terminal bell for these (profile key `bell`) and says
which cluster in a toast."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from textual.notifications import SeverityLevel

from kostyor_tui.api.models import Cluster
from kostyor_tui.domain.statuses import UNFINISHED, Status
from kostyor_tui.domain.text import printable


@dataclass(frozen=True)
class Alert:
    cluster_id: str
    text: str
    severity: SeverityLevel


def cluster_statuses(clusters: Iterable[Cluster]) -> dict[str, Status]:
    return {cluster.id: cluster.status for cluster in clusters if cluster.id}


def alerts(before: Mapping[str, Status], clusters: Iterable[Cluster]) -> list[Alert]:
    """The changes since `before` that call for the bell. A cluster seen for the first time
    rings nothing: only a change the console watched happen does."""
    found: list[Alert] = []
    for cluster in clusters:
        old = before.get(cluster.id or "")
        new = cluster.status
        if old is None or old == new or not cluster.id:
            continue
        name = printable(cluster.name or cluster.id)
        if new is Status.ERROR:
            found.append(Alert(cluster.id, f"✖ The upgrade of {name} failed", "error"))
        elif new is Status.PAUSED:
            found.append(Alert(cluster.id, f"⏸ The upgrade of {name} is paused", "warning"))
        elif old in UNFINISHED and new not in UNFINISHED:
            ended = f"The upgrade of {name} has ended: {printable(new)}"
            found.append(Alert(cluster.id, ended, "information"))
    return found
