"""Every headless command against the embedded server over real HTTP, in both output formats.

Expected values are read from the server's own REST API with plain httpx, so
the tests check what the commands report against what the server holds.
"""

import re
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from kostyor_tui.commands import COMMANDS
from kostyor_tui.server.runner import BackgroundServer
from tests.headless.conftest import CliResult

Cli = Callable[..., CliResult]

UPGRADE_STATUS_KEYS = [
    "id",
    "cluster_id",
    "cluster_name",
    "status",
    "from_version",
    "to_version",
    "engine",
    "progress_reported",
    "nodes_upgraded",
    "nodes_total",
    "services_upgraded",
    "services_total",
    "current",
    "failure",
    "upgrade_start_time",
    "upgrade_end_time",
]
UPGRADE_KEYS = [
    "id",
    "cluster_id",
    "cluster_name",
    "status",
    "status_from",
    "from_version",
    "to_version",
    "upgrade_start_time",
    "upgrade_end_time",
]


def api(server: BackgroundServer, path: str) -> Any:
    response = httpx.get(f"{server.url}/{path}")
    response.raise_for_status()
    return response.json()


def cluster_named(server: BackgroundServer, name: str) -> dict[str, Any]:
    (cluster,) = [c for c in api(server, "clusters") if c["name"] == name]
    return cluster


def run_ok(cli: Cli, server: BackgroundServer, *argv: str) -> CliResult:
    result = cli("--api-url", server.url, "--command", *argv)
    assert result.code == 0, result.err
    assert result.err == ""
    return result


def table_rows(text: str) -> list[list[str]]:
    """A table's lines split on runs of two or more spaces (cells hold single spaces)."""
    return [re.split(r" {2,}", line.strip()) for line in text.splitlines() if line.strip()]


def key_value_lines(text: str) -> dict[str, str]:
    return {row[0]: row[1] if len(row) > 1 else "" for row in table_rows(text)}


def instance_versions(services: list[dict[str, Any]]) -> Counter[str]:
    """{version: instances}; an instance is a service entry on one host."""
    counts: Counter[str] = Counter()
    for service in services:
        counts[service["version"]] += max(1, len(service["hosts"]))
    return counts


def test_every_command_of_the_design_is_registered() -> None:
    assert list(COMMANDS) == [
        "list-clusters",
        "cluster-status",
        "cluster-component-list",
        "list-hosts",
        "check-upgrade",
        "list-upgrade-versions",
        "list-discovery-methods",
        "discover-cluster",
        "upgrade-cluster",
        "upgrade-status",
        "list-upgrades",
        "upgrade-pause",
        "upgrade-continue",
        "upgrade-rollback",
        "upgrade-cancel",
    ]
    mutating = {name for name, command in COMMANDS.items() if command.mutating}
    assert mutating == {
        "discover-cluster",
        "upgrade-cluster",
        "upgrade-pause",
        "upgrade-continue",
        "upgrade-rollback",
        "upgrade-cancel",
    }


def test_list_clusters(server: BackgroundServer, cli: Cli) -> None:
    clusters = api(server, "clusters")
    assert len(clusters) >= 3

    as_json = run_ok(cli, server, "list-clusters", "--output", "json").json
    assert as_json == [
        {"id": c["id"], "name": c["name"], "version": c["version"], "status": c["status"]}
        for c in clusters
    ]

    # A narrow table: the names, not the UUIDs; --wide adds them.
    rows = table_rows(run_ok(cli, server, "list-clusters").out)
    assert rows[0] == ["name", "version", "status"]
    assert rows[1:] == [[c["name"], c["version"], c["status"]] for c in clusters]
    rows = table_rows(run_ok(cli, server, "list-clusters", "--wide").out)
    assert rows[0] == ["id", "name", "version", "status"]
    assert rows[1:] == [[c["id"], c["name"], c["version"], c["status"]] for c in clusters]


def test_cluster_status_of_a_cluster_never_upgraded(server: BackgroundServer, cli: Cli) -> None:
    cluster = cluster_named(server, "home_lab")
    services = api(server, f"clusters/{cluster['id']}/services")
    expected_versions = dict(instance_versions(services))

    report = run_ok(cli, server, "cluster-status", "home_lab", "--output", "json").json
    assert list(report) == [
        "id",
        "name",
        "region",
        "version",
        "versions",
        "state",
        "status",
        "upgrade",
    ]
    assert report == {
        "id": cluster["id"],
        "name": "home_lab",
        # The API has no region: it comes from the config profile (see conftest).
        "region": "RegionTest",
        "version": cluster["version"],
        "versions": expected_versions,
        "state": "active",
        "status": "READY FOR UPGRADE",
        "upgrade": None,
    }

    # By UUID as well as by name, and as a table (narrow: no id; --wide: all).
    lines = key_value_lines(run_ok(cli, server, "cluster-status", cluster["id"]).out)
    assert lines == {
        "name": "home_lab",
        "region": "RegionTest",
        "version": cluster["version"],
        "versions": ", ".join(f"{v} ×{n}" for v, n in expected_versions.items()),
        "state": "active",
        "status": "READY FOR UPGRADE",
        # No upgrade: one line, not one per column of it.
        "upgrade": "-",
    }
    wide = key_value_lines(run_ok(cli, server, "cluster-status", "home_lab", "--wide").out)
    assert wide["id"] == cluster["id"]


def test_cluster_status_shows_the_last_upgrade(server: BackgroundServer, cli: Cli) -> None:
    cluster = cluster_named(server, "staging")
    (upgrade,) = api(server, f"upgrades?cluster_id={cluster['id']}")
    services = api(server, f"clusters/{cluster['id']}/services")
    instances = sum(instance_versions(services).values())
    hosts = api(server, f"clusters/{cluster['id']}/hosts")

    report = run_ok(cli, server, "cluster-status", "staging", "--output", "json").json
    assert report["upgrade"] == {
        "id": upgrade["id"],
        "cluster_id": cluster["id"],
        "cluster_name": "staging",
        "status": "UPGRADE SUCCEED",
        "from_version": "mitaka",
        "to_version": "newton",
        "engine": "node-by-node",
        "progress_reported": True,
        "nodes_upgraded": len(hosts),
        "nodes_total": len(hosts),
        "services_upgraded": instances,
        "services_total": instances,
        "current": None,
        "failure": None,
        "upgrade_start_time": upgrade["upgrade_start_time"],
        "upgrade_end_time": upgrade["upgrade_end_time"],
    }

    lines = key_value_lines(run_ok(cli, server, "cluster-status", "staging").out)
    assert lines["upgrade.id"] == upgrade["id"]
    assert lines["upgrade.status"] == "UPGRADE SUCCEED"
    assert lines["upgrade.nodes_upgraded"] == lines["upgrade.nodes_total"] == str(len(hosts))
    assert lines["upgrade.services_upgraded"] == str(instances)
    assert lines["upgrade.current"] == "-"


def test_cluster_component_list(server: BackgroundServer, cli: Cli) -> None:
    cluster = cluster_named(server, "home_lab")
    services = api(server, f"clusters/{cluster['id']}/services")
    hostnames = {h["id"]: h["hostname"] for h in api(server, f"clusters/{cluster['id']}/hosts")}
    expected_hosts: dict[str, set[str]] = {}
    for service in services:
        expected_hosts.setdefault(service["name"], set()).update(
            hostnames[host_id] for host_id in service["hosts"]
        )

    rows = run_ok(cli, server, "cluster-component-list", "home_lab", "--output", "json").json
    assert all(list(row) == ["component", "hosts", "version", "upgradable"] for row in rows)
    assert {row["component"]: set(row["hosts"]) for row in rows} == expected_hosts
    # Every instance is at mitaka, and later releases exist.
    assert {(row["version"], row["upgradable"]) for row in rows} == {("mitaka", True)}

    table = table_rows(run_ok(cli, server, "cluster-component-list", "home_lab").out)
    assert table[0] == ["component", "version", "upgradable", "hosts"]
    assert [row[0] for row in table[1:]] == [row["component"] for row in rows]
    assert all(row[1:3] == ["mitaka", "yes"] for row in table[1:])


def test_component_list_shows_mixed_versions(server_factory: Callable, cli: Cli) -> None:
    # Node-by-node, staging's controller goes first (17 steps), then its compute. Paused
    # once the controller's agent is done, the compute's agent is at least 3 steps away:
    # the agent runs at two versions.
    server = server_factory(step_seconds=0.3)
    cluster = cluster_named(server, "staging")
    hosts = {h["hostname"]: h["id"] for h in api(server, f"clusters/{cluster['id']}/hosts")}
    controller = hosts["staging-controller-01"]
    run_ok(cli, server, "upgrade-cluster", "staging", "ocata")

    def agent_on_controller() -> str:
        (agent,) = [
            s
            for s in api(server, f"clusters/{cluster['id']}/services")
            if s["name"] == "neutron-openvswitch-agent" and s["hosts"] == [controller]
        ]
        return agent["version"]

    deadline = time.monotonic() + 30
    while agent_on_controller() != "ocata":
        assert time.monotonic() < deadline, "the controller's agent was never upgraded"
        time.sleep(0.05)
    run_ok(cli, server, "upgrade-pause", "staging")

    rows = run_ok(cli, server, "cluster-component-list", "staging", "--output", "json").json
    agent_rows = [r for r in rows if r["component"] == "neutron-openvswitch-agent"]
    # One row per version, oldest release first.
    assert agent_rows == [
        {
            "component": "neutron-openvswitch-agent",
            "hosts": ["staging-compute-01"],
            "version": "newton",
            "upgradable": True,
        },
        {
            "component": "neutron-openvswitch-agent",
            "hosts": ["staging-controller-01"],
            "version": "ocata",
            "upgradable": True,
        },
    ]
    table = run_ok(cli, server, "cluster-component-list", "staging").out
    assert table.rstrip().endswith("at more than one version: neutron-openvswitch-agent")


def test_list_hosts(server: BackgroundServer, cli: Cli) -> None:
    cluster = cluster_named(server, "staging")
    hosts = api(server, f"clusters/{cluster['id']}/hosts")
    services = {s["id"]: s for s in api(server, f"clusters/{cluster['id']}/services")}

    rows = run_ok(cli, server, "list-hosts", "staging", "--output", "json").json
    assert [row["id"] for row in rows] == [host["id"] for host in hosts]
    for row, host in zip(rows, hosts, strict=True):
        assert list(row) == ["id", "hostname", "services", "versions"]
        assert row["hostname"] == host["hostname"]
        assert set(row["services"]) == {services[s]["name"] for s in host["services"]}
        assert row["versions"] == {"newton": len(host["services"])}

    table = table_rows(run_ok(cli, server, "list-hosts", "staging").out)
    assert table[0] == ["hostname", "versions", "services"]
    assert [row[:2] for row in table[1:]] == [
        [host["hostname"], f"newton ×{len(host['services'])}"] for host in hosts
    ]
    wide = table_rows(run_ok(cli, server, "list-hosts", "staging", "--wide").out)
    assert wide[0] == ["id", "hostname", "services", "versions"]
    assert [row[:2] for row in wide[1:]] == [[host["id"], host["hostname"]] for host in hosts]


def test_check_upgrade(server: BackgroundServer, cli: Cli) -> None:
    cluster = cluster_named(server, "home_lab")
    targets = api(server, f"upgrade-versions/{cluster['id']}")
    assert targets

    ready = run_ok(cli, server, "check-upgrade", "home_lab", "--output", "json").json
    assert ready == {"state": "ready", "versions": targets, "reason": None}
    lines = key_value_lines(run_ok(cli, server, "check-upgrade", "home_lab").out)
    assert lines == {"state": "ready", "versions": ", ".join(targets), "reason": "-"}

    legacy = run_ok(cli, server, "check-upgrade", "legacy", "--output", "json").json
    assert legacy["state"] == "not ready"
    assert "version is unknown" in legacy["reason"]
    assert key_value_lines(run_ok(cli, server, "check-upgrade", "legacy").out)["state"] == (
        "not ready"
    )


def test_list_upgrade_versions(server: BackgroundServer, cli: Cli) -> None:
    cluster = cluster_named(server, "home_lab")
    targets = api(server, f"upgrade-versions/{cluster['id']}")
    assert run_ok(cli, server, "list-upgrade-versions", "home_lab", "--output", "json").json == (
        targets
    )
    assert run_ok(cli, server, "list-upgrade-versions", "home_lab").out.split() == [
        "version",
        *targets,
    ]
    assert run_ok(cli, server, "list-upgrade-versions", "home_lab", "-f", "value").out.split() == (
        targets
    )


def test_list_discovery_methods(server: BackgroundServer, cli: Cli) -> None:
    methods = api(server, "clusters/discover")
    assert "simulated" in methods
    assert run_ok(cli, server, "list-discovery-methods", "--output", "json").json == methods
    assert run_ok(cli, server, "list-discovery-methods").out.split() == ["method", *methods]


def test_discover_cluster(server: BackgroundServer, cli: Cli) -> None:
    params = ["controllers=1", "computes=2", "storage=0", "version=newton"]
    # Parameters may come before or after the options.
    created = run_ok(
        cli,
        server,
        "discover-cluster",
        "simulated",
        "lab_json",
        *params[:2],
        "--output",
        "json",
        *params[2:],
    ).json
    assert list(created) == ["id", "name", "version", "status"]
    assert created["name"] == "lab_json"
    assert created["version"] == "newton"
    assert cluster_named(server, "lab_json")["id"] == created["id"]
    hosts = api(server, f"clusters/{created['id']}/hosts")
    assert len(hosts) == 3

    lines = key_value_lines(
        run_ok(cli, server, "discover-cluster", "simulated", "lab_table", *params).out
    )
    assert lines["name"] == "lab_table"
    assert lines["id"] == cluster_named(server, "lab_table")["id"]


def test_upgrade_cluster(server: BackgroundServer, cli: Cli) -> None:
    started = run_ok(cli, server, "upgrade-cluster", "home_lab", "newton", "--output", "json").json
    assert list(started) == UPGRADE_KEYS
    upgrade = api(server, f"upgrades/{started['id']}")
    assert started["cluster_id"] == cluster_named(server, "home_lab")["id"] == upgrade["cluster_id"]
    assert started["status"] in ("UPGRADE IN PROGRESS", "UPGRADE SUCCEED")
    assert (started["from_version"], started["to_version"]) == ("mitaka", "newton")
    assert started["upgrade_start_time"] == upgrade["upgrade_start_time"]

    lines = key_value_lines(
        run_ok(cli, server, "upgrade-cluster", "datacenter_east", "ocata", "--driver", "noop").out
    )
    (east,) = api(server, f"upgrades?cluster_id={cluster_named(server, 'datacenter_east')['id']}")
    assert lines["id"] == east["id"]
    assert lines["cluster_name"] == "datacenter_east"
    assert lines["to_version"] == "ocata"
    # For scripts: the id alone.
    again = run_ok(cli, server, "upgrade-cluster", "staging", "ocata", "-f", "value", "-c", "id")
    (staging,) = [
        u
        for u in api(server, f"upgrades?cluster_id={cluster_named(server, 'staging')['id']}")
        if u["to_version"] == "ocata"
    ]
    assert again.out == staging["id"] + "\n"


def test_upgrade_status(server: BackgroundServer, cli: Cli) -> None:
    staging = cluster_named(server, "staging")
    (upgrade,) = api(server, f"upgrades?cluster_id={staging['id']}")

    report = run_ok(cli, server, "upgrade-status", upgrade["id"], "--output", "json").json
    assert list(report) == UPGRADE_STATUS_KEYS
    assert report["id"] == upgrade["id"]
    assert report["status"] == "UPGRADE SUCCEED"
    assert report["nodes_upgraded"] == report["nodes_total"] == 2
    assert datetime.fromisoformat(report["upgrade_start_time"]) <= datetime.fromisoformat(
        report["upgrade_end_time"]
    )

    lines = key_value_lines(run_ok(cli, server, "upgrade-status", upgrade["id"]).out)
    assert lines["id"] == upgrade["id"]
    assert lines["cluster_name"] == "staging"
    assert lines["status"] == "UPGRADE SUCCEED"
    assert lines["nodes_upgraded"] == lines["nodes_total"] == "2"
    assert lines["current"] == "-"


def test_upgrade_status_watch_of_a_finished_upgrade_prints_one_line(
    server: BackgroundServer, cli: Cli
) -> None:
    (upgrade,) = api(server, f"upgrades?cluster_id={cluster_named(server, 'staging')['id']}")
    text = run_ok(cli, server, "upgrade-status", upgrade["id"], "--watch").out
    assert len(text.splitlines()) == 1
    assert "UPGRADE SUCCEED  nodes 2/2" in text


def test_list_upgrades(server: BackgroundServer, cli: Cli) -> None:
    run_ok(cli, server, "upgrade-cluster", "home_lab", "newton")
    upgrades = api(server, "upgrades")
    assert len(upgrades) == 2

    everything = run_ok(cli, server, "list-upgrades", "--output", "json").json
    assert [u["id"] for u in everything] == [u["id"] for u in upgrades]
    assert all(list(u) == UPGRADE_KEYS for u in everything)

    home_lab = cluster_named(server, "home_lab")
    # The option may follow the command's other words, --output too.
    only = run_ok(cli, server, "list-upgrades", "--cluster", "home_lab", "--output", "json").json
    assert [u["cluster_id"] for u in only] == [home_lab["id"]]

    # Narrow: the cluster's name, and ids cut to a unique prefix (upgrade-status takes it).
    table = table_rows(run_ok(cli, server, "list-upgrades", "--cluster", "staging").out)
    assert table[0] == [
        "id",
        "cluster_name",
        "status",
        "from_version",
        "to_version",
        "upgrade_start_time",
    ]
    assert [row[:3] for row in table[1:]] == [
        [u["id"][:8], "staging", "UPGRADE SUCCEED"] for u in upgrades if u["id"] != only[0]["id"]
    ]
    wide = table_rows(run_ok(cli, server, "list-upgrades", "--wide").out)
    assert wide[0] == UPGRADE_KEYS
    assert [row[:3] for row in wide[1:]] == [
        [u["id"], u["cluster_id"], cluster["name"]]
        for u in upgrades
        for cluster in api(server, "clusters")
        if cluster["id"] == u["cluster_id"]
    ]


def test_empty_list_prints_none_in_a_table(server_factory: Callable, cli: Cli) -> None:
    server = server_factory(seed="empty")
    assert run_ok(cli, server, "list-clusters").out == "(none)\n"
    assert run_ok(cli, server, "list-clusters", "--output", "json").json == []
