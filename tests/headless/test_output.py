"""Rendering, from report data built here: every format, column selection, sorting, widths,
and the escaping of what a server sent. Against real servers: test_formats.py."""

import csv
import io
import json
import shlex
from datetime import datetime

import pytest
import yaml

from kostyor_tui.headless.render import (
    QUOTE_MODES,
    OutputOptions,
    abbreviate,
    display_width,
    render,
    render_change,
    render_watch_line,
    short_ids,
    table,
)
from kostyor_tui.headless.views import QUOTE_NAMES, VIEWS
from kostyor_tui.reports import (
    ClusterStatusReport,
    ClusterSummary,
    CurrentStep,
    HostRow,
    UpgradeStatusReport,
    UpgradeSummary,
    as_data,
)
from tests.headless.test_commands import UPGRADE_STATUS_KEYS

REPORT = UpgradeStatusReport(
    id="u-1",
    cluster_id="c-1",
    cluster_name="lab",
    status="UPGRADE IN PROGRESS",
    from_version="mitaka",
    to_version="newton",
    engine="node-by-node",
    progress_reported=True,
    nodes_upgraded=1,
    nodes_total=3,
    services_upgraded=7,
    services_total=20,
    current=CurrentStep(host="controller-02", service="nova-api"),
    failure=None,
    upgrade_start_time=datetime(2026, 11, 24, 23, 8, 16, 123011),
    upgrade_end_time=None,
)
CLUSTERS = [
    ClusterSummary(id="c-2", name="beta", version="newton", status="READY FOR UPGRADE"),
    ClusterSummary(id="c-1", name="alpha", version=None, status="unknown"),
    ClusterSummary(id="c-3", name='lab, "east"', version="mitaka", status="UPGRADE ERROR"),
]
STATUS_VIEW = VIEWS["upgrade-status"]
CLUSTERS_VIEW = VIEWS["list-clusters"]


def out(result, view, **options) -> str:
    return render(result, view, OutputOptions(**options))


def test_table_aligns_columns_without_trailing_spaces() -> None:
    text = table(["A", "LONGER"], [["wide cell", "x"], ["y", ""]])
    assert text.splitlines() == ["A          LONGER", "wide cell  x", "y"]


def test_json_keeps_field_order_and_iso_timestamps() -> None:
    data = json.loads(out(REPORT, STATUS_VIEW, format="json"))
    assert list(data) == UPGRADE_STATUS_KEYS
    assert data["upgrade_start_time"] == "2026-11-24T23:08:16.123011"
    assert data["upgrade_end_time"] is None
    assert data["current"] == {"host": "controller-02", "service": "nova-api"}
    # --noindent: one line, the same document.
    flat = out(REPORT, STATUS_VIEW, format="json", noindent=True)
    assert "\n" not in flat
    assert json.loads(flat) == data


def test_json_and_yaml_keep_only_the_selected_columns_nested_as_they_were() -> None:
    for fmt, load in (("json", json.loads), ("yaml", yaml.safe_load)):
        text = out(REPORT, STATUS_VIEW, format=fmt, columns=("status", "current.host", "id"))
        # In the report's order, whatever the order asked in (as cliff does).
        assert load(text) == {
            "id": "u-1",
            "status": "UPGRADE IN PROGRESS",
            "current": {"host": "controller-02"},
        }
    # A nested report's name selects all of it; a null one stays null.
    idle = UpgradeStatusReport(**{**REPORT.__dict__, "current": None})
    assert json.loads(out(idle, STATUS_VIEW, format="json", columns=("current",))) == {
        "current": None
    }


def test_yaml_round_trips_to_the_json_form() -> None:
    for result, view in ((REPORT, STATUS_VIEW), (CLUSTERS, CLUSTERS_VIEW)):
        assert yaml.safe_load(out(result, view, format="yaml")) == as_data(result)


def test_upgrade_status_table_is_narrow_unless_wide() -> None:
    assert out(REPORT, STATUS_VIEW).splitlines() == [
        "id                  u-1",
        "cluster_name        lab",
        "status              UPGRADE IN PROGRESS",
        "from_version        mitaka",
        "to_version          newton",
        "engine              node-by-node",
        "nodes_upgraded      1",
        "nodes_total         3",
        "services_upgraded   7",
        "services_total      20",
        "current.host        controller-02",
        "current.service     nova-api",
        "failure             -",
        "upgrade_start_time  2026-11-24 23:08:16",
        "upgrade_end_time    -",
    ]
    wide = out(REPORT, STATUS_VIEW, wide=True).splitlines()
    # Every column, a null nested report (no failure) on one line.
    columns = [c for c in STATUS_VIEW.columns if not c.startswith("failure.")]
    columns.insert(columns.index("upgrade_start_time"), "failure")
    assert [line.split()[0] for line in wide] == columns
    assert "cluster_id          c-1" in wide


def test_a_null_nested_report_is_one_line_in_a_table() -> None:
    report = ClusterStatusReport(
        id="c-1",
        name="lab",
        region=None,
        version="mitaka",
        versions={"mitaka": 12, "newton": 3},
        state="active",
        status="READY FOR UPGRADE",
        upgrade=None,
    )
    lines = out(report, VIEWS["cluster-status"]).splitlines()
    assert lines[-1] == "upgrade   -"
    assert "versions  mitaka ×12, newton ×3" in lines
    # Other formats keep every column: empty in shell, null in JSON.
    shell = out(report, VIEWS["cluster-status"], format="shell").splitlines()
    assert "upgrade_status=''" in shell
    assert "versions='mitaka=12,newton=3'" in shell


def test_value_csv_and_shell_spell_values_as_json_does() -> None:
    assert out(
        REPORT,
        STATUS_VIEW,
        format="value",
        columns=("upgrade_end_time", "nodes_total", "upgrade_start_time"),
    ).split("\n") == ["3", "2026-11-24T23:08:16.123011", ""]  # in the report's order
    rows = HostRow(id="h", hostname="c1", services=["nova-api", "keystone"], versions={"a": 2})
    assert out([rows], VIEWS["list-hosts"], format="value") == "h c1 nova-api,keystone a=2"


def test_csv_quoting_modes() -> None:
    def parsed(**options):
        return list(csv.reader(io.StringIO(out(CLUSTERS, CLUSTERS_VIEW, format="csv", **options))))

    expected = [
        ["id", "name", "version", "status"],
        ["c-2", "beta", "newton", "READY FOR UPGRADE"],
        ["c-1", "alpha", "", "unknown"],
        ["c-3", 'lab, "east"', "mitaka", "UPGRADE ERROR"],
    ]
    assert tuple(QUOTE_MODES) == QUOTE_NAMES  # what --quote accepts
    for quote in ("all", "minimal", "nonnumeric"):
        assert parsed(quote=quote) == expected
    text = out(CLUSTERS, CLUSTERS_VIEW, format="csv")  # nonnumeric, cliff's default
    assert text.splitlines()[3] == '"c-3","lab, ""east""","mitaka","UPGRADE ERROR"'
    assert out(CLUSTERS, CLUSTERS_VIEW, format="csv", quote="minimal").splitlines()[3] == (
        'c-3,"lab, ""east""",mitaka,UPGRADE ERROR'
    )
    assert out(CLUSTERS, CLUSTERS_VIEW, format="csv", quote="none").splitlines()[3] == (
        'c-3,lab\\, \\"east\\",mitaka,UPGRADE ERROR'
    )
    # Numbers are not quoted by nonnumeric.
    numbers = out(REPORT, STATUS_VIEW, format="csv", columns=("id", "nodes_total"))
    assert numbers.splitlines() == ['"id","nodes_total"', '"u-1",3']


def test_shell_assignments_are_safe_to_eval() -> None:
    evil = ClusterSummary(id="c-9", name="it's $(rm -rf ~) `x`", version=None, status="x")
    lines = out(evil, VIEWS["discover-cluster"], format="shell", prefix="k_").splitlines()
    assert lines[1] == "k_name='it'\\''s $(rm -rf ~) `x`'"
    assert shlex.split(lines[1]) == ["k_name=it's $(rm -rf ~) `x`"]
    # A list: one line of assignments per row; dotted columns become names.
    many = out(CLUSTERS, CLUSTERS_VIEW, format="shell", columns=("name", "status")).splitlines()
    assert many[0] == "name='beta' status='READY FOR UPGRADE'"
    assert "current_host='controller-02'" in out(REPORT, STATUS_VIEW, format="shell")


def test_sorting_by_columns_either_way() -> None:
    names = lambda **o: out(CLUSTERS, CLUSTERS_VIEW, format="value", columns=("name",), **o)  # noqa: E731
    assert names().split("\n") == ["beta", "alpha", 'lab, "east"']  # the server's order
    assert names(sort_columns=("name",)).split("\n") == ["alpha", "beta", 'lab, "east"']
    assert names(sort_columns=("name",), sort_descending=True).split("\n") == [
        'lab, "east"',
        "beta",
        "alpha",
    ]
    # A null sorts last; a second column breaks ties.
    assert names(sort_columns=("version", "id")).split("\n") == ['lab, "east"', "beta", "alpha"]
    upgrades = [
        UpgradeSummary("u-b", "c", "x", "S", "server", "m", "n", datetime(2026, 1, 2), None),
        UpgradeSummary("u-a", "c", "x", "S", "server", "m", "n", datetime(2026, 1, 1), None),
    ]
    ids = out(
        upgrades,
        VIEWS["list-upgrades"],
        format="value",
        columns=("id",),
        sort_columns=("upgrade_start_time",),
    )
    assert ids.split("\n") == ["u-a", "u-b"]


def test_narrow_tables_cut_long_lists_and_ids() -> None:
    hosts = [f"compute-{n:03}" for n in range(1, 501)]
    assert abbreviate(hosts, "hosts") == "compute-001, compute-002, … (500 hosts)"
    assert abbreviate(["a", "b", "c"], "x") == "a, b, c"
    assert abbreviate([], "hosts") == "-"
    assert short_ids(["abcdefgh-1", "abcdefgh-2"]) == 10
    assert short_ids(["abcdefgh1234", "bcdefgh1234"]) == 8
    upgrades = [
        UpgradeSummary(f"0000000{n}-aaaa", "c", "lab", "S", "server", "m", "n", None, None)
        for n in (1, 2)
    ]
    narrow = out(upgrades, VIEWS["list-upgrades"]).splitlines()
    assert [line.split()[0] for line in narrow] == ["id", "00000001", "00000002"]
    wide = out(upgrades, VIEWS["list-upgrades"], wide=True).splitlines()
    assert [line.split()[0] for line in wide] == ["id", "00000001-aaaa", "00000002-aaaa"]


def test_max_width_cuts_the_widest_cells() -> None:
    rows = [HostRow(id="h" * 36, hostname="compute-01", services=["x" * 50], versions={})]
    text = out(rows, VIEWS["list-hosts"], wide=True, max_width=60)
    assert all(display_width(line) <= 60 for line in text.splitlines())
    assert "…" in text
    assert text.splitlines()[0].startswith("id")
    # A single report: the values are cut.
    assert all(
        display_width(line) <= 30 for line in out(REPORT, STATUS_VIEW, max_width=30).splitlines()
    )
    # Fit to a terminal width, given by the caller ($COLUMNS).
    fitted = render(rows, VIEWS["list-hosts"], OutputOptions(wide=True, fit_width=True), 50)
    assert max(display_width(line) for line in fitted.splitlines()) <= 50


def test_control_characters_are_escaped_in_every_format() -> None:
    evil = ClusterSummary(
        id="c\x9b1", name="\x1b]0;x\x07\x1b[2J\nlab\x7f", version="mitaka", status="x"
    )
    for fmt in ("table", "value", "csv", "shell", "json", "yaml"):
        text = out([evil], CLUSTERS_VIEW, format=fmt, wide=True)
        assert not any(
            (ord(char) < 0x20 and char != "\n") or 0x7F <= ord(char) <= 0x9F for char in text
        ), (fmt, text)
        assert text.count("\n") == {"table": 1, "csv": 1, "json": 7}.get(fmt, text.count("\n"))
    assert "\\e]0;x\\x07\\e[2J\\nlab\\x7f" in out([evil], CLUSTERS_VIEW, format="value")
    # JSON and YAML escape by their own rules: the data is the same when read back.
    assert json.loads(out([evil], CLUSTERS_VIEW, format="json")) == as_data([evil])
    assert yaml.safe_load(out([evil], CLUSTERS_VIEW, format="yaml")) == as_data([evil])


def test_missing_values_show_as_a_dash() -> None:
    text = out(
        [ClusterSummary(id="c-9", name=None, version=None, status="unknown")],
        CLUSTERS_VIEW,
        wide=True,
    )
    assert text.splitlines()[1] == "c-9  -     -        unknown"


def test_empty_lists() -> None:
    assert out([], CLUSTERS_VIEW) == "(none)"
    assert out([], CLUSTERS_VIEW, format="value") == ""
    assert out([], CLUSTERS_VIEW, format="csv") == '"id","name","version","status"'
    assert out([], CLUSTERS_VIEW, format="json") == "[]"
    assert out([], CLUSTERS_VIEW, format="yaml") == "[]"


@pytest.mark.parametrize("fmt", ["table", "json", "yaml", "value", "csv", "shell"])
def test_watch_prints_one_line_or_document_per_change(fmt: str) -> None:
    now = datetime(2026, 11, 24, 23, 9, 0)
    options = OutputOptions(format=fmt)
    first = render_change(REPORT, STATUS_VIEW, options, first=True, now=now)
    later = render_change(REPORT, STATUS_VIEW, options, first=False, now=now)
    if fmt == "table":
        assert first == later == render_watch_line(REPORT, now)
    elif fmt == "yaml":
        assert first.startswith("---\n")
        assert yaml.safe_load(first) == as_data(REPORT)
    elif fmt == "csv":
        assert first.splitlines() == [first.splitlines()[0], later]
    else:
        assert first == later and "\n" not in first
    selected = render_change(
        REPORT, STATUS_VIEW, OutputOptions(format=fmt, columns=("status",)), first=False, now=now
    )
    assert "nodes" not in selected


def test_watch_line() -> None:
    line = render_watch_line(REPORT, datetime(2026, 11, 24, 23, 9, 0))
    assert line == (
        "2026-11-24 23:09:00  UPGRADE IN PROGRESS  nodes 1/3  services 7/20"
        "  at controller-02 nova-api"
    )
