"""The service's plain functions: snapshots derived from API data, and the event log lines."""

from datetime import datetime

from kostyor_tui.api.models import Cluster, Host, Service, Upgrade
from kostyor_tui.domain.progress import HostState
from kostyor_tui.domain.statuses import Status
from kostyor_tui.service.events import EVENTS_PER_POLL, describe_changes
from kostyor_tui.service.snapshots import build_snapshot

AT = datetime(2026, 11, 24, 12, 0, 0)


def cluster(status: str = "UPGRADE IN PROGRESS") -> Cluster:
    return Cluster.model_validate(
        {"id": "c1", "name": "lab", "status": status, "version": "mitaka"}
    )


def topology(upgraded: int, computes: int = 3) -> tuple[list[Host], list[Service]]:
    hosts, services = [], []
    names = ["controller-01"] + [f"compute-{i:02d}" for i in range(1, computes + 1)]
    count = 0
    for index, hostname in enumerate(names):
        host_id = f"h{index}"
        role = ["keystone", "nova-api"] if index == 0 else ["nova-compute"]
        ids = []
        for name in role:
            version = "newton" if count < upgraded else "mitaka"
            services.append(
                Service.model_validate(
                    {
                        "id": f"{host_id}-{name}",
                        "name": name,
                        "version": version,
                        "hosts": [host_id],
                    }
                )
            )
            ids.append(f"{host_id}-{name}")
            count += 1
        hosts.append(
            Host.model_validate(
                {"id": host_id, "hostname": hostname, "cluster_id": "c1", "services": ids}
            )
        )
    return hosts, services


UPGRADE = Upgrade.model_validate(
    {
        "id": "u1",
        "cluster_id": "c1",
        "from_version": "mitaka",
        "to_version": "newton",
        "status": "UPGRADE IN PROGRESS",
        "upgrade_start_time": "2026-11-24T11:00:00",
    }
)


def test_a_snapshot_derives_progress_host_states_and_versions():
    hosts, services = topology(upgraded=3)
    snapshot = build_snapshot(cluster(), hosts, services, [UPGRADE], AT, ("mitaka", "newton"))
    assert snapshot.upgrade == UPGRADE and snapshot.status is Status.IN_PROGRESS
    assert (snapshot.progress.nodes_upgraded, snapshot.progress.nodes_total) == (2, 4)
    assert (snapshot.progress.services_upgraded, snapshot.progress.services_total) == (3, 5)
    assert snapshot.host_states["h0"] is HostState.UPGRADED
    assert snapshot.host_states["h3"] is HostState.PENDING
    assert snapshot.version_counts == {"mitaka": 2, "newton": 3}
    # Engine order: the controller first.
    assert snapshot.host_order[0] == "h0"
    assert dict(snapshot.host_versions["h0"]) == {"newton": 2}


def test_the_engine_order_is_reused_while_the_topology_stays_the_same():
    hosts, services = topology(upgraded=1)
    first = build_snapshot(cluster(), hosts, services, [UPGRADE], AT)
    hosts2, services2 = topology(upgraded=4)
    second = build_snapshot(cluster(), hosts2, services2, [UPGRADE], AT, previous=first)
    assert second.host_order is first.host_order
    assert second.progress.services_upgraded == 4


def test_changes_are_logged_once_each_with_a_cap_per_poll():
    hosts, services = topology(upgraded=0, computes=EVENTS_PER_POLL + 10)
    old = build_snapshot(cluster(), hosts, services, [UPGRADE], AT)
    hosts2, services2 = topology(upgraded=len(services), computes=EVENTS_PER_POLL + 10)
    paused = UPGRADE.model_copy(update={"status": Status.PAUSED})
    new = build_snapshot(cluster("UPGRADE PAUSED"), hosts2, services2, [paused], AT)
    lines = [event.text for event in describe_changes(old, new, AT)]
    assert "cluster lab: UPGRADE IN PROGRESS → UPGRADE PAUSED" in lines
    assert "upgrade UPGRADE IN PROGRESS → UPGRADE PAUSED" in lines
    moved = [line for line in lines if ": mitaka → newton" in line]
    assert len(moved) == EVENTS_PER_POLL
    assert f"… and {len(services) - EVENTS_PER_POLL} more instances changed version" in lines
    assert all(event.at == AT for event in describe_changes(old, new, AT))


def test_nothing_changed_means_no_events_and_a_first_look_says_what_it_sees():
    hosts, services = topology(upgraded=2)
    snapshot = build_snapshot(cluster(), hosts, services, [UPGRADE], AT)
    assert describe_changes(snapshot, snapshot, AT) == []
    first = describe_changes(None, snapshot, AT)
    assert [event.text for event in first] == ["watching lab: mitaka → newton, UPGRADE IN PROGRESS"]


def test_changes_seen_in_one_poll_are_logged_in_engine_order():
    hosts, services = topology(upgraded=0, computes=2)
    old = build_snapshot(cluster(), hosts, services, [UPGRADE], AT)
    hosts2, services2 = topology(upgraded=4, computes=2)
    # The server lists services by name; the engine did the controller first.
    services2 = sorted(services2, key=lambda service: (service.name, service.id), reverse=True)
    new = build_snapshot(cluster(), hosts2, services2, [UPGRADE], AT, previous=old)
    moved = [event.text for event in describe_changes(old, new, AT) if "→ newton" in event.text]
    assert moved == [
        "keystone on controller-01: mitaka → newton",
        "nova-api on controller-01: mitaka → newton",
        "nova-compute on compute-01: mitaka → newton",
        "nova-compute on compute-02: mitaka → newton",
    ]
