"""Every format and output flag on every command of the registry, against the embedded
server over real HTTP.

Read commands run against a frozen fleet (an hour a step: nothing moves between two
runs), so that each format can be compared with the JSON form of the same answer:
YAML must load to it, value/csv/shell must spell each of its cells, a table must show
the narrow columns. Commands that change something run as a chain per format on a
server of their own: discover, start, pause, continue, roll back; discover, start,
cancel. Then the things scripts do for real: `-f value -c id` piped into a second
command, `eval` of `-f shell`, csv with commas and quotes read back.
"""

import csv
import io
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from kostyor_tui.commands import COMMANDS
from kostyor_tui.headless.render import display_width
from kostyor_tui.headless.views import FORMATS, VIEWS, View
from kostyor_tui.server.runner import BackgroundServer
from tests.headless.conftest import CliResult
from tests.headless.test_commands import key_value_lines, table_rows
from tests.support.servers import running_server

Cli = Callable[..., CliResult]
CONSOLE_SCRIPT = Path(sys.executable).with_name("kostyor-tui")

# Read commands and their words on the demo fleet (home_lab has an upgrade under way).
READ = {
    "list-clusters": [],
    "cluster-status": ["home_lab"],
    "cluster-component-list": ["home_lab"],
    "list-hosts": ["home_lab"],
    "check-upgrade": ["staging"],
    "list-upgrade-versions": ["home_lab"],
    "list-discovery-methods": [],
    "upgrade-status": ["home_lab"],
    "list-upgrades": [],
}
CHAIN = [
    "discover-cluster",
    "upgrade-cluster",
    "upgrade-pause",
    "upgrade-continue",
    "upgrade-rollback",
    "upgrade-cancel",
]


def test_the_registry_is_covered() -> None:
    assert set(READ) | set(CHAIN) == set(COMMANDS) == set(VIEWS)
    assert set(READ) == {name for name, command in COMMANDS.items() if not command.mutating}


@pytest.fixture(scope="module")
def frozen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    db_path = tmp_path_factory.mktemp("formats") / "fleet.sqlite3"
    with running_server(db_path, step_seconds=3600) as server:
        home_lab = next(
            c for c in httpx.get(f"{server.url}/clusters").json() if c["name"] == "home_lab"
        )
        started = httpx.post(
            f"{server.url}/upgrades", json={"cluster_id": home_lab["id"], "to_version": "newton"}
        )
        assert started.status_code == 201
        yield server


def run(cli: Cli, server: BackgroundServer, *argv: str) -> str:
    result = cli("--api-url", server.url, "--command", *argv)
    assert result.code == 0, result.err
    assert result.err == ""
    return result.out


# What each format must say, from the JSON form


def machine(value: Any) -> str:
    """The JSON value as value/csv/shell spell it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return ",".join(f"{key}={machine(item)}" for key, item in value.items())
    if isinstance(value, list):
        return ",".join(machine(item) for item in value)
    return str(value)


def at(data: Any, column: str) -> Any:
    for part in column.split("."):
        if data is None:
            return None
        data = data[part]
    return data


def cells(data: Any, view: View, columns: tuple[str, ...]) -> list[list[str]]:
    """The rows of cells the JSON form `data` gives, as value/csv/shell print them."""
    rows = data if view.many else [data]
    if view.report is None:
        return [[machine(row)] for row in rows]
    return [[machine(at(row, column)) for column in columns] for row in rows]


def check_format(fmt: str, text: str, data: Any, view: View) -> None:
    """`text` (a command's output in `fmt`) says what `data` (its JSON form) says."""
    assert text.endswith("\n") or text == ""
    if fmt == "json":
        assert json.loads(text) == data
    elif fmt == "yaml":
        assert yaml.safe_load(text) == data
    elif fmt == "value":
        expected = cells(data, view, view.columns)
        if view.many:
            assert text.splitlines() == [" ".join(row) for row in expected]
        else:
            assert text.split("\n")[:-1] == expected[0]
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == list(view.columns)
        assert rows[1:] == cells(data, view, view.columns)
    elif fmt == "shell":
        lines = text.splitlines()
        names = [column.replace(".", "_") for column in view.columns]
        assignments = [shlex.split(line) for line in lines]
        if not view.many:
            assignments = [[word for line in assignments for word in line]]
        assert [[word.partition("=")[2] for word in row] for row in assignments] == cells(
            data, view, view.columns
        )
        assert all([word.partition("=")[0] for word in row] == names for row in assignments)
    else:
        check_table(text, data, view)


def check_table(text: str, data: Any, view: View) -> None:
    """A table shows the narrow columns: a header and a row each (a list), or a line per
    column, a null nested report on one line (one report)."""
    if not view.many:
        expected: list[str] = []
        for column in view.default_table_columns:
            parts = column.split(".")
            parents = [".".join(parts[:depth]) for depth in range(1, len(parts))]
            key = next((p for p in parents if at(data, p) is None), column)
            if key not in expected:
                expected.append(key)
        assert list(key_value_lines(text)) == expected
        return
    rows = table_rows(text)
    assert rows[0] == list(view.default_table_columns)
    note = 1 if "at more than one version" in text else 0
    assert len(rows) == len(data) + 1 + note


# Read commands


@pytest.mark.parametrize("name", list(READ))
def test_read_command_in_every_format(frozen: BackgroundServer, cli: Cli, name: str) -> None:
    view = VIEWS[name]
    data = json.loads(run(cli, frozen, name, *READ[name], "-f", "json"))
    assert data, "the frozen fleet must give each command something to show"
    for fmt in FORMATS:
        check_format(fmt, run(cli, frozen, name, *READ[name], "-f", fmt), data, view)
    # --output and -o are the same option as -f.
    assert json.loads(run(cli, frozen, name, *READ[name], "--output", "json")) == data
    assert yaml.safe_load(run(cli, frozen, name, *READ[name], "-o", "yaml")) == data
    # --noindent: the same JSON on one line.
    flat = run(cli, frozen, name, *READ[name], "-f", "json", "--noindent")
    assert flat.count("\n") == 1 and json.loads(flat) == data
    # --wide: every column in a table.
    wide = run(cli, frozen, name, *READ[name], "--wide")
    if view.many:
        assert table_rows(wide)[0] == list(view.columns)
    else:
        assert set(key_value_lines(wide)) <= set(view.columns) | {
            column.rsplit(".", 1)[0] for column in view.columns if "." in column
        }
        assert "id" not in view.columns or "id" in key_value_lines(wide)


@pytest.mark.parametrize("name", list(READ))
def test_read_command_columns(frozen: BackgroundServer, cli: Cli, name: str) -> None:
    view = VIEWS[name]
    data = json.loads(run(cli, frozen, name, *READ[name], "-f", "json"))
    first, last = view.columns[0], view.columns[-1]
    picked = (first, last) if first != last else (first,)
    words = [word for column in reversed(picked) for word in ("-c", column)]
    for fmt in FORMATS:
        text = run(cli, frozen, name, *READ[name], "-f", fmt, *words)
        if fmt in ("json", "yaml"):
            loaded = json.loads(text) if fmt == "json" else yaml.safe_load(text)
            if view.report is None:
                assert loaded == data
                continue
            rows = loaded if view.many else [loaded]
            top = list(dict.fromkeys(column.split(".")[0] for column in picked))
            assert all(list(row) == top for row in rows)
        elif fmt == "value":
            # In the report's order, as cliff does, whatever order -c came in.
            expected = cells(data, view, picked)
            got = text.splitlines() if view.many else [text.split("\n")[:-1]]
            assert got == ([" ".join(row) for row in expected] if view.many else expected)
        elif fmt == "csv":
            assert next(csv.reader(io.StringIO(text))) == list(picked)
        elif fmt == "shell":
            names = {word.partition("=")[0] for word in shlex.split(text)}
            assert names == {column.replace(".", "_") for column in picked}
        else:
            header = table_rows(text)[0] if view.many else list(key_value_lines(text))
            assert set(header) <= set(picked) | {c.rsplit(".", 1)[0] for c in picked}
    # A nested report's key selects all of it.
    nested = {column.split(".")[0] for column in view.columns if "." in column}
    for key in nested:
        text = run(cli, frozen, name, *READ[name], "-f", "csv", "-c", key)
        assert next(csv.reader(io.StringIO(text))) == [
            column for column in view.columns if column.startswith(key + ".")
        ]


def scalar_columns(view: View, data: list[dict[str, Any]]) -> list[str]:
    return [
        column
        for column in view.columns
        if all(isinstance(at(row, column), str | int | type(None)) for row in data)
    ]


@pytest.mark.parametrize("name", [name for name in READ if VIEWS[name].many])
def test_sorting_every_list(frozen: BackgroundServer, cli: Cli, name: str) -> None:
    view = VIEWS[name]
    data = json.loads(run(cli, frozen, name, *READ[name], "-f", "json"))
    columns = scalar_columns(view, data) if view.report else [view.value_column]
    assert columns
    for column in columns:
        for direction in ("--sort-ascending", "--sort-descending"):
            sorted_json = json.loads(
                run(
                    cli, frozen, name, *READ[name], "-f", "json", "--sort-column", column, direction
                )
            )

            def key(row: Any, column: str = column) -> tuple[int, Any]:
                value = row if view.report is None else at(row, column)
                return (1, "") if value is None else (0, value)

            expected = sorted(data, key=key, reverse=direction == "--sort-descending")
            assert sorted_json == expected, (column, direction)
    if view.report is not None and len(columns) >= 2:
        two = run(
            cli,
            frozen,
            name,
            *READ[name],
            "-f",
            "json",
            "--sort-column",
            columns[1],
            "--sort-column",
            columns[0],
        )
        expected = sorted(
            data,
            key=lambda row: [
                (1, "") if at(row, c) is None else (0, at(row, c)) for c in (columns[1], columns[0])
            ],
        )
        assert json.loads(two) == expected


@pytest.mark.parametrize("name", list(READ))
def test_widths_at_a_fixed_terminal_width(
    frozen: BackgroundServer, cli: Cli, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")

    def widest(*words: str) -> int:
        text = run(cli, frozen, name, *READ[name], *words)
        return max(display_width(line) for line in text.splitlines())

    wide = widest("--wide")
    narrow = widest()
    assert narrow <= wide
    assert widest("--fit-width") <= 80
    assert widest("--wide", "--fit-width") <= 80
    assert widest("--max-width", "60") <= 60
    # --max-width 0 is no limit.
    assert widest("--wide", "--max-width", "0") == wide


def test_list_tables_are_narrower_than_before(frozen: BackgroundServer, cli: Cli) -> None:
    # list-upgrades was 151 columns and list-hosts 330 on the demo fleet.
    for name in ("list-upgrades", "list-hosts", "list-clusters"):
        text = run(cli, frozen, name, *READ[name])
        assert max(display_width(line) for line in text.splitlines()) <= 100, name


def test_csv_quote_modes_read_back(frozen: BackgroundServer, cli: Cli) -> None:
    data = json.loads(run(cli, frozen, "list-upgrades", "-f", "json"))
    expected = cells(data, VIEWS["list-upgrades"], VIEWS["list-upgrades"].columns)
    for quote, reader in (
        ("all", {}),
        ("minimal", {}),
        ("nonnumeric", {}),
        ("none", {"quoting": csv.QUOTE_NONE, "escapechar": "\\"}),
    ):
        text = run(cli, frozen, "list-upgrades", "-f", "csv", "--quote", quote)
        assert list(csv.reader(io.StringIO(text), **reader))[1:] == expected, quote
    quoted = run(cli, frozen, "upgrade-status", "home_lab", "-f", "csv", "--quote", "all")
    assert all(cell.startswith('"') for cell in quoted.splitlines()[1].split(","))


def test_shell_prefix(frozen: BackgroundServer, cli: Cli) -> None:
    text = run(cli, frozen, "upgrade-status", "home_lab", "-f", "shell", "--prefix", "up_")
    names = [line.partition("=")[0] for line in text.splitlines()]
    assert names == ["up_" + column.replace(".", "_") for column in VIEWS["upgrade-status"].columns]


# Commands that change something: one chain per format


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    db_path = tmp_path_factory.mktemp("formats-changes") / "fleet.sqlite3"
    with running_server(db_path, step_seconds=3600) as server:
        yield server


def parse_one(fmt: str, text: str, view: View) -> dict[str, str]:
    """One report's cells, whatever the format (nested keys dotted)."""
    if fmt in ("json", "yaml"):
        data = json.loads(text) if fmt == "json" else yaml.safe_load(text)
        return {column: machine(at(data, column)) for column in view.columns}
    if fmt == "value":
        return dict(zip(view.columns, text.split("\n")[:-1], strict=True))
    if fmt == "csv":
        header, row = csv.reader(io.StringIO(text))
        return dict(zip(header, row, strict=True))
    if fmt == "shell":
        pairs = [word.partition("=") for word in shlex.split(text)]
        return {name: value for name, _, value in pairs}
    return key_value_lines(text)


@pytest.mark.parametrize("fmt", FORMATS)
def test_commands_that_change_things_in_every_format(
    busy: BackgroundServer, cli: Cli, fmt: str
) -> None:
    name = f"fmt_{fmt}"
    params = ["controllers=1", "computes=1", "storage=0", "version=mitaka"]

    def step(command: str, *words: str) -> dict[str, str]:
        return parse_one(fmt, run(cli, busy, command, *words, "-f", fmt), VIEWS[command])

    created = step("discover-cluster", "simulated", name, *params)
    assert created["name"] == name
    server_side = next(c for c in httpx.get(f"{busy.url}/clusters").json() if c["name"] == name)
    assert created["id"] == server_side["id"]

    started = step("upgrade-cluster", name, "newton")
    assert (started["status"], started["cluster_name"]) == ("UPGRADE IN PROGRESS", name)
    assert started["to_version"] == "newton"
    for command, status in (
        ("upgrade-pause", "UPGRADE PAUSED"),
        ("upgrade-continue", "UPGRADE IN PROGRESS"),
        # Nothing was upgraded yet (an hour a step): the rollback is over at once.
        ("upgrade-rollback", "UPGRADE CANCELLED"),
    ):
        acted = step(command, name)
        assert (acted["id"], acted["status"]) == (started["id"], status), command

    other = f"{name}_b"
    run(cli, busy, "discover-cluster", "simulated", other, *params, "-f", "json")
    upgrade_id = run(cli, busy, "upgrade-cluster", other, "newton", "-f", "value", "-c", "id")
    cancelled = step("upgrade-cancel", other)
    assert (cancelled["id"], cancelled["status"]) == (upgrade_id.strip(), "UPGRADE CANCELLED")


# What scripts do


@pytest.fixture
def env(config_file: Path, frozen: BackgroundServer) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KOSTYOR_")}
    clean.update(KOSTYOR_CONFIG=str(config_file), KOSTYOR_API_URL=frozen.url)
    return clean


def bash(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_value_ids_piped_into_a_second_command(
    frozen: BackgroundServer, cli: Cli, env: dict[str, str]
) -> None:
    assert CONSOLE_SCRIPT.is_file()
    tui = shlex.quote(str(CONSOLE_SCRIPT))
    done = bash(
        f"set -o pipefail; {tui} --command list-clusters -f value -c id "
        f"| xargs -n1 {tui} --command cluster-status -f value -c name",
        env,
    )
    assert done.returncode == 0, done.stderr
    names = [c["name"] for c in httpx.get(f"{frozen.url}/clusters").json()]
    assert done.stdout.splitlines() == names
    # The newest upgrade's id, then its status by that id.
    done = bash(
        f"set -o pipefail; {tui} --command list-upgrades --sort-column upgrade_start_time "
        f"--sort-descending -f value -c id | head -n1 "
        f"| xargs {tui} --command upgrade-status -f value -c cluster_name -c status",
        env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "home_lab\nUPGRADE IN PROGRESS\n"


def test_shell_output_evals_and_csv_reads_back_awkward_names(
    busy: BackgroundServer, cli: Cli, env: dict[str, str], tmp_path: Path
) -> None:
    planted = tmp_path / "owned"
    awkward = f'lab, "east" it\'s $(touch {planted}) `touch {planted}` ×'
    run(cli, busy, "discover-cluster", "simulated", awkward, "computes=1", "-f", "json")
    env["KOSTYOR_API_URL"] = busy.url
    tui = shlex.quote(str(CONSOLE_SCRIPT))
    done = bash(
        f'eval "$({tui} --command cluster-status {shlex.quote(awkward)} -f shell --prefix k_)" '
        '&& printf "%s\\n" "$k_name" "$k_state"',
        env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{awkward}\nactive\n"
    assert not planted.exists()
    rows = list(csv.DictReader(io.StringIO(run(cli, busy, "list-clusters", "-f", "csv"))))
    assert awkward in [row["name"] for row in rows]
