"""Rendering command results for headless mode: aligned plain-text tables and JSON.

Plain string formatting only (no rich, no Textual): headless mode must start fast.
The JSON form of a report is its dataclass fields in order (the stable keys);
timestamps are ISO 8601, statuses their canonical Kostyor spelling.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from kostyor_tui.domain.fleet import format_version_counts
from kostyor_tui.domain.text import printable
from kostyor_tui.reports import (
    ClusterStatusReport,
    ClusterSummary,
    ComponentVersionRow,
    CurrentStep,
    FailedStep,
    HostRow,
    UpgradeCheck,
    UpgradeStatusReport,
    UpgradeSummary,
    as_data,
)

EMPTY = "-"


# JSON


def render_json(result: Any) -> str:
    """One JSON document, indented for people who read it too."""
    return json.dumps(as_data(result), indent=2, ensure_ascii=False)


def render_json_line(result: Any) -> str:
    """One JSON document on one line (JSON Lines, for `--watch`)."""
    return json.dumps(as_data(result), ensure_ascii=False, separators=(",", ":"))


# Values as table cells


def format_time(moment: datetime | None) -> str:
    return moment.isoformat(sep=" ", timespec="seconds") if moment else EMPTY


def format_versions(counts: Mapping[str, int]) -> str:
    """`mitaka ×12, newton ×3`."""
    return format_version_counts(counts) or EMPTY


def format_step(step: CurrentStep | None) -> str:
    if step is None:
        return EMPTY
    return " ".join(part for part in (step.host, step.service) if part) or EMPTY


def format_failure(failure: FailedStep | None) -> str:
    if failure is None:
        return EMPTY
    where = " ".join(part for part in (failure.host, failure.service) if part) or "?"
    return f"{where} at {format_time(failure.at)}" if failure.at else where


NO_PROGRESS = "this server reports no per-instance progress"


def _count(done: int | None, total: int) -> str:
    """`3/13`, or `- of 13` where the server reports nothing
    (docs/kostyor-api.md#quirk-no-progress)."""
    if done is None:
        return f"- of {total}"
    return f"{done}/{total}"


def cell(value: Any) -> str:
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, Mapping):
        return format_versions(value)
    if isinstance(value, list | tuple):
        return ", ".join(cell(item) for item in value) or EMPTY
    if isinstance(value, CurrentStep):
        return format_step(value)
    return str(value)


def abbreviate_hosts(names: Sequence[str], shown: int = 4) -> str:
    """A long host list cut to its first few names and a count."""
    if len(names) <= shown + 1:
        return cell(list(names))
    return f"{', '.join(names[:shown])}, … ({len(names)} hosts)"


# Tables


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns left-aligned to their widest cell, two spaces apart; no trailing spaces.
    A cell's control characters are shown as escapes: names come from a server."""
    rows = [[printable(text) for text in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in rows:
        widths = [max(width, len(text)) for width, text in zip(widths, row, strict=True)]
    lines = []
    for row in (headers, *rows):
        line = "  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True))
        lines.append(line.rstrip())
    return "\n".join(lines)


def key_values(pairs: Sequence[tuple[str, str]]) -> str:
    width = max(len(key) for key, _ in pairs)
    return "\n".join(f"{key.ljust(width)}  {printable(value)}".rstrip() for key, value in pairs)


# Columns of each list report: (header, how to get the cell).
Column = tuple[str, Callable[[Any], str]]

_COLUMNS: dict[type, tuple[Column, ...]] = {
    ClusterSummary: (
        ("NAME", lambda c: cell(c.name)),
        ("ID", lambda c: cell(c.id)),
        ("VERSION", lambda c: cell(c.version)),
        ("STATUS", lambda c: cell(c.status)),
    ),
    # The long cells go last, so that they do not push the others apart.
    ComponentVersionRow: (
        ("COMPONENT", lambda r: r.component),
        ("VERSION", lambda r: cell(r.version)),
        ("UPGRADABLE", lambda r: cell(r.upgradable)),
        ("HOSTS", lambda r: abbreviate_hosts(r.hosts)),
    ),
    HostRow: (
        ("HOST", lambda h: cell(h.hostname)),
        ("ID", lambda h: cell(h.id)),
        ("VERSIONS", lambda h: cell(h.versions)),
        ("SERVICES", lambda h: cell(h.services)),
    ),
    UpgradeSummary: (
        ("ID", lambda u: cell(u.id)),
        ("CLUSTER", lambda u: cell(u.cluster_id)),
        ("STATUS", lambda u: status_cell(u)),
        ("FROM", lambda u: cell(u.from_version)),
        ("TO", lambda u: cell(u.to_version)),
        ("STARTED", lambda u: format_time(u.upgrade_start_time)),
        ("ENDED", lambda u: format_time(u.upgrade_end_time)),
    ),
}


def _list_table(items: Sequence[Any]) -> str:
    if not items:
        return "(none)"
    if isinstance(items[0], str):
        return "\n".join(printable(item) for item in items)
    columns = _COLUMNS[type(items[0])]
    return table(
        [header for header, _ in columns], [[get(item) for _, get in columns] for item in items]
    )


def _component_table(rows: Sequence[ComponentVersionRow]) -> str:
    text = _list_table(rows)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.component] = counts.get(row.component, 0) + 1
    mixed = [component for component, count in counts.items() if count > 1]
    if mixed:
        text += f"\n\nat more than one version: {', '.join(mixed)}"
    return text


def _progress_pairs(report: UpgradeStatusReport) -> list[tuple[str, str]]:
    return [
        ("status", report.status),
        ("from", cell(report.from_version)),
        ("to", cell(report.to_version)),
        ("started", format_time(report.upgrade_start_time)),
        ("ended", format_time(report.upgrade_end_time)),
        ("engine", cell(report.engine)),
        *([] if report.progress_reported else [("progress", NO_PROGRESS)]),
        ("nodes upgraded", _count(report.nodes_upgraded, report.nodes_total)),
        ("services upgraded", _count(report.services_upgraded, report.services_total)),
        ("current", format_step(report.current)),
        ("failed at", format_failure(report.failure)),
    ]


def _upgrade_status_table(report: UpgradeStatusReport) -> str:
    return key_values(
        [
            ("upgrade", cell(report.id)),
            ("cluster", cell(report.cluster_id)),
            *_progress_pairs(report),
        ]
    )


def _cluster_status_table(report: ClusterStatusReport) -> str:
    pairs = [
        ("name", cell(report.name)),
        ("id", cell(report.id)),
        ("region", cell(report.region)),
        ("version", cell(report.version)),
        ("versions", format_versions(report.versions)),
        ("state", report.state),
        ("status", report.status),
    ]
    if report.upgrade is None:
        pairs.append(("upgrade", "none"))
    else:
        pairs.append(("upgrade", cell(report.upgrade.id)))
        pairs += [(f"  {key}", value) for key, value in _progress_pairs(report.upgrade)]
    return key_values(pairs)


def _check_table(check: UpgradeCheck) -> str:
    pairs = [("state", check.state), ("versions", cell(check.versions))]
    if check.reason:
        pairs.append(("reason", check.reason))
    return key_values(pairs)


def _cluster_table(cluster: ClusterSummary) -> str:
    return key_values(
        [
            ("name", cell(cluster.name)),
            ("id", cell(cluster.id)),
            ("version", cell(cluster.version)),
            ("status", cluster.status),
        ]
    )


def status_cell(upgrade: UpgradeSummary) -> str:
    """The status, marked when the client worked it out from the cluster's."""
    if upgrade.status_from == "cluster":
        return f"{upgrade.status} (from the cluster)"
    return upgrade.status


def _upgrade_table(upgrade: UpgradeSummary) -> str:
    return key_values(
        [
            ("upgrade", cell(upgrade.id)),
            ("cluster", cell(upgrade.cluster_id)),
            ("status", status_cell(upgrade)),
            ("from", cell(upgrade.from_version)),
            ("to", cell(upgrade.to_version)),
            ("started", format_time(upgrade.upgrade_start_time)),
            ("ended", format_time(upgrade.upgrade_end_time)),
        ]
    )


_SINGLE: dict[type, Callable[[Any], str]] = {
    ClusterStatusReport: _cluster_status_table,
    UpgradeStatusReport: _upgrade_status_table,
    UpgradeCheck: _check_table,
    ClusterSummary: _cluster_table,
    UpgradeSummary: _upgrade_table,
}


def render_table(result: Any) -> str:
    """The human-readable form of any command's result."""
    if isinstance(result, list):
        if result and isinstance(result[0], ComponentVersionRow):
            return _component_table(result)
        return _list_table(result)
    return _SINGLE[type(result)](result)


def render_watch_line(report: UpgradeStatusReport, now: datetime) -> str:
    """One line of `upgrade-status --watch`: when, status, progress, where it is."""
    line = f"{now.isoformat(sep=' ', timespec='seconds')}  {report.status}  "
    if report.progress_reported:
        line += (
            f"nodes {report.nodes_upgraded}/{report.nodes_total}  "
            f"services {report.services_upgraded}/{report.services_total}"
        )
    else:
        line += NO_PROGRESS
    if report.current is not None:
        line += f"  at {format_step(report.current)}"
    return printable(line)
