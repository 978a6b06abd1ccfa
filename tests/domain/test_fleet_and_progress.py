"""Unit tests of kostyor_tui.domain's fleet, order and progress: pure functions over API
models, no I/O."""

from datetime import datetime, timedelta

import pytest

from kostyor_tui.api.models import Cluster, Host, Service, Upgrade
from kostyor_tui.domain import fleet, order
from kostyor_tui.domain.fleet import (
    component_version_counts,
    components,
    format_version_counts,
    host_order,
    host_version_counts,
    upgradable,
    version_counts,
)
from kostyor_tui.domain.lifecycle import (
    Readiness,
    allowed_actions,
    effective_status,
    newest_upgrade,
    readiness,
    start_refusal,
)
from kostyor_tui.domain.order import Instance
from kostyor_tui.domain.progress import HostState, eta, host_states, upgrade_progress
from kostyor_tui.domain.statuses import ClusterState, Status, cluster_state


def engine_order(hosts, services, engine=order.DEFAULT_ENGINE) -> list[Instance]:
    """Every instance of the cluster in the engine's order (the one implementation)."""
    return order.engine_order(fleet.instances(hosts, services), engine)


# A small cluster: a controller, two computes, a storage node.
TOPOLOGY = {
    "ctl": ["keystone", "glance-api", "nova-api", "neutron-server"],
    "cmp1": ["nova-compute", "neutron-openvswitch-agent"],
    "cmp2": ["nova-compute", "neutron-openvswitch-agent"],
    "sto": ["cinder-volume", "swift-object-server"],
}


def per_instance_shape(versions: dict[tuple[str, str], str], default: str = "mitaka"):
    """One Service entry per instance (one host each), both sides of the relation filled."""
    hosts, services = [], []
    for host_name, names in TOPOLOGY.items():
        ids = []
        for name in names:
            service_id = f"{name}@{host_name}"
            ids.append(service_id)
            version = versions.get((host_name, name), default)
            services.append(Service(id=service_id, name=name, version=version, hosts=[host_name]))
        hosts.append(Host(id=host_name, hostname=f"{host_name}.lab", services=ids))
    return hosts, services


def grouped_shape(versions: dict[tuple[str, str], str], default: str = "mitaka"):
    """One Service entry per (name, version), listing every host it runs on."""
    by_key: dict[tuple[str, str], list[str]] = {}
    for host_name, names in TOPOLOGY.items():
        for name in names:
            version = versions.get((host_name, name), default)
            by_key.setdefault((name, version), []).append(host_name)
    services = [
        Service(id=f"{name}:{version}", name=name, version=version, hosts=host_ids)
        for (name, version), host_ids in by_key.items()
    ]
    hosts = [
        Host(
            id=host_name,
            hostname=f"{host_name}.lab",
            services=[s.id for s in services if host_name in s.hosts],
        )
        for host_name in TOPOLOGY
    ]
    return hosts, services


SHAPES = pytest.mark.parametrize("shape", [per_instance_shape, grouped_shape])


def pairs(instances: list[Instance]) -> list[tuple[str, str]]:
    return [(instance.hostname, instance.name) for instance in instances]


# service_instances


@SHAPES
def test_one_instance_per_service_and_host_in_both_shapes(shape) -> None:
    hosts, services = shape({("cmp2", "nova-compute"): "newton"})
    found = fleet.instances(hosts, services)
    assert len(found) == 10
    assert sorted(pairs(found)) == sorted(
        (f"{host}.lab", name) for host, names in TOPOLOGY.items() for name in names
    )
    versions = {(i.host_id, i.name): i.version for i in found}
    assert versions[("cmp2", "nova-compute")] == "newton"
    assert versions[("cmp1", "nova-compute")] == "mitaka"


def test_host_side_only_relation_and_host_less_service() -> None:
    hosts = [Host(id="h1", hostname="one", services=["s1", "s2"]), Host(id="h2", services=["s1"])]
    services = [
        Service(id="s1", name="nova-compute", version="mitaka"),
        Service(id="s2", name="keystone", version="mitaka"),
        Service(id="s3", name="heat-engine", version="mitaka"),
    ]
    found = fleet.instances(hosts, services)
    # h2 has no hostname: it is shown by its id; s3 runs nowhere but still counts once.
    assert pairs(found) == [
        ("one", "nova-compute"),
        ("h2", "nova-compute"),
        ("one", "keystone"),
        ("", "heat-engine"),
    ]
    assert found[-1].host_id is None


def test_unknown_host_id_and_null_name_do_not_break() -> None:
    services = [Service(id="s1", name=None, version=None, hosts=["ghost"])]
    (instance,) = fleet.instances([], services)
    assert instance == Instance("s1", "unknown", "ghost", "ghost", None)


# engine_order


@SHAPES
def test_node_by_node_order(shape) -> None:
    hosts, services = shape({})
    order = pairs(engine_order(hosts, services, "node-by-node"))
    assert order == [
        ("ctl.lab", "keystone"),
        ("ctl.lab", "glance-api"),
        ("ctl.lab", "nova-api"),
        ("ctl.lab", "neutron-server"),
        ("cmp1.lab", "nova-compute"),
        ("cmp1.lab", "neutron-openvswitch-agent"),
        ("cmp2.lab", "nova-compute"),
        ("cmp2.lab", "neutron-openvswitch-agent"),
        ("sto.lab", "cinder-volume"),
        ("sto.lab", "swift-object-server"),
    ]


@SHAPES
def test_service_by_service_order(shape) -> None:
    hosts, services = shape({})
    order = pairs(engine_order(hosts, services, "service-by-service"))
    assert order == [
        ("ctl.lab", "keystone"),
        ("ctl.lab", "glance-api"),
        ("ctl.lab", "nova-api"),
        ("cmp1.lab", "nova-compute"),
        ("cmp2.lab", "nova-compute"),
        ("cmp1.lab", "neutron-openvswitch-agent"),
        ("cmp2.lab", "neutron-openvswitch-agent"),
        ("ctl.lab", "neutron-server"),
        ("sto.lab", "cinder-volume"),
        ("sto.lab", "swift-object-server"),
    ]


def test_unknown_engine_is_node_by_node_and_unknown_projects_go_last() -> None:
    hosts = [Host(id="a", hostname="a"), Host(id="b", hostname="b")]
    services = [
        Service(id="1", name="zaqar-server", version="m", hosts=["a"]),
        Service(id="2", name="keystone", version="m", hosts=["b"]),
        Service(id="3", name="horizon-wsgi", version="m", hosts=["a"]),
    ]
    assert pairs(engine_order(hosts, services, "mystery")) == pairs(
        engine_order(hosts, services, "node-by-node")
    )
    assert pairs(engine_order(hosts, services)) == [
        ("b", "keystone"),
        ("a", "horizon-wsgi"),
        ("a", "zaqar-server"),
    ]


def first_reached(instances: list[Instance], hosts: list[Host]) -> list[str]:
    """Host ids in the order engine_order first reaches them, then hosts it never reaches."""
    order = dict.fromkeys(i.host_id for i in instances if i.host_id is not None)
    order.update(dict.fromkeys(host.id for host in hosts if host.id is not None))
    return list(order)


@SHAPES
@pytest.mark.parametrize("engine", ["node-by-node", "service-by-service", "mystery"])
def test_host_order_is_the_hosts_order_in_engine_order(shape, engine) -> None:
    hosts, services = shape({})
    hosts.append(Host(id="idle", hostname="idle.lab"))  # runs nothing: last
    services.append(Service(id="stray", name="keystone", version="m", hosts=["elsewhere"]))
    assert host_order(hosts, services, engine) == first_reached(
        engine_order(hosts, services, engine), hosts
    )


def test_host_order_service_by_service_differs_from_node_by_node() -> None:
    hosts = [Host(id=h, hostname=h) for h in ("a", "b")]
    services = [
        Service(id="1", name="nova-compute", version="m", hosts=["a"]),
        Service(id="2", name="nova-api", version="m", hosts=["b"]),
        Service(id="3", name="keystone", version="m", hosts=["a"]),
    ]
    for engine in ("node-by-node", "service-by-service"):
        assert host_order(hosts, services, engine) == first_reached(
            engine_order(hosts, services, engine), hosts
        )


@SHAPES
def test_host_version_counts_per_host_in_release_order(shape) -> None:
    hosts, services = shape({("cmp1", "nova-compute"): "newton", ("ctl", "keystone"): "zed"})
    hosts.append(Host(id="idle", hostname="idle.lab"))
    counts = host_version_counts(hosts, services, ["mitaka", "newton"])
    assert counts["cmp1"] == {"mitaka": 1, "newton": 1}
    assert list(counts["ctl"]) == ["mitaka", "zed"]  # known releases first
    assert counts["sto"] == {"mitaka": 2}
    assert counts["idle"] == {}
    # The same numbers as counting every instance of engine_order.
    for host in hosts:
        on_host = [i.version for i in engine_order(hosts, services) if i.host_id == host.id]
        assert sum(counts[host.id].values()) == len(on_host)


@SHAPES
def test_component_version_counts_equal_version_counts(shape) -> None:
    hosts, services = shape({("cmp1", "nova-compute"): "newton", ("sto", "cinder-volume"): ""})
    releases = ["mitaka", "newton"]
    rows = components(hosts, services, releases)
    assert component_version_counts(rows, releases) == version_counts(
        services, releases, hosts=hosts
    )


# upgrade_progress


@SHAPES
def test_progress_before_during_and_after(shape) -> None:
    hosts, services = shape({})
    before = upgrade_progress(hosts, services, "newton")
    assert (before.nodes_upgraded, before.nodes_total) == (0, 4)
    assert (before.services_upgraded, before.services_total) == (0, 10)
    assert (before.current_host, before.current_service) == ("ctl.lab", "keystone")
    assert not before.done

    # The controller is done and cmp1 is half way.
    done = {(h, n): "newton" for n in TOPOLOGY["ctl"] for h in ["ctl"]}
    done[("cmp1", "nova-compute")] = "newton"
    hosts, services = shape(done)
    during = upgrade_progress(hosts, services, "newton", "node-by-node")
    assert (during.nodes_upgraded, during.nodes_total) == (1, 4)
    assert (during.services_upgraded, during.services_total) == (5, 10)
    assert (during.current_host, during.current_service) == (
        "cmp1.lab",
        "neutron-openvswitch-agent",
    )

    hosts, services = shape({}, default="newton")
    after = upgrade_progress(hosts, services, "newton")
    assert (after.nodes_upgraded, after.services_upgraded) == (4, 10)
    assert after.current_host is None and after.current_service is None
    assert after.done


@SHAPES
def test_progress_service_by_service_step(shape) -> None:
    done = {("ctl", "keystone"): "newton", ("ctl", "glance-api"): "newton"}
    done.update({("ctl", "nova-api"): "newton", ("cmp1", "nova-compute"): "newton"})
    hosts, services = shape(done)
    step = upgrade_progress(hosts, services, "newton", "service-by-service")
    assert (step.current_host, step.current_service) == ("cmp2.lab", "nova-compute")
    assert step.services_upgraded == 4
    assert step.nodes_upgraded == 0


def test_progress_rolling_back_points_at_the_last_upgraded_instance() -> None:
    done = {("ctl", name): "newton" for name in TOPOLOGY["ctl"]}
    done[("cmp1", "nova-compute")] = "newton"
    hosts, services = per_instance_shape(done)
    back = upgrade_progress(hosts, services, "newton", rolling_back=True)
    assert (back.current_host, back.current_service) == ("cmp1.lab", "nova-compute")
    hosts, services = per_instance_shape({})
    assert upgrade_progress(hosts, services, "newton", rolling_back=True).current_host is None


def test_progress_counts_empty_hosts_as_upgraded_and_ignores_null_target() -> None:
    hosts = [Host(id="a", hostname="a"), Host(id="empty", hostname="empty")]
    services = [Service(id="1", name="nova-compute", version="mitaka", hosts=["a"])]
    result = upgrade_progress(hosts, services, "newton")
    assert (result.nodes_upgraded, result.nodes_total) == (1, 2)
    nothing = upgrade_progress(hosts, services, None)
    assert nothing.services_upgraded == 0 and nothing.current_service == "nova-compute"


def test_progress_of_nothing() -> None:
    result = upgrade_progress([], [], "newton")
    assert (result.nodes_total, result.services_total, result.current_host) == (0, 0, None)


# host_states


@SHAPES
def test_host_states(shape) -> None:
    done = {("ctl", name): "newton" for name in TOPOLOGY["ctl"]}
    done[("cmp1", "nova-compute")] = "newton"
    hosts, services = shape(done)
    assert host_states(hosts, services, "newton") == {
        "ctl": HostState.UPGRADED,
        "cmp1": HostState.IN_PROGRESS,
        "cmp2": HostState.PENDING,
        "sto": HostState.PENDING,
    }


def test_host_states_include_hosts_known_only_from_services() -> None:
    services = [Service(id="1", name="nova-compute", version="newton", hosts=["ghost"])]
    assert host_states([Host(id="h")], services, "newton") == {
        "h": HostState.UPGRADED,
        "ghost": HostState.UPGRADED,
    }


# version_counts and component_rows


@SHAPES
def test_version_counts_in_release_order(shape) -> None:
    hosts, services = shape({("cmp1", "nova-compute"): "newton", ("sto", "cinder-volume"): None})
    releases = ["liberty", "mitaka", "newton", "ocata"]
    counts = version_counts(services, releases, hosts=hosts)
    assert list(counts.items()) == [("mitaka", 8), ("newton", 1), ("unknown", 1)]
    assert format_version_counts(counts) == "mitaka ×8, newton ×1, unknown ×1"


def test_version_counts_without_releases_sort_by_name_unknown_last() -> None:
    services = [
        Service(id="1", name="a", version="ocata", hosts=["x", "y"]),
        Service(id="2", name="b", version=None, hosts=["x"]),
        Service(id="3", name="c", version="mitaka", hosts=[]),
    ]
    # A release the list does not know still counts, after the known ones.
    assert list(version_counts(services).items()) == [("mitaka", 1), ("ocata", 2), ("unknown", 1)]
    assert list(version_counts(services, ["ocata"]).items()) == [
        ("ocata", 2),
        ("mitaka", 1),
        ("unknown", 1),
    ]


@SHAPES
def test_components_show_mixed_versions(shape) -> None:
    hosts, services = shape({("cmp2", "nova-compute"): "newton"})
    rows = components(hosts, services, ["mitaka", "newton"])
    assert [row.name for row in rows] == [
        "keystone",
        "glance-api",
        "nova-api",
        "nova-compute",
        "neutron-openvswitch-agent",
        "neutron-server",
        "cinder-volume",
        "swift-object-server",
    ]
    compute = rows[3]
    assert compute.hosts == ("cmp1.lab", "cmp2.lab")
    assert compute.mixed and compute.instances == 2
    assert compute.versions == (("mitaka", 1), ("newton", 1))
    assert compute.hosts_by_version == (("mitaka", ("cmp1.lab",)), ("newton", ("cmp2.lab",)))
    assert compute.version == "mitaka ×1, newton ×1"
    agent = rows[4]
    assert not agent.mixed and agent.version == "mitaka" and agent.instances == 2


def test_upgradable() -> None:
    releases = ["mitaka", "newton", "ocata"]
    assert upgradable("mitaka", releases)
    assert not upgradable("ocata", releases)
    assert not upgradable("unknown", releases)
    assert not upgradable(None, releases)


# States, statuses and actions


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (Status.READY, ClusterState.ACTIVE),
        (Status.NOT_READY, ClusterState.ACTIVE),
        (Status.CANCELLED, ClusterState.ACTIVE),
        (Status.SUCCEEDED, ClusterState.ACTIVE),
        (Status.IN_PROGRESS, ClusterState.MAINTENANCE),
        (Status.PAUSED, ClusterState.MAINTENANCE),
        (Status.ROLLBACK_IN_PROGRESS, ClusterState.MAINTENANCE),
        (Status.ERROR, ClusterState.ERROR),
        (Status.UNKNOWN, ClusterState.UNKNOWN),
    ],
)
def test_cluster_state(status: Status, state: ClusterState) -> None:
    assert cluster_state(status) is state


def test_cluster_state_of_odd_spellings_through_the_model() -> None:
    assert cluster_state(Cluster(status="UPGRADE_IN_PROGRESS").status) is ClusterState.MAINTENANCE
    assert cluster_state(Cluster(status="ROLLBACK_IN_PROGRESS").status) is ClusterState.MAINTENANCE
    assert cluster_state(Cluster(status="SOMETHING NEW").status) is ClusterState.UNKNOWN
    assert cluster_state(Cluster(status=None).status) is ClusterState.UNKNOWN


@pytest.mark.parametrize(
    ("status", "actions"),
    [
        (Status.IN_PROGRESS, ("pause", "rollback", "cancel")),
        (Status.PAUSED, ("continue", "rollback", "cancel")),
        (Status.ERROR, ("continue", "rollback")),
        (Status.CANCELLED, ()),
        (Status.SUCCEEDED, ()),
        (Status.ROLLBACK_IN_PROGRESS, ("cancel",)),
        (Status.READY, ()),
        (Status.NOT_READY, ()),
        (Status.UNKNOWN, ()),
    ],
)
def test_allowed_actions(status: Status, actions: tuple[str, ...]) -> None:
    assert allowed_actions(status) == actions


def test_start_refusal_says_why() -> None:
    unfinished = {
        Status.IN_PROGRESS,
        Status.PAUSED,
        Status.ERROR,
        Status.ROLLBACK_IN_PROGRESS,
    }
    for status in Status:
        refusal = start_refusal(status, "mitaka")
        if status in unfinished:
            assert refusal is not None and refusal[0] is Readiness.IN_PROGRESS, status
        elif status is Status.NOT_READY:
            assert refusal == (
                Readiness.NOT_READY,
                "Kostyor reports the cluster NOT READY FOR UPGRADE",
            )
        else:
            assert refusal is None, status
    assert start_refusal(Status.IN_PROGRESS, "mitaka") == (
        Readiness.IN_PROGRESS,
        "an upgrade is already in progress",
    )
    assert "paused" in start_refusal(Status.PAUSED, "mitaka")[1]
    assert "failed" in start_refusal(Status.ERROR, "mitaka")[1]
    assert "rollback" in start_refusal(Status.ROLLBACK_IN_PROGRESS, "mitaka")[1]
    unknown = (Readiness.NOT_READY, "the cluster's version is unknown")
    assert start_refusal(Status.READY, "unknown") == unknown
    assert start_refusal(Status.READY, None) == unknown
    assert start_refusal(Status.READY, "mitaka", host_count=0) == (
        Readiness.NOT_READY,
        "the cluster has no hosts",
    )


def test_readiness_is_the_start_rule_and_a_release_to_go_to() -> None:
    assert readiness(Status.READY, "mitaka", 3, ["newton"]) == (Readiness.READY, None)
    assert readiness(Status.READY, "zed", 3, []) == (
        Readiness.NOT_READY,
        "no release later than zed is known",
    )
    assert readiness(Status.PAUSED, "mitaka", 3, ["newton"])[0] is Readiness.IN_PROGRESS
    assert readiness(Status.READY, "mitaka", 0, ["newton"])[0] is Readiness.NOT_READY


def test_effective_status() -> None:
    created = Upgrade(id="u", cluster_id="c", to_version="newton", status=None)
    in_progress = Cluster(id="c", status="UPGRADE IN PROGRESS", version="mitaka")
    assert effective_status(created, in_progress) is Status.IN_PROGRESS
    assert effective_status(created, None) is Status.UNKNOWN
    finished = Cluster(id="c", status="READY FOR UPGRADE", version="newton")
    assert effective_status(created, finished) is Status.SUCCEEDED
    not_there = Cluster(id="c", status="READY FOR UPGRADE", version="mitaka")
    assert effective_status(created, not_there) is Status.UNKNOWN
    # The upgrade's own status wins when it has one.
    paused = Upgrade(id="u", status="UPGRADE PAUSED")
    assert effective_status(paused, in_progress) is Status.PAUSED


def test_newest_upgrade_by_start_time_then_list_order() -> None:
    assert newest_upgrade([]) is None
    old = Upgrade(id="old", upgrade_start_time="2026-11-24T10:00:00.000001")
    new = Upgrade(id="new", upgrade_start_time="2026-11-24T12:00:00")
    undated = Upgrade(id="undated")
    assert newest_upgrade([new, old, undated]).id == "new"
    twin = Upgrade(id="twin", upgrade_start_time="2026-11-24T12:00:00")
    assert newest_upgrade([new, twin]).id == "twin"
    assert newest_upgrade([undated, Upgrade(id="later")]).id == "later"


def test_eta() -> None:
    start = datetime(2026, 11, 24, 12, 0, 0)
    assert eta(start, start + timedelta(minutes=10), 5, 20) == timedelta(minutes=30)
    assert eta(start, start + timedelta(minutes=10), 20, 20) == timedelta(0)
    assert eta(start, start + timedelta(minutes=10), 0, 20) is None
    assert eta(None, start, 5, 20) is None
    assert eta(start, start - timedelta(seconds=1), 5, 20) is None
    assert eta(start, start, 5, 0) is None
    aware = datetime(2026, 11, 24, 12, 10, tzinfo=datetime.now().astimezone().tzinfo)
    assert eta(start, aware, 5, 20) is None


def test_a_large_fleet_is_counted_right() -> None:
    """2,000 hosts and 30,000 instances: correctness at scale (speed is the design's job)."""
    names = [f"nova-compute-{i}" for i in range(14)] + ["keystone"]
    hosts, services = [], []
    for h in range(2000):
        ids = []
        for name in names:
            service_id = f"{name}@{h}"
            ids.append(service_id)
            version = "newton" if h < 500 else "mitaka"
            services.append(Service(id=service_id, name=name, version=version, hosts=[str(h)]))
        hosts.append(Host(id=str(h), hostname=f"node-{h:04d}", services=ids))
    result = upgrade_progress(hosts, services, "newton")
    assert (result.nodes_upgraded, result.nodes_total) == (500, 2000)
    assert (result.services_upgraded, result.services_total) == (7500, 30000)
    assert (result.current_host, result.current_service) == ("node-0500", "keystone")
    assert version_counts(services, ["mitaka", "newton"], hosts=hosts) == {
        "mitaka": 22500,
        "newton": 7500,
    }
    states = host_states(hosts, services, "newton")
    assert sum(state is HostState.UPGRADED for state in states.values()) == 500
