"""Rendering command results for headless mode, in the formats of python-openstackclient
(cliff): `-f table|json|yaml|value|csv|shell`, `-c COLUMN`, `--sort-column`,
`--max-width`, `--fit-width`, `--noindent`, `--quote`, and `--wide` for tables.

Plain string formatting and the standard library only (no rich, no Textual, no cliff):
headless mode must start fast; PyYAML is imported for `-f yaml` alone.

- The JSON and YAML forms of a report are its dataclass fields in order (the stable
  keys), timestamps ISO 8601, statuses in their canonical Kostyor spelling; `-c`
  keeps the selected keys. Both escape control characters by their own rules (and
  the JSON here also escapes DEL and the C1 controls, which JSON would let through).
- Every other format shows text that came from a server as data, never as terminal
  control: each cell goes through `printable` (`\\e`, `\\n`, `\\x07`).
- `table` is for people: a narrow set of columns by default (see `views`), `-` for
  nothing, `yes`/`no`, times to the second, version counts as `mitaka ×12`.
  `value`, `csv` and `shell` are for scripts: every column, the JSON spelling of
  each value (`true`, `2026-11-24T23:08:16.123011`, an empty string for null),
  lists joined by `,`, counts as `mitaka=12`.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Literal

from kostyor_tui.domain.fleet import format_version_counts
from kostyor_tui.domain.text import CONTROLS_BEYOND_C0, has_control_characters, printable
from kostyor_tui.headless.views import View
from kostyor_tui.reports import CurrentStep, UpgradeStatusReport, as_data

EMPTY = "-"
QUOTE_MODES: dict[str, Literal[0, 1, 2, 3]] = {
    "all": csv.QUOTE_ALL,
    "minimal": csv.QUOTE_MINIMAL,
    "none": csv.QUOTE_NONE,
    "nonnumeric": csv.QUOTE_NONNUMERIC,
}
# How many items of a long list a narrow table shows before the count.
LIST_SHOWN = 2
# The shortest an upgrade id is cut to in a narrow table (upgrade-status takes prefixes).
SHORT_ID = 8
# A column fitted to a width is never cut narrower than this (nor than its header, unless
# the headers alone are too wide).
MIN_COLUMN = 6


@dataclass(frozen=True)
class OutputOptions:
    """How to print: the cliff options, as parsed."""

    format: str = "table"
    columns: tuple[str, ...] = ()
    sort_columns: tuple[str, ...] = ()
    sort_descending: bool = False
    wide: bool = False
    max_width: int = 0
    fit_width: bool = False
    noindent: bool = False
    quote: str = "nonnumeric"
    prefix: str = ""


# Values: the human cell of a table, the machine text of value/csv/shell


def format_time(moment: datetime | None) -> str:
    return moment.isoformat(sep=" ", timespec="seconds") if moment else EMPTY


def format_versions(counts: Mapping[str, int]) -> str:
    """`mitaka ×12, newton ×3`."""
    return format_version_counts(counts) or EMPTY


def format_step(step: CurrentStep | None) -> str:
    if step is None:
        return EMPTY
    return " ".join(part for part in (step.host, step.service) if part) or EMPTY


def cell(value: Any) -> str:
    """A value as a table shows it to a person."""
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


def machine_text(value: Any) -> str:
    """A value as value/csv/shell print it: its JSON spelling, unquoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Mapping):
        return ",".join(f"{key}={machine_text(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ",".join(machine_text(item) for item in value)
    return str(value)


def abbreviate(items: Sequence[str], noun: str, shown: int = LIST_SHOWN) -> str:
    """A long list cut to its first few items and a count: `a, b, c, d, … (500 hosts)`."""
    names = [name for name in items if name]
    if len(names) <= shown + 1:
        return ", ".join(names) or EMPTY
    return f"{', '.join(names[:shown])}, … ({len(names)} {noun})"


def short_ids(ids: Sequence[str | None], shortest: int = SHORT_ID) -> int:
    """The shortest length, from `shortest` up, at which the ids are still unique."""
    known = [i for i in ids if i]
    length = shortest
    while length < max((len(i) for i in known), default=0):
        if len({i[:length] for i in known}) == len(set(known)):
            return length
        length += 1
    return max(length, shortest)


# Rows: a report as {column: value}


def value_at(item: Any, column: str) -> Any:
    """The value of a (dotted) column in a report; None under a null nested report."""
    value = item
    for part in column.split("."):
        if value is None:
            return None
        value = getattr(value, part)
    return value


def flat_row(item: Any, view: View, columns: Sequence[str]) -> dict[str, Any]:
    if view.report is None:
        return {view.value_column: item}
    return {column: value_at(item, column) for column in columns}


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (1, "")
    if isinstance(value, bool | int | float):
        return (0, value)
    if isinstance(value, datetime):
        return (0, value.isoformat())
    return (0, machine_text(value))


def sort_items(items: list[Any], view: View, options: OutputOptions) -> list[Any]:
    """The rows sorted by the sort columns, the first given first; stable otherwise."""
    if not options.sort_columns:
        return items

    def key(item: Any) -> list[tuple[int, Any]]:
        row = flat_row(item, view, view.columns)
        return [_sort_key(row[column]) for column in options.sort_columns]

    return sorted(items, key=key, reverse=options.sort_descending)


def shown_columns(view: View, options: OutputOptions) -> tuple[str, ...]:
    """The columns printed: `-c`'s; else in a table the narrow ones (all with --wide);
    else every column."""
    if options.columns:
        return view.select(options.columns)
    if options.format == "table" and not options.wide:
        return view.default_table_columns
    return view.columns


# JSON and YAML


def _picked(data: Any, columns: Sequence[str]) -> Any:
    """The JSON form of one report with only the selected (dotted) columns."""
    picked: dict[str, Any] = {}
    for column in columns:
        *parents, last = column.split(".")
        source, target = data, picked
        for part in parents:
            if source.get(part) is None:
                target[part] = None
                break
            source = source[part]
            target = target.setdefault(part, {})
            if target is None:
                break
        else:
            target[last] = source[last]
    return picked


def report_data(result: Any, view: View, options: OutputOptions) -> Any:
    """What json and yaml print: the report's JSON form, only `-c`'s keys if given."""
    columns = view.select(options.columns) if options.columns and view.report else None
    if view.many:
        items = sort_items(list(result), view, options)
        data = [as_data(item) for item in items]
        return [_picked(row, columns) for row in data] if columns else data
    data = as_data(result)
    return _picked(data, columns) if columns else data


_LEFT_RAW = re.compile(f"[{CONTROLS_BEYOND_C0}]")


def _json_safe(text: str) -> str:
    """JSON (or YAML's double-quoted) text with what those writers leave raw escaped too:
    DEL, the C1 controls, which a terminal may act on, and the characters that reorder
    text; still the same value."""
    return _LEFT_RAW.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def render_json_data(data: Any, *, indent: bool = True) -> str:
    if indent:
        return _json_safe(json.dumps(data, indent=2, ensure_ascii=False))
    return _json_safe(json.dumps(data, ensure_ascii=False))


def render_json_line(data: Any) -> str:
    """One JSON document on one line (JSON Lines, for `--watch`)."""
    return _json_safe(json.dumps(data, ensure_ascii=False, separators=(",", ":")))


def render_yaml_data(data: Any) -> str:
    import yaml  # only for -f yaml: it is not needed to start

    class Dumper(yaml.SafeDumper):
        pass

    def represent_str(dumper: yaml.SafeDumper, value: str) -> Any:
        # A string holding control characters is written double-quoted, where YAML
        # escapes every one of them (plain or single-quoted would keep some raw).
        style = '"' if has_control_characters(value) else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, represent_str)
    text = yaml.dump(
        data, Dumper=Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False
    )
    # Such characters are only in double-quoted strings (above), where \uXXXX is YAML.
    return _json_safe(text).rstrip("\n")


# Tables


def display_width(text: str) -> int:
    """Columns `text` takes on a terminal (wide East Asian characters count two)."""
    if text.isascii():
        return len(text)
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in "WF" else 1
    return width


def cut(text: str, width: int) -> str:
    """`text` cut to `width` columns, ending in `…` when something was left out."""
    if display_width(text) <= width:
        return text
    kept, used = [], 0
    for char in text:
        char_width = display_width(char)
        if used + char_width > width - 1:
            break
        kept.append(char)
        used += char_width
    return "".join(kept) + "…"


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def _fitted(widths: list[int], floors: list[int], limit: int, gaps: int) -> list[int]:
    """The column widths narrowed, widest first, until the line fits `limit`."""
    widths = list(widths)
    while sum(widths) + gaps > limit:
        candidates = [i for i, width in enumerate(widths) if width > floors[i]]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], limit: int | None = None) -> str:
    """Columns left-aligned to their widest cell, two spaces apart; no trailing spaces.
    A cell's control characters are shown as escapes: names come from a server. With a
    `limit`, the widest cells are cut (`…`) until each line fits in it."""
    rows = [[printable(text) for text in row] for row in rows]
    widths = [display_width(header) for header in headers]
    for row in rows:
        widths = [max(w, display_width(text)) for w, text in zip(widths, row, strict=True)]
    if limit:
        gaps = 2 * (len(headers) - 1)
        # The cells first, down to their header; then the headers too, if need be.
        floors = [max(MIN_COLUMN, display_width(header)) for header in headers]
        widths = _fitted(widths, floors, limit, gaps)
        widths = _fitted(widths, [min(w, MIN_COLUMN) for w in widths], limit, gaps)
    lines = []
    for row in (headers, *rows):
        cells = [_pad(cut(text, width), width) for text, width in zip(row, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def key_values(pairs: Sequence[tuple[str, str]], limit: int | None = None) -> str:
    """One `key  value` line per pair, values aligned; with a `limit`, values are cut."""
    if not pairs:
        return ""
    width = max(display_width(key) for key, _ in pairs)
    room = max(MIN_COLUMN, limit - width - 2) if limit else None
    lines = []
    for key, value in pairs:
        text = printable(value)
        if room is not None:
            text = cut(text, room)
        lines.append(f"{_pad(key, width)}  {text}".rstrip())
    return "\n".join(lines)


def _table_cell(view: View, column: str, value: Any, options: OutputOptions) -> str:
    if not options.wide and column in view.abbreviated:
        items = value.split(", ") if isinstance(value, str) else [cell(v) for v in value]
        return abbreviate(items, view.abbreviated[column])
    return cell(value)


def render_table(
    result: Any, view: View, options: OutputOptions, terminal_width: int | None = None
) -> str:
    """The human-readable form of any command's result."""
    limit = options.max_width or (terminal_width if options.fit_width else None)
    columns = shown_columns(view, options)
    if not view.many:
        return _with_note(_single_table(result, view, columns, options, limit), view, [result])
    items = sort_items(list(result), view, options)
    if not items:
        return "(none)"
    rows = [
        [_table_cell(view, c, v, options) for c, v in flat_row(item, view, columns).items()]
        for item in items
    ]
    if view.short_id and "id" in columns and not options.wide:
        index = list(columns).index("id")
        length = short_ids([row[index] for row in rows])
        for row in rows:
            row[index] = row[index][:length]
    return _with_note(table(list(columns), rows, limit), view, items)


def _with_note(text: str, view: View, items: Sequence[Any]) -> str:
    """The table, and the view's note about these items under it, if it has one."""
    note = view.note(items) if view.note is not None else None
    return f"{text}\n\n{printable(note)}" if note else text


def _single_table(
    result: Any, view: View, columns: Sequence[str], options: OutputOptions, limit: int | None
) -> str:
    pairs: list[tuple[str, str]] = []
    shown_null: set[str] = set()
    for column in columns:
        parts = column.split(".")
        # A null nested report is one line (`upgrade  -`), not one per column of it.
        null_parent = next(
            (
                ".".join(parts[:depth])
                for depth in range(1, len(parts))
                if value_at(result, ".".join(parts[:depth])) is None
            ),
            None,
        )
        if null_parent is not None:
            if null_parent not in shown_null:
                shown_null.add(null_parent)
                pairs.append((null_parent, EMPTY))
            continue
        pairs.append((column, _table_cell(view, column, value_at(result, column), options)))
    return key_values(pairs, limit)


# value, csv, shell


def _machine_rows(items: Sequence[Any], view: View, columns: Sequence[str]) -> list[list[Any]]:
    """Each row's cells for value/csv/shell: control characters escaped, numbers kept as
    numbers (for csv's quoting)."""
    rows = []
    for item in items:
        row: list[Any] = []
        for value in flat_row(item, view, columns).values():
            if isinstance(value, int) and not isinstance(value, bool):
                row.append(value)
            else:
                row.append(printable(machine_text(value)))
        rows.append(row)
    return rows


def _csv_text(header: Sequence[str] | None, rows: Sequence[Sequence[Any]], quote: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=QUOTE_MODES[quote], lineterminator="\n", escapechar="\\")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().rstrip("\n")


_NOT_A_NAME = re.compile(r"[^A-Za-z0-9_]")


def shell_name(prefix: str, column: str) -> str:
    """A column as a shell variable name: `upgrade.status` → `upgrade_status`."""
    return _NOT_A_NAME.sub("_", prefix + column)


def shell_quote(text: str) -> str:
    """Single-quoted for any POSIX shell: nothing inside is expanded."""
    return "'" + text.replace("'", "'\\''") + "'"


def _shell_assignments(row: Sequence[Any], columns: Sequence[str], prefix: str) -> list[str]:
    return [
        f"{shell_name(prefix, column)}={shell_quote(str(value))}"
        for column, value in zip(columns, row, strict=True)
    ]


def render_flat(result: Any, view: View, options: OutputOptions) -> str:
    """`value`, `csv` or `shell`: a list a row per line; one object as cliff's ShowOne
    prints it (value: a value per line; shell: an assignment per line; csv: a header
    and one row)."""
    columns = shown_columns(view, options)
    items = sort_items(list(result), view, options) if view.many else [result]
    rows = _machine_rows(items, view, columns)
    if options.format == "csv":
        return _csv_text(columns, rows, options.quote)
    if options.format == "value":
        if view.many:
            return "\n".join(" ".join(str(cell) for cell in row) for row in rows)
        return "\n".join(str(cell) for cell in rows[0])
    if view.many:
        return "\n".join(" ".join(_shell_assignments(row, columns, options.prefix)) for row in rows)
    return "\n".join(_shell_assignments(rows[0], columns, options.prefix))


def render(
    result: Any, view: View, options: OutputOptions, terminal_width: int | None = None
) -> str:
    """A command's result in the chosen format, without the final newline ("" if none)."""
    if options.format == "json":
        return render_json_data(report_data(result, view, options), indent=not options.noindent)
    if options.format == "yaml":
        return render_yaml_data(report_data(result, view, options))
    if options.format == "table":
        return render_table(result, view, options, terminal_width)
    return render_flat(result, view, options)


# upgrade-status --watch: one line (or document) per change


def render_watch_line(report: UpgradeStatusReport, now: datetime) -> str:
    """One line of `upgrade-status --watch`: when, status, progress, where it is."""
    line = f"{now.isoformat(sep=' ', timespec='seconds')}  {report.status}  "
    if report.progress_reported:
        line += (
            f"nodes {report.nodes_upgraded}/{report.nodes_total}  "
            f"services {report.services_upgraded}/{report.services_total}"
        )
    else:
        line += "this server reports no per-instance progress"
    if report.failure is not None:
        line += f"  FAILED at {report.failure.host} {report.failure.service}"
    if report.current is not None:
        line += f"  at {format_step(report.current)}"
    return printable(line)


def render_change(
    report: UpgradeStatusReport, view: View, options: OutputOptions, *, first: bool, now: datetime
) -> str:
    """What `--watch` prints for one change, in the chosen format: a line (table, value,
    shell, json: JSON Lines), a row (csv: the header first), a document (yaml: `---`)."""
    if options.format == "json":
        return render_json_line(report_data(report, view, options))
    if options.format == "yaml":
        return "---\n" + render_yaml_data(report_data(report, view, options))
    if options.format == "table":
        if not options.columns:
            return render_watch_line(report, now)
        cells = [cell(value_at(report, column)) for column in view.select(options.columns)]
        return printable("  ".join([now.isoformat(sep=" ", timespec="seconds"), *cells]))
    columns = shown_columns(view, options)
    (row,) = _machine_rows([report], view, columns)
    if options.format == "csv":
        return _csv_text(columns if first else None, [row], options.quote)
    if options.format == "value":
        return " ".join(str(value) for value in row)
    return " ".join(_shell_assignments(row, columns, options.prefix))
