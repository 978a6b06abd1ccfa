"""A real server process killed with SIGKILL mid-upgrade resumes on restart: no step lost or
done twice, and the end state is the one of an uninterrupted run."""

from pathlib import Path
from typing import Any

import httpx

from tests.server.waiting import (
    act,
    cluster_named,
    done_steps,
    start_upgrade,
    versions,
    wait_for_status,
    wait_for_steps,
)
from tests.support.servers import ServerProcess, running_server

HOME_LAB_INSTANCES = 75


def fleet_state(client: httpx.Client) -> dict[str, Any]:
    """Everything the API says about the fleet, minus what differs between runs by nature
    (upgrade ids and times)."""
    clusters = client.get("/clusters").json()
    upgrades = client.get("/upgrades").json()
    return {
        "clusters": clusters,
        "hosts": {c["id"]: client.get(f"/clusters/{c['id']}/hosts").json() for c in clusters},
        "services": {c["id"]: client.get(f"/clusters/{c['id']}/services").json() for c in clusters},
        "upgrades": [
            {
                k: v
                for k, v in u.items()
                if k not in ("id", "upgrade_start_time", "upgrade_end_time")
            }
            for u in upgrades
        ],
        "steps": [
            [
                {k: v for k, v in step.items() if k != "at"}
                for step in client.get(f"/upgrades/{u['id']}/steps").json()
            ]
            for u in upgrades
        ],
    }


def uninterrupted_run(db_path: Path) -> dict[str, Any]:
    with (
        running_server(db_path, step_seconds=0.0) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        upgrade = start_upgrade(client, cluster_named(client, "home_lab")["id"])
        wait_for_status(client, upgrade["id"], "UPGRADE SUCCEED")
        return fleet_state(client)


def test_sigkill_mid_upgrade_twice_then_restart_completes(tmp_path: Path) -> None:
    db_path = tmp_path / "killed.sqlite3"
    process = ServerProcess(db_path, step_seconds=0.05).start()
    try:
        with httpx.Client(base_url=process.url) as client:
            upgrade = start_upgrade(client, cluster_named(client, "home_lab")["id"])
            wait_for_steps(client, upgrade["id"], 15)
        process.kill()
        for kill_after in (35, None):
            process = ServerProcess(db_path, step_seconds=0.05).start()
            with httpx.Client(base_url=process.url) as client:
                if kill_after is not None:
                    wait_for_steps(client, upgrade["id"], kill_after)
                    process.kill()
                    continue
                final = wait_for_status(client, upgrade["id"], "UPGRADE SUCCEED", timeout=30)
                assert final["status"] == "UPGRADE SUCCEED"
                steps = done_steps(client, upgrade["id"])
                # Every step exactly once, in order, across two kills.
                assert [s["position"] for s in steps] == list(range(HOME_LAB_INSTANCES))
                assert len(client.get("/clusters").json()) == 4  # not seeded again
                killed_state = fleet_state(client)
    finally:
        process.kill()
    assert killed_state == uninterrupted_run(tmp_path / "reference.sqlite3")


def test_sigkill_while_paused_and_while_rolling_back(tmp_path: Path) -> None:
    db_path = tmp_path / "killed.sqlite3"
    process = ServerProcess(db_path, step_seconds=0.05).start()
    try:
        with httpx.Client(base_url=process.url) as client:
            home = cluster_named(client, "home_lab")
            before = versions(client, home["id"])
            upgrade = start_upgrade(client, home["id"])
            wait_for_steps(client, upgrade["id"], 10)
            act(client, upgrade, "pause")
        process.kill()

        process = ServerProcess(db_path, step_seconds=0.05).start()
        with httpx.Client(base_url=process.url) as client:
            # Still paused after the restart, at the step where it stopped.
            paused = client.get(f"/upgrades/{upgrade['id']}").json()
            assert paused["status"] == "UPGRADE PAUSED"
            done = len(done_steps(client, upgrade["id"]))
            assert act(client, upgrade, "rollback").status_code == 200
            wait_for_steps(client, upgrade["id"], 4, direction="rollback")
        process.kill()

        process = ServerProcess(db_path, step_seconds=0.05).start()
        with httpx.Client(base_url=process.url) as client:
            wait_for_status(client, upgrade["id"], "UPGRADE CANCELLED")
            back = [s["position"] for s in done_steps(client, upgrade["id"], "rollback")]
            assert back == list(range(done))[::-1]
            assert versions(client, home["id"]) == before
            assert cluster_named(client, "home_lab")["status"] == "READY FOR UPGRADE"
        assert process.stop() == 0  # SIGTERM: a clean exit
    finally:
        process.kill()
