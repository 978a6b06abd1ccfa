"""Rendering: plain aligned tables and JSON, from report data built here."""

import json
from datetime import datetime

from kostyor_tui.headless.render import (
    abbreviate_hosts,
    render_json,
    render_json_line,
    render_table,
    render_watch_line,
    table,
)
from kostyor_tui.reports import (
    ClusterSummary,
    CurrentStep,
    UpgradeStatusReport,
)
from tests.headless.test_commands import UPGRADE_STATUS_KEYS

REPORT = UpgradeStatusReport(
    id="u-1",
    cluster_id="c-1",
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


def test_table_aligns_columns_without_trailing_spaces() -> None:
    text = table(["A", "LONGER"], [["wide cell", "x"], ["y", ""]])
    assert text.splitlines() == ["A          LONGER", "wide cell  x", "y"]


def test_json_keeps_field_order_and_iso_timestamps() -> None:
    data = json.loads(render_json(REPORT))
    assert list(data) == UPGRADE_STATUS_KEYS
    assert data["upgrade_start_time"] == "2026-11-24T23:08:16.123011"
    assert data["upgrade_end_time"] is None
    assert data["current"] == {"host": "controller-02", "service": "nova-api"}
    assert "\n" not in render_json_line(REPORT)
    assert json.loads(render_json_line(REPORT)) == data


def test_upgrade_status_table() -> None:
    assert render_table(REPORT).splitlines() == [
        "upgrade            u-1",
        "cluster            c-1",
        "status             UPGRADE IN PROGRESS",
        "from               mitaka",
        "to                 newton",
        "started            2026-11-24 23:08:16",
        "ended              -",
        "engine             node-by-node",
        "nodes upgraded     1/3",
        "services upgraded  7/20",
        "current            controller-02 nova-api",
        "failed at          -",
    ]


def test_watch_line() -> None:
    line = render_watch_line(REPORT, datetime(2026, 11, 24, 23, 9, 0))
    assert line == (
        "2026-11-24 23:09:00  UPGRADE IN PROGRESS  nodes 1/3  services 7/20"
        "  at controller-02 nova-api"
    )


def test_missing_values_show_as_a_dash() -> None:
    text = render_table([ClusterSummary(id="c-9", name=None, version=None, status="unknown")])
    assert text.splitlines()[1] == "-     c-9  -        unknown"


def test_long_host_lists_are_cut_in_tables_only() -> None:
    hosts = [f"compute-{n:03}" for n in range(1, 501)]
    assert abbreviate_hosts(hosts) == (
        "compute-001, compute-002, compute-003, compute-004, … (500 hosts)"
    )
    five = [f"h{n}" for n in range(5)]
    assert abbreviate_hosts(five) == ", ".join(five)
    assert abbreviate_hosts([]) == "-"
