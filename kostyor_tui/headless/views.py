"""What each command's output looks like as columns: their names, and the narrow set a table
shows by default.

A column is a JSON key of the command's report; a key of a nested report is dotted
(`upgrade.status`, `current.host`), as the console's report dialog shows it. The
columns of a report are read from its dataclass, so they are the same whatever the
data (a null nested report still has its columns, empty). `-c/--column` and
`--sort-column` name columns; `-c upgrade` selects every `upgrade.*` column.

A *narrow* table (the default) leaves out the UUIDs of things that have a name and
the long or rarely needed columns; `--wide`, `-c` and every other format show
everything asked for, in the report's own order.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kostyor_tui import reports
from kostyor_tui.errors import UsageError

# The output formats (cliff's), and csv's quoting modes (`--quote`).
FORMATS: tuple[str, ...] = ("table", "json", "yaml", "value", "csv", "shell")
QUOTE_NAMES: tuple[str, ...] = ("all", "minimal", "none", "nonnumeric")


@dataclass(frozen=True)
class View:
    """How one command's result is shown.

    `report` is the dataclass of the result (of each row when `many`); None for a list
    of plain strings, whose one column is `value_column`. `narrow` lists the columns a
    table shows by default, in the order shown.
    """

    report: type | None
    many: bool
    narrow: tuple[str, ...] = ()
    value_column: str = "value"
    # Narrow tables cut these list columns to a few items and a count of these nouns.
    abbreviated: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # Narrow tables cut the id column to the shortest unique prefix (of 8 or more).
    short_id: bool = False
    # A line printed under the table, from its rows (or None).
    note: Callable[[Sequence[Any]], str | None] | None = None

    @functools.cached_property
    def columns(self) -> tuple[str, ...]:
        """Every column, in the report's order."""
        if self.report is None:
            return (self.value_column,)
        return tuple(flat_fields(self.report))

    @property
    def default_table_columns(self) -> tuple[str, ...]:
        return self.narrow or self.columns

    def select(self, names: Sequence[str]) -> tuple[str, ...]:
        """The columns `-c` names ask for, in the report's order; a nested report's name
        stands for all its columns. Unknown names are a usage error listing the columns."""
        wanted: set[str] = set()
        for name in names:
            matches = [c for c in self.columns if c == name or c.startswith(name + ".")]
            if not matches:
                raise UsageError(
                    f"unknown column {name!r}; columns: {', '.join(self.columns)}",
                )
            wanted.update(matches)
        return tuple(column for column in self.columns if column in wanted)

    def check_sort(self, names: Sequence[str]) -> tuple[str, ...]:
        for name in names:
            if name not in self.columns:
                raise UsageError(
                    f"unknown sort column {name!r}; columns: {', '.join(self.columns)}"
                )
        return tuple(names)


def flat_fields(report: type, prefix: str = "") -> list[str]:
    """The dotted column names of a report dataclass (nested report dataclasses expanded)."""
    hints = typing.get_type_hints(report)
    names: list[str] = []
    for field in dataclasses.fields(report):
        nested = _nested_report(hints[field.name])
        if nested is not None:
            names += flat_fields(nested, f"{prefix}{field.name}.")
        else:
            names.append(prefix + field.name)
    return names


def _nested_report(hint: Any) -> type | None:
    """The report dataclass a field holds (`X` or `X | None`), or None."""
    candidates = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for candidate in candidates:
        if dataclasses.is_dataclass(candidate) and isinstance(candidate, type):
            return candidate
    return None


def _mixed_versions(rows: Sequence[reports.ComponentVersionRow]) -> str | None:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.component] = counts.get(row.component, 0) + 1
    mixed = [component for component, count in counts.items() if count > 1]
    return f"at more than one version: {', '.join(mixed)}" if mixed else None


def _no_progress(rows: Sequence[reports.UpgradeStatusReport]) -> str | None:
    """Said under an upgrade's table where its counts are empty for want of news
    (docs/kostyor-api.md#quirk-no-progress)."""
    if any(not row.progress_reported for row in rows):
        return "this server reports no per-instance progress"
    return None


_UPGRADE_SUMMARY_NARROW = (
    "id",
    "cluster_name",
    "status",
    "from_version",
    "to_version",
    "upgrade_start_time",
    "upgrade_end_time",
)
_UPGRADE_ACTION = View(reports.UpgradeSummary, many=False, narrow=_UPGRADE_SUMMARY_NARROW)

VIEWS: dict[str, View] = {
    "list-clusters": View(reports.ClusterSummary, many=True, narrow=("name", "version", "status")),
    "cluster-status": View(
        reports.ClusterStatusReport,
        many=False,
        narrow=(
            "name",
            "region",
            "version",
            "versions",
            "state",
            "status",
            "upgrade.id",
            "upgrade.status",
            "upgrade.from_version",
            "upgrade.to_version",
            "upgrade.nodes_upgraded",
            "upgrade.nodes_total",
            "upgrade.services_upgraded",
            "upgrade.services_total",
            "upgrade.current.host",
            "upgrade.current.service",
            "upgrade.failure.host",
            "upgrade.failure.service",
        ),
        note=lambda rows: _no_progress([row.upgrade for row in rows if row.upgrade]),
    ),
    # The long cell (the hosts) last, so that it does not push the others apart.
    "cluster-component-list": View(
        reports.ComponentVersionRow,
        many=True,
        narrow=("component", "version", "upgradable", "hosts"),
        abbreviated={"hosts": "hosts"},
        note=_mixed_versions,
    ),
    "list-hosts": View(
        reports.HostRow,
        many=True,
        narrow=("hostname", "versions", "services"),
        abbreviated={"services": "services"},
    ),
    "check-upgrade": View(reports.UpgradeCheck, many=False),
    "list-upgrade-versions": View(None, many=True, value_column="version"),
    "list-discovery-methods": View(None, many=True, value_column="method"),
    "discover-cluster": View(reports.ClusterSummary, many=False),
    "upgrade-cluster": _UPGRADE_ACTION,
    "upgrade-status": View(
        reports.UpgradeStatusReport,
        many=False,
        narrow=(
            "id",
            "cluster_name",
            "status",
            "from_version",
            "to_version",
            "engine",
            "nodes_upgraded",
            "nodes_total",
            "services_upgraded",
            "services_total",
            "current.host",
            "current.service",
            "failure.host",
            "failure.service",
            "failure.at",
            "upgrade_start_time",
            "upgrade_end_time",
        ),
        note=_no_progress,
    ),
    "list-upgrades": View(
        reports.UpgradeSummary,
        many=True,
        narrow=("id", "cluster_name", "status", "from_version", "to_version", "upgrade_start_time"),
        short_id=True,
    ),
    "upgrade-pause": _UPGRADE_ACTION,
    "upgrade-continue": _UPGRADE_ACTION,
    "upgrade-rollback": _UPGRADE_ACTION,
    "upgrade-cancel": _UPGRADE_ACTION,
}

# `--all-profiles`: the commands that take it, and their rows (a `profile` column first).
ALL_PROFILES_VIEWS: dict[str, View] = {
    "list-clusters": View(
        reports.ProfileClusterSummary, many=True, narrow=("profile", "name", "version", "status")
    ),
}
