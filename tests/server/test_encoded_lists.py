"""The hosts' and services' lists are encoded by SQLite: the same bytes Python's json gives
for the same rows (keys, order, escapes, non-ASCII text, a host without services)."""

import json
import sqlite3
from pathlib import Path

from kostyor_tui.server.store import SCHEMA_VERSION, Store
from kostyor_tui.server.topology import HostSpec


def _python_encoding(value: object) -> bytes:
    # As Starlette's JSONResponse encodes.
    return json.dumps(
        value, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode()


def test_the_encoded_lists_are_what_python_would_encode(tmp_path: Path) -> None:
    store = Store(tmp_path / "k.sqlite3")
    store.initialize()
    try:
        hosts = [
            HostSpec('b-"quoted"\\host', ("nova-compute", "neutron-ovs-agent")),
            HostSpec("a-ünïcødé-主机", ("nova-compute",)),
            HostSpec("c-control\x01\n\tchars", ("keystone",)),
            HostSpec("d-no-services", ()),
            HostSpec("a-ünïcødé-主机-2", ("nova-compute", "keystone")),
        ]
        cluster = store.add_cluster("odd", "mitaka", hosts)
        cluster_id = cluster["id"]
        encoded_hosts = store.list_hosts_json(cluster_id)
        encoded_services = store.list_services_json(cluster_id)
        listed_hosts = json.loads(encoded_hosts)
        listed_services = json.loads(encoded_services)
    finally:
        store.close()
    assert encoded_hosts == _python_encoding(listed_hosts)
    assert encoded_services == _python_encoding(listed_services)
    assert [host["hostname"] for host in listed_hosts] == sorted(h.hostname for h in hosts)
    by_name = {host["hostname"]: host for host in listed_hosts}
    assert by_name["d-no-services"]["services"] == []
    assert all(host["cluster_id"] == cluster_id for host in listed_hosts)
    assert len(by_name['b-"quoted"\\host']["services"]) == 2
    names = [service["name"] for service in listed_services]
    assert names == sorted(names) and len(names) == 6
    hostnames = {host["id"]: host["hostname"] for host in listed_hosts}
    computes = [hostnames[s["hosts"][0]] for s in listed_services if s["name"] == "nova-compute"]
    assert computes == sorted(computes)  # then by hostname
    assert {service["version"] for service in listed_services} == {"mitaka"}


def test_an_older_database_gets_the_indexes_of_later_versions(tmp_path: Path) -> None:
    """Version 3 added the services' covering index, version 4 the step log's (without
    them the engine's failure count and steps?since scan the whole log)."""
    path = tmp_path / "k.sqlite3"
    store = Store(path)
    store.initialize()
    store.close()
    added = {"services_listed", "step_log_by_upgrade", "step_log_failures"}
    with sqlite3.connect(path) as db:
        for index in added:
            db.execute(f"DROP INDEX {index}")
        db.execute("PRAGMA user_version = 2")
    db.close()
    reopened = Store(path)
    reopened.initialize()
    reopened.close()
    with sqlite3.connect(path) as db:
        indexes = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        version = db.execute("PRAGMA user_version").fetchone()[0]
        failures_plan = " ".join(
            str(row[-1])
            for row in db.execute(
                "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM step_log"
                " WHERE upgrade_id = ? AND host_id = ? AND outcome = 'failed'",
                ("u", "h"),
            )
        )
    db.close()
    assert added <= indexes
    assert version == SCHEMA_VERSION == 4
    assert "step_log_failures" in failures_plan
