"""`kostyor-tui rehearse`: the upgrade played on a copy of a topology in a throw-away
embedded server on a virtual clock, and the plan it prints."""

import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from kostyor_tui.domain.order import NODE_BY_NODE, SERVICE_BY_SERVICE
from kostyor_tui.errors import UsageError
from kostyor_tui.rehearse.durations import uniform
from kostyor_tui.rehearse.rehearsal import rehearse
from kostyor_tui.rehearse.topology import Topology
from kostyor_tui.server.discovery import Limits, inventory_hosts
from kostyor_tui.server.store import FORWARD, Store
from kostyor_tui.server.topology import HostSpec, role_based_hosts
from tests.rehearse.conftest import AIO_INVENTORY, expected_order, forward_steps
from tests.support.canned import canned_server, json_answer


def aio_hosts():
    return inventory_hosts(AIO_INVENTORY, Limits(inventory_dirs=(AIO_INVENTORY.parent,)))


@pytest.mark.parametrize("engine", [NODE_BY_NODE, SERVICE_BY_SERVICE])
def test_aio_plan_follows_the_engine_order_and_steps_times_step_time(cli, engine: str) -> None:
    result = cli(
        "rehearse",
        "--inventory",
        str(AIO_INVENTORY),
        "--to",
        "ocata",
        "--engine",
        engine,
        "--step-seconds",
        "45",
        "-f",
        "json",
    )
    assert result.code == 0, result.err
    plan = result.json
    hosts = aio_hosts()
    assert forward_steps(plan) == expected_order(hosts, engine)
    summary = plan["summary"]
    instances = sum(len(host.services) for host in hosts)
    assert summary["steps"] == summary["instances"] == instances
    assert summary["from_version"] == "newton"  # the release before --to
    assert summary["predicted_seconds"] == instances * 45
    # The engine's own virtual time at that step time is the same.
    assert summary["engine_seconds"] == instances * 45
    assert [s["start_seconds"] for s in plan["steps"]] == [n * 45 for n in range(instances)]
    assert plan["failures"] == []


def test_simulated_fleet_per_host_windows_and_mixed_versions(cli) -> None:
    result = cli("rehearse", "--simulated", "1,3,1", "--to", "newton", "-f", "json")
    assert result.code == 0, result.err
    plan = result.json
    step = 60  # the default step time
    hosts = {h["host"]: h for h in plan["hosts"]}
    # The controller first (17 services), then the computes (2 each), then storage.
    assert [h["host"] for h in plan["hosts"]] == [
        "controller-01",
        "compute-01",
        "compute-02",
        "compute-03",
        "storage-01",
    ]
    assert hosts["controller-01"]["start_seconds"] == 0
    assert hosts["controller-01"]["end_seconds"] == 17 * step
    assert hosts["compute-02"]["start_seconds"] == 19 * step
    assert hosts["compute-02"]["end"] == "0:21:00"
    components = {c["component"]: c for c in plan["components"]}
    # nova-compute: done on compute-01 at 19 steps, on compute-03 at 23 steps.
    assert components["nova-compute"]["instances"] == 3
    assert components["nova-compute"]["mixed_seconds"] == (23 - 19) * step
    assert components["keystone"]["mixed_seconds"] == 0


def test_durations_file_times_each_step_by_its_service(cli, tmp_path: Path) -> None:
    durations = tmp_path / "durations.toml"
    durations.write_text(
        "step_seconds = 30\n[durations]\nnova-compute = 40\nneutron = 20\nkeystone = 90\n"
    )
    result = cli(
        "rehearse", "--simulated", "1,2,0", "--to", "newton", "--durations", str(durations),
        "-f", "json",
    )  # fmt: skip
    assert result.code == 0, result.err
    plan = result.json

    def seconds(service: str) -> int:
        if service in ("nova-compute", "keystone"):
            return {"nova-compute": 40, "keystone": 90}[service]
        return 20 if service.startswith("neutron-") else 30

    expected = sum(seconds(s) for _, s in expected_order(role_based_hosts(1, 2, 0), "x"))
    assert plan["summary"]["predicted_seconds"] == expected
    for step in plan["steps"]:
        assert step["end_seconds"] - step["start_seconds"] == seconds(step["service"])
    assert "durations.toml" in plan["summary"]["durations"]


def test_durations_from_the_step_log_of_an_earlier_run(cli, tmp_path: Path) -> None:
    # An earlier run of the embedded server: a real database, a real upgrade by the
    # store's own steps; then its commit times set to known ones (nova-compute 50 s,
    # everything else 10 s) so that the medians are exact.
    db_path = tmp_path / "earlier.sqlite3"
    store = Store(db_path)
    store.initialize()
    cluster = store.add_cluster("earlier", "mitaka", role_based_hosts(1, 3, 0))
    upgrade = store.create_upgrade(
        cluster["id"], "newton", engine=NODE_BY_NODE, driver="noop", parameters={}
    )
    while store.apply_step(upgrade["id"], FORWARD) == "UPGRADE IN PROGRESS":
        pass
    log = store.step_log(upgrade["id"])
    store.close()
    start = datetime(2026, 1, 1, 12, 0, 0)
    at = start
    with sqlite3.connect(db_path) as db:
        db.execute("UPDATE upgrades SET upgrade_start_time = ?", (start.isoformat(),))
        for step in log:
            at += timedelta(seconds=50 if step["service"] == "nova-compute" else 10)
            db.execute(
                "UPDATE step_log SET at = ? WHERE position = ? AND direction = ?",
                (at.isoformat(), step["position"], FORWARD),
            )
    db.close()

    result = cli(
        "rehearse", "--simulated", "1,5,0", "--to", "newton",
        "--durations-from-db", str(db_path), "-f", "json",
    )  # fmt: skip
    assert result.code == 0, result.err
    plan = result.json
    by_service = {s["service"]: s["end_seconds"] - s["start_seconds"] for s in plan["steps"]}
    assert by_service["nova-compute"] == 50
    assert by_service["keystone"] == 10
    assert plan["summary"]["predicted_seconds"] == 5 * 50 + (17 + 5) * 10
    assert "step log of earlier.sqlite3" in plan["summary"]["durations"]


def test_a_failing_host_says_where_the_upgrade_stops_and_what_a_rollback_covers(cli) -> None:
    result = cli(
        "rehearse", "--simulated", "1,3,0", "--to", "newton", "--step-seconds", "10",
        "--fail-host", "compute-02", "--fail-host", "controller-01", "-f", "json",
    )  # fmt: skip
    assert result.code == 0, result.err
    plan = result.json
    order = expected_order(role_based_hosts(1, 3, 0), NODE_BY_NODE)
    compute_02, controller_01 = plan["failures"]
    first_on_host = next(n for n, (host, _) in enumerate(order) if host == "compute-02")
    assert compute_02["fail_host"] == "compute-02"
    assert (compute_02["stops_at_host"], compute_02["stops_at_service"]) == order[first_on_host]
    assert compute_02["stops_at_position"] == first_on_host
    assert compute_02["steps_done"] == first_on_host
    assert compute_02["steps_not_done"] == len(order) - first_on_host
    # The failed step took its time too; then every step done is undone, newest first.
    assert compute_02["stops_at_seconds"] == (first_on_host + 1) * 10
    assert compute_02["rollback_steps"] == first_on_host
    assert compute_02["rollback_covers"] == ["compute-01", "controller-01"]
    assert compute_02["back_at_start_seconds"] == (2 * first_on_host + 1) * 10
    # A failure on the very first host stops before anything is done: nothing to roll back.
    assert controller_01["steps_done"] == 0
    assert controller_01["rollback_steps"] == 0
    assert controller_01["rollback_covers"] == []
    # The plan itself is the clean run's.
    assert forward_steps(plan) == order


def test_the_table_shows_every_section_under_its_title(cli) -> None:
    result = cli(
        "rehearse", "--simulated", "1,2,0", "--to", "newton", "--fail-host", "compute-01"
    )  # fmt: skip
    assert result.code == 0, result.err
    out = result.out
    for title in (
        "Rehearsal",
        "How long each service runs at mixed versions",
        "Hosts, in the order the engine reaches them",
        "What a failure does",
    ):
        assert f"\n{title}\n" in f"\n{out}"
    assert "predicted          21m 00s" in out
    assert "--section steps" in out
    hosts_section = out.split("Hosts, in the order")[1]
    assert hosts_section.index("controller-01") < hosts_section.index("compute-01")


@pytest.mark.parametrize(
    ("fmt", "check"),
    [
        ("yaml", lambda out: "summary:" in out and "predicted_seconds: 1260.0" in out),
        ("csv", lambda out: out.splitlines()[0].startswith('"number","position","direction"')),
        ("value", lambda out: out.splitlines()[0].startswith("1 0 upgrade controller-01 keystone")),
        ("shell", lambda out: "host='controller-01'" in out.splitlines()[0]),
    ],
)
def test_every_output_format(cli, fmt: str, check) -> None:
    result = cli("rehearse", "--simulated", "1,2,0", "--to", "newton", "-f", fmt)
    assert result.code == 0, result.err
    assert check(result.out), result.out


def test_one_section_with_chosen_columns(cli) -> None:
    result = cli(
        "rehearse", "--simulated", "1,2,0", "--to", "newton", "--section", "hosts",
        "-f", "csv", "-c", "host", "-c", "end_seconds",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        '"host","end_seconds"',
        '"controller-01","1020.0"',
        '"compute-01","1140.0"',
        '"compute-02","1260.0"',
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--fail-host", "nowhere"], "--fail-host 'nowhere' is not a host of simulated"),
        (["-c", "host"], "-c and --sort-column apply to one --section"),
        (["--section", "hosts", "-c", "nope"], "unknown column 'nope'"),
        (["--from", "newton"], "cannot upgrade from newton to 'newton'"),
    ],
)
def test_mistakes_are_usage_errors_before_any_run(cli, argv: list[str], message: str) -> None:
    result = cli("rehearse", "--simulated", "1,2,0", "--to", "newton", *argv)
    assert result.code == 2
    assert message in result.err


def test_an_inventory_that_cannot_be_read(cli, tmp_path: Path) -> None:
    broken = tmp_path / "inventory.json"
    broken.write_text("{not json")
    result = cli("rehearse", "--inventory", str(broken), "--to", "ocata")
    assert result.code == 2
    assert "not a JSON inventory" in result.err
    missing = cli("rehearse", "--inventory", str(tmp_path / "missing.json"), "--to", "ocata")
    assert missing.code == 2
    assert "no such file" in missing.err


def test_a_live_cluster_is_copied_read_only(cli, server) -> None:
    # The demo fleet's home_lab: 3 controllers, 8 computes, 2 storage nodes.
    before = json.loads(
        cli("--command", "list-upgrades", "--api-url", server.url, "-f", "json").out
    )
    result = cli(
        "rehearse", "--cluster", "home_lab", "--api-url", server.url, "--to", "newton",
        "-f", "json",
    )  # fmt: skip
    assert result.code == 0, result.err
    plan = result.json
    assert plan["summary"]["hosts"] == 13
    assert plan["summary"]["from_version"] == "mitaka"
    assert forward_steps(plan) == expected_order(role_based_hosts(3, 8, 2), NODE_BY_NODE)
    # Nothing was started on the live server.
    after = json.loads(cli("--command", "list-upgrades", "--api-url", server.url, "-f", "json").out)
    assert after == before
    assert server.store.list_upgrades(server.store.list_clusters()[0]["id"]) == []


def test_a_host_that_runs_nothing_cannot_fail() -> None:
    fleet = Topology(
        "lab", "mitaka", [HostSpec("idle-01", ()), *role_based_hosts(1, 1, 0)], "a test"
    )
    with pytest.raises(UsageError, match="'idle-01' runs no service"):
        rehearse(
            fleet,
            to_version="newton",
            engine=NODE_BY_NODE,
            durations=uniform(60),
            fail_hosts=["idle-01"],
        )


def test_a_live_cluster_whose_services_name_their_hosts(cli) -> None:
    # The real server's other shape (docs/kostyor-api.md: a service entry listing its
    # hosts, the hosts listing none), replayed by a canned server: the embedded one
    # always lists both. The instances are the client's everywhere (domain.fleet).
    cluster = {"id": "c1", "name": "east", "status": "READY", "version": "mitaka"}
    hosts = [
        {"id": "h1", "hostname": "ctl-1", "cluster_id": "c1", "services": []},
        {"id": "h2", "hostname": "cmp-1", "cluster_id": "c1", "services": []},
        {"id": "h3", "hostname": "cmp-2", "cluster_id": "c1", "services": []},
    ]
    services = [
        {"id": "s1", "name": "nova-compute", "version": "mitaka", "hosts": ["h2", "h3"]},
        {"id": "s2", "name": "keystone", "version": "mitaka", "hosts": ["h1"]},
        {"id": "s3", "name": "nova-api", "version": "mitaka", "hosts": ["h1"]},
    ]
    answers = {
        "/clusters": [cluster],
        "/clusters/c1/hosts": hosts,
        "/clusters/c1/services": services,
    }

    def handler(method, path, query, headers, body):
        assert method == "GET"  # read only
        return json_answer(200, answers[path])

    with canned_server(handler) as canned:
        result = cli(
            "rehearse", "--cluster", "east", "--api-url", canned.url, "--to", "newton",
            "-f", "json",
        )  # fmt: skip
    assert result.code == 0, result.err
    assert forward_steps(result.json) == [
        ("ctl-1", "keystone"),
        ("ctl-1", "nova-api"),
        ("cmp-1", "nova-compute"),
        ("cmp-2", "nova-compute"),
    ]
