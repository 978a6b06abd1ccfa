"""The simulated engine on an injected clock: a virtual one advances by each step's time
instead of sleeping, so an upgrade of hours plays at once."""

import threading
from pathlib import Path

import pytest

from kostyor_tui.domain.order import NODE_BY_NODE, Instance, engine_order
from kostyor_tui.domain.statuses import Status
from kostyor_tui.rehearse import durations, rehearsal, topology
from kostyor_tui.server.engine import Engine, Failures
from kostyor_tui.server.engine_clock import VirtualClock
from kostyor_tui.server.store import Store
from kostyor_tui.server.topology import role_based_hosts
from tests.rehearse.conftest import expected_order


def test_virtual_wait_moves_time_on_without_sleeping() -> None:
    clock = VirtualClock(start=5.0)
    never = threading.Event()
    clock.wait(never, 3600.0)  # an hour: returns at once, or the test would time out
    assert clock.now() == 3605.0
    clock.wait(never, -1.0)
    assert clock.now() == 3605.0


def test_engine_plays_an_upgrade_of_hours_on_a_virtual_clock(tmp_path: Path) -> None:
    store = Store(tmp_path / "kostyor.sqlite3")
    store.initialize()
    hosts = role_based_hosts(2, 10, 1)
    cluster = store.add_cluster("lab", "mitaka", hosts)
    upgrade = store.create_upgrade(
        cluster["id"], "newton", engine=NODE_BY_NODE, driver="noop", parameters={}
    )
    clock = VirtualClock()
    engine = Engine(store, 600.0, Failures(), clock=clock)  # ten minutes a step
    engine.run_until_idle()
    steps = sum(len(host.services) for host in hosts)
    assert store.get_upgrade(upgrade["id"])["status"] == Status.SUCCEEDED
    assert clock.now() == steps * 600.0
    log = store.step_log(upgrade["id"])
    assert [(s["hostname"], s["service"]) for s in log] == expected_order(hosts, NODE_BY_NODE)
    store.close()


def test_engine_order_is_the_domain_order() -> None:
    # The helper the tests compare with is domain.order itself, not a copy of it.
    hosts = role_based_hosts(1, 2, 1)
    instances = [
        Instance(None, name, host.hostname, host.hostname, None)
        for host in hosts
        for name in host.services
    ]
    assert expected_order(hosts, NODE_BY_NODE) == [
        (i.hostname, i.name) for i in engine_order(instances, NODE_BY_NODE)
    ]


@pytest.mark.large
def test_a_2000_host_rehearsal() -> None:
    """The 2,000-host fleet of the issue, whole (its wall time is measured by
    benchmarks/bench_rehearsal.py, not here)."""
    fleet = topology.simulated(8, 1980, 12, "mitaka")
    assert len(fleet.hosts) == 2000
    plan = rehearsal.rehearse(
        fleet, to_version="newton", engine=NODE_BY_NODE, durations=durations.uniform(60)
    )
    order = expected_order(fleet.hosts, NODE_BY_NODE)
    assert [(s.host, s.service) for s in plan.steps] == order
    assert plan.summary.predicted_seconds == len(order) * 60 == plan.summary.engine_seconds
    assert plan.hosts[0].host == "controller-01"
    assert plan.hosts[-1].host == "storage-12"
