"""The simulated engine over real HTTP: order, actions, failures, rollback."""

import time
from collections import Counter
from collections.abc import Callable
from itertools import groupby

import httpx

from kostyor_tui.domain.order import host_rank, service_key
from kostyor_tui.server.runner import BackgroundServer
from tests.server.waiting import (
    act,
    cluster_named,
    discover_small,
    done_steps,
    start_upgrade,
    versions,
    wait_for_status,
    wait_for_steps,
)

Factory = Callable[..., BackgroundServer]


def expected_order(client: httpx.Client, cluster_id: str, engine: str) -> list[str]:
    """Instance ids in the contract's order (docs/kostyor-api.md#engine-order), computed from
    the API's data."""
    hosts = client.get(f"/clusters/{cluster_id}/hosts").json()
    services = client.get(f"/clusters/{cluster_id}/services").json()
    name_of = {service["id"]: service["name"] for service in services}
    host_key = {
        host["id"]: (host_rank(name_of[sid] for sid in host["services"]), host["hostname"])
        for host in hosts
    }

    def key(service: dict) -> tuple:
        by_host = host_key[service["hosts"][0]]
        by_service = service_key(service["name"])
        return (by_service, by_host) if engine == "service-by-service" else (by_host, by_service)

    return [service["id"] for service in sorted(services, key=key)]


def quiet_period(step_seconds: float) -> None:
    """Give the engine time to (wrongly) do more steps; only used to prove that it does not."""
    time.sleep(10 * step_seconds + 0.2)


def test_node_by_node_upgrade_of_home_lab(server_factory: Factory) -> None:
    server = server_factory(step_seconds=0.01)
    with httpx.Client(base_url=server.url) as client:
        home = cluster_named(client, "home_lab")
        order = expected_order(client, home["id"], "node-by-node")
        upgrade = start_upgrade(client, home["id"], "newton")
        finished = wait_for_status(client, upgrade["id"], "UPGRADE SUCCEED")
        steps = done_steps(client, upgrade["id"])
        assert [step["service_id"] for step in steps] == order
        assert [step["position"] for step in steps] == list(range(len(order)))
        # Host by host: controllers, then computes, then storage nodes, each host once.
        hosts_in_order = [hostname for hostname, _ in groupby(s["hostname"] for s in steps)]
        assert len(hosts_in_order) == 13
        assert [h.split("-")[0] for h in hosts_in_order] == ["controller"] * 3 + ["compute"] * 8 + [
            "storage"
        ] * 2
        assert steps[0]["service"] == "keystone"
        assert set(versions(client, home["id"]).values()) == {"newton"}
        assert cluster_named(client, "home_lab") == {
            **home,
            "version": "newton",
            "status": "READY FOR UPGRADE",
        }
        assert finished["upgrade_end_time"] is not None


def test_service_by_service_upgrade_of_home_lab(server_factory: Factory) -> None:
    server = server_factory(step_seconds=0.01)
    with httpx.Client(base_url=server.url) as client:
        home = cluster_named(client, "home_lab")
        order = expected_order(client, home["id"], "service-by-service")
        upgrade = start_upgrade(client, home["id"], "ocata", engine="service-by-service")
        assert upgrade["engine"] == "service-by-service"
        wait_for_status(client, upgrade["id"], "UPGRADE SUCCEED")
        steps = done_steps(client, upgrade["id"])
        assert [step["service_id"] for step in steps] == order
        services_in_order = [name for name, _ in groupby(s["service"] for s in steps)]
        assert len(services_in_order) == len(set(services_in_order))  # each service once
        assert services_in_order[0] == "keystone"
        assert services_in_order[-1].startswith("swift-")
        assert set(versions(client, home["id"]).values()) == {"ocata"}
        assert cluster_named(client, "home_lab")["version"] == "ocata"


def test_demo_home_lab_upgrade_completes_in_seconds(server: BackgroundServer) -> None:
    """The demo seed with 0.05 s steps: home_lab to newton (75 instances)."""
    with httpx.Client(base_url=server.url) as client:
        home = cluster_named(client, "home_lab")
        began = time.monotonic()
        upgrade = start_upgrade(client, home["id"], "newton")
        wait_for_status(client, upgrade["id"], "UPGRADE SUCCEED", timeout=30)
        elapsed = time.monotonic() - began
        print(f"home_lab mitaka -> newton at 0.05 s/step: {elapsed:.2f} s")
        assert elapsed < 15


def test_last_release_leaves_the_cluster_not_ready(server_factory: Factory) -> None:
    server = server_factory(step_seconds=0.0, seed="empty")
    with httpx.Client(base_url=server.url) as client:
        cluster = discover_small(client, version="yoga")
        upgrade = start_upgrade(client, cluster["id"], "zed")
        wait_for_status(client, upgrade["id"], "UPGRADE SUCCEED")
        assert cluster_named(client, "small")["status"] == "NOT READY FOR UPGRADE"
        assert client.get(f"/upgrade-versions/{cluster['id']}").json() == []


def test_cluster_without_hosts_succeeds_at_once(server_factory: Factory) -> None:
    server = server_factory(seed="empty")
    with httpx.Client(base_url=server.url) as client:
        empty = discover_small(client, controllers="0", computes="0", storage="0")
        upgrade = start_upgrade(client, empty["id"])
        assert upgrade["status"] == "UPGRADE SUCCEED"
        assert cluster_named(client, "small")["version"] == "newton"


def test_pause_stops_after_the_current_step_and_continue_resumes(server_factory: Factory) -> None:
    server = server_factory(step_seconds=0.03, seed="empty")
    with httpx.Client(base_url=server.url) as client:
        small = discover_small(client)
        upgrade = start_upgrade(client, small["id"])
        wait_for_steps(client, upgrade["id"], 3)
        paused = act(client, upgrade, "pause").json()
        assert paused["status"] == "UPGRADE PAUSED"
        done_at_pause = len(done_steps(client, upgrade["id"]))
        quiet_period(0.03)
        done_after = len(done_steps(client, upgrade["id"]))
        assert done_at_pause <= done_after <= done_at_pause + 1
        assert client.get(f"/upgrades/{upgrade['id']}").json()["status"] == "UPGRADE PAUSED"
        assert Counter(versions(client, small["id"]).values())["newton"] == done_after
        assert act(client, upgrade, "continue").json()["status"] == "UPGRADE IN PROGRESS"
        wait_for_status(client, upgrade["id"], "UPGRADE SUCCEED")
        assert len(done_steps(client, upgrade["id"])) == 25
        assert set(versions(client, small["id"]).values()) == {"newton"}


def test_cancel_stops_for_good(server_factory: Factory) -> None:
    server = server_factory(step_seconds=0.03, seed="empty")
    with httpx.Client(base_url=server.url) as client:
        small = discover_small(client)
        upgrade = start_upgrade(client, small["id"])
        wait_for_steps(client, upgrade["id"], 3)
        assert act(client, upgrade, "cancel").json()["status"] == "UPGRADE CANCELLED"
        assert cluster_named(client, "small")["status"] == "UPGRADE CANCELLED"
        done = len(done_steps(client, upgrade["id"]))
        quiet_period(0.03)
        assert len(done_steps(client, upgrade["id"])) == done
        assert act(client, upgrade, "continue").status_code == 400
        mixed = Counter(versions(client, small["id"]).values())
        assert mixed == {"newton": done, "mitaka": 25 - done}
        assert cluster_named(client, "small")["version"] == "mitaka"
        # A new upgrade takes the instances that are still behind.
        again = start_upgrade(client, small["id"])
        wait_for_status(client, again["id"], "UPGRADE SUCCEED")
        assert len(done_steps(client, again["id"])) == 25 - done
        assert set(versions(client, small["id"]).values()) == {"newton"}


def assert_rolled_back(client: httpx.Client, upgrade: dict, before: dict[str, str]) -> None:
    final = wait_for_status(client, upgrade["id"], "UPGRADE CANCELLED")
    assert final["upgrade_end_time"] is not None
    assert versions(client, upgrade["cluster_id"]) == before
    forward = [s["position"] for s in done_steps(client, upgrade["id"])]
    backward = [s["position"] for s in done_steps(client, upgrade["id"], "rollback")]
    assert backward == forward[::-1]  # upgraded instances go back in reverse order
    cluster = client.get(f"/clusters/{upgrade['cluster_id']}").json()
    assert (cluster["version"], cluster["status"]) == ("mitaka", "READY FOR UPGRADE")


def test_rollback_while_in_progress(server_factory: Factory) -> None:
    server = server_factory(step_seconds=0.02, seed="empty")
    with httpx.Client(base_url=server.url) as client:
        small = discover_small(client)
        before = versions(client, small["id"])
        upgrade = start_upgrade(client, small["id"])
        wait_for_steps(client, upgrade["id"], 5)
        rolling = act(client, upgrade, "rollback").json()
        assert rolling["status"] == "UPGRADE ROLLBACK IN PROGRESS"
        assert cluster_named(client, "small")["status"] == "UPGRADE ROLLBACK IN PROGRESS"
        # While rolling back only cancel is allowed (docs/kostyor-api.md#lifecycle): the
        # others are refused, and this rollback is left to finish.
        for action in ("pause", "continue", "rollback"):
            assert act(client, upgrade, action).status_code == 400
        assert_rolled_back(client, upgrade, before)


def test_cancel_stops_a_rollback(server_factory: Factory) -> None:
    server = server_factory(step_seconds=0.1, seed="empty")
    with httpx.Client(base_url=server.url) as client:
        small = discover_small(client)
        upgrade = start_upgrade(client, small["id"])
        wait_for_steps(client, upgrade["id"], 5)
        assert act(client, upgrade, "rollback").status_code == 200
        wait_for_steps(client, upgrade["id"], 1, "rollback")
        cancelled = act(client, upgrade, "cancel")
        assert cancelled.status_code == 200
        assert cancelled.json()["status"] == "UPGRADE CANCELLED"
        rolled_back = len(done_steps(client, upgrade["id"], "rollback"))
        quiet_period(0.1)
        # Cancelled: the engine rolls back nothing more.
        assert len(done_steps(client, upgrade["id"], "rollback")) == rolled_back
        assert cluster_named(client, "small")["status"] == "UPGRADE CANCELLED"


def test_rollback_while_paused(server_factory: Factory) -> None:
    server = server_factory(step_seconds=0.02, seed="empty")
    with httpx.Client(base_url=server.url) as client:
        small = discover_small(client)
        before = versions(client, small["id"])
        upgrade = start_upgrade(client, small["id"])
        wait_for_steps(client, upgrade["id"], 4)
        act(client, upgrade, "pause")
        assert act(client, upgrade, "rollback").status_code == 200
        assert_rolled_back(client, upgrade, before)


def test_failure_on_a_host_then_continue_succeeds(server_factory: Factory) -> None:
    server = server_factory(step_seconds=0.01, seed="empty", fail_host="compute-02")
    with httpx.Client(base_url=server.url) as client:
        small = discover_small(client)
        upgrade = start_upgrade(client, small["id"])
        failed = wait_for_status(client, upgrade["id"], "UPGRADE ERROR")
        assert cluster_named(client, "small")["status"] == "UPGRADE ERROR"
        attempts = client.get(f"/upgrades/{upgrade['id']}/steps").json()
        assert attempts[-1]["outcome"] == "failed"
        assert attempts[-1]["hostname"] == "compute-02"
        failed_position = attempts[-1]["position"]
        # Everything before the failed step is done, nothing after it.
        assert [s["position"] for s in attempts[:-1]] == list(range(failed_position))
        quiet_period(0.01)
        assert client.get(f"/upgrades/{upgrade['id']}").json() == failed
        assert act(client, upgrade, "pause").status_code == 400
        assert act(client, upgrade, "cancel").status_code == 400
        assert act(client, upgrade, "continue").json()["status"] == "UPGRADE IN PROGRESS"
        wait_for_status(client, upgrade["id"], "UPGRADE SUCCEED")
        steps = done_steps(client, upgrade["id"])
        assert [s["position"] for s in steps] == list(range(25))  # retried, then went on
        assert set(versions(client, small["id"]).values()) == {"newton"}


def test_failure_then_rollback_restores_every_instance(server_factory: Factory) -> None:
    server = server_factory(step_seconds=0.01, seed="empty", fail_host="compute-01")
    with httpx.Client(base_url=server.url) as client:
        small = discover_small(client)
        before = versions(client, small["id"])
        upgrade = start_upgrade(client, small["id"])
        wait_for_status(client, upgrade["id"], "UPGRADE ERROR")
        assert Counter(versions(client, small["id"]).values())["newton"] > 0
        assert act(client, upgrade, "rollback").status_code == 200
        assert_rolled_back(client, upgrade, before)


def failed_positions(server: BackgroundServer) -> list[int]:
    """Upgrade staging to ocata, continuing after every failure; the failed positions."""
    with httpx.Client(base_url=server.url) as client:
        cluster = cluster_named(client, "staging")
        upgrade = start_upgrade(client, cluster["id"], "ocata")
        while True:
            status = wait_for_status(client, upgrade["id"], "UPGRADE ERROR", "UPGRADE SUCCEED")[
                "status"
            ]
            if status == "UPGRADE SUCCEED":
                break
            assert act(client, upgrade, "continue").status_code == 200
        assert set(versions(client, cluster["id"]).values()) == {"ocata"}
        attempts = client.get(f"/upgrades/{upgrade['id']}/steps").json()
        return [s["position"] for s in attempts if s["outcome"] == "failed"]


def test_fail_rate_is_reproducible_with_a_random_seed(server_factory: Factory) -> None:
    options = {"step_seconds": 0.0, "fail_rate": 0.2, "random_seed": 42}
    first = failed_positions(server_factory(**options))
    second = failed_positions(server_factory(**options))
    assert first, "with this seed, a 20% failure rate over 19 steps fails at least once"
    assert first == second
    other = failed_positions(server_factory(**{**options, "random_seed": 43}))
    assert other != first


def test_engine_keeps_several_upgrades_going(server_factory: Factory) -> None:
    server = server_factory(step_seconds=0.01, seed="empty")
    with httpx.Client(base_url=server.url) as client:
        clusters = [discover_small(client, name=f"c{n}") for n in range(3)]
        upgrades = [start_upgrade(client, cluster["id"]) for cluster in clusters]
        for upgrade in upgrades:
            wait_for_status(client, upgrade["id"], "UPGRADE SUCCEED")
        assert all(cluster_named(client, f"c{n}")["version"] == "newton" for n in range(3))
        assert server.engine.last_error is None
