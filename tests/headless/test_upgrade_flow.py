"""A whole upgrade driven only by headless commands, against the embedded server.

The server's simulated engine takes `step_seconds` per service instance; the
waits below poll with a bounded deadline for the state the engine reaches.
"""

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from kostyor_tui.server.runner import BackgroundServer
from tests.headless.conftest import CliResult
from tests.headless.test_commands import cluster_named, key_value_lines, run_ok
from tests.support.waiting import wait_until

Cli = Callable[..., CliResult]

STEP = 0.3


def test_start_pause_continue_rollback_cancel_status(
    server_factory: Callable[..., BackgroundServer], cli: Cli
) -> None:
    server = server_factory(step_seconds=STEP)

    def as_json(*argv: str) -> Any:
        return run_ok(cli, server, *argv, "--output", "json").json

    def as_table(*argv: str) -> dict[str, str]:
        return key_value_lines(run_ok(cli, server, *argv).out)

    def status(upgrade_id: str) -> dict[str, Any]:
        return as_json("upgrade-status", upgrade_id)

    home_lab = cluster_named(server, "home_lab")

    # Start, and read its status.
    upgrade_id = as_json("upgrade-cluster", "home_lab", "newton")["id"]
    first = status(upgrade_id)
    assert first["cluster_id"] == home_lab["id"]
    assert first["status"] == "UPGRADE IN PROGRESS"
    assert first["services_total"] == 75
    assert first["nodes_total"] == 13
    wait_until(lambda: status(upgrade_id)["services_upgraded"] >= 2, "two steps are done")

    # Pause (table output): the engine stops after the step under way.
    paused = as_table("upgrade-pause", "home_lab")
    assert paused["id"] == upgrade_id
    assert paused["status"] == "UPGRADE PAUSED"
    done_when_paused = status(upgrade_id)["services_upgraded"]
    # Nothing may move while paused: two reads three steps' time apart must agree
    # (after the step that was under way, if it had not finished yet).
    deadline = time.monotonic() + 30
    while True:
        at_pause = status(upgrade_id)
        time.sleep(3 * STEP)
        still = status(upgrade_id)
        if still["services_upgraded"] == at_pause["services_upgraded"]:
            break
        assert time.monotonic() < deadline, "the paused upgrade kept moving"
    assert at_pause["status"] == still["status"] == "UPGRADE PAUSED"
    assert still["services_upgraded"] <= done_when_paused + 1
    assert still["current"] == at_pause["current"] is not None

    # Continue (JSON output): the upgrade moves on.
    continued = as_json("upgrade-continue", "home_lab")
    assert (continued["id"], continued["status"]) == (upgrade_id, "UPGRADE IN PROGRESS")
    done_at_pause = at_pause["services_upgraded"]
    wait_until(lambda: status(upgrade_id)["services_upgraded"] > done_at_pause, "it moves on")

    # Pause and continue once more, with the formats the other way round.
    assert as_json("upgrade-pause", "home_lab")["status"] == "UPGRADE PAUSED"
    assert as_table("upgrade-continue", "home_lab")["status"] == "UPGRADE IN PROGRESS"

    # Roll back: watched to its end, the instances go back one by one.
    rolling_back = as_json("upgrade-rollback", "home_lab")
    assert (rolling_back["id"], rolling_back["status"]) == (
        upgrade_id,
        "UPGRADE ROLLBACK IN PROGRESS",
    )
    # Watched by a prefix of its id; it ends rolled back: exit 12, said on stderr.
    watched = cli(
        "--api-url",
        server.url,
        "--command",
        "upgrade-status",
        upgrade_id[:8],
        "--watch",
        "-f",
        "json",
    )
    assert watched.code == 12, watched.err
    assert watched.error_lines == [
        f"kostyor-tui: error: The upgrade {upgrade_id} of home_lab was rolled back: "
        "it is UPGRADE CANCELLED"
    ]
    reports = [json.loads(line) for line in watched.out.splitlines()]
    assert reports[0]["status"] == "UPGRADE ROLLBACK IN PROGRESS"
    counts = [report["services_upgraded"] for report in reports]
    assert counts == sorted(counts, reverse=True)
    # A rolled-back upgrade ends cancelled, with every instance back at its release.
    assert reports[-1]["status"] == "UPGRADE CANCELLED"
    assert reports[-1]["services_upgraded"] == 0
    assert reports[-1]["upgrade_end_time"] is not None

    # Nothing is left to cancel: the client refuses (exit 4) and says why.
    refused = cli("--api-url", server.url, "--command", "upgrade-cancel", "home_lab")
    assert refused.code == 4
    assert refused.out == ""
    assert refused.error_lines == [
        "kostyor-tui: error: Cannot cancel the upgrade of cluster home_lab: "
        "it is UPGRADE CANCELLED; no action is possible now; send it anyway with --force"
    ]

    # A second upgrade, cancelled while it runs.
    second = as_table("upgrade-cluster", "home_lab", "newton", "--engine", "service-by-service")
    second_id = second["id"]
    assert second_id != upgrade_id
    cancelled = as_json("upgrade-cancel", "home_lab")
    assert (cancelled["id"], cancelled["status"]) == (second_id, "UPGRADE CANCELLED")
    assert cancelled["upgrade_end_time"] is not None

    # Status again, both upgrades, as the server holds them.
    assert as_table("upgrade-status", second_id)["status"] == "UPGRADE CANCELLED"
    history = as_json("list-upgrades", "--cluster", "home_lab")
    assert [(u["id"], u["status"]) for u in history] == [
        (upgrade_id, "UPGRADE CANCELLED"),
        (second_id, "UPGRADE CANCELLED"),
    ]
    report = as_json("cluster-status", "home_lab")
    cluster = httpx.get(f"{server.url}/clusters/{home_lab['id']}").json()
    assert report["status"] == cluster["status"]
    assert report["state"] == "active"
    assert report["upgrade"]["id"] == second_id


def test_watch_follows_an_upgrade_to_its_end(
    server_factory: Callable[..., BackgroundServer], cli: Cli
) -> None:
    server = server_factory(step_seconds=0.05)
    upgrade_id = run_ok(cli, server, "upgrade-cluster", "staging", "ocata", "--output", "json")
    upgrade_id = upgrade_id.json["id"]

    lines = run_ok(cli, server, "upgrade-status", upgrade_id, "--watch").out.splitlines()
    assert len(lines) >= 2
    assert all("UPGRADE IN PROGRESS" in line for line in lines[:-1])
    assert "UPGRADE SUCCEED  nodes 2/2  services 19/19" in lines[-1]
    # Each line is a change: no two alike (apart from the time at their start).
    bodies = [line.split("  ", 1)[1] for line in lines]
    assert len(set(bodies)) == len(bodies)
    assert run_ok(cli, server, "check-upgrade", "staging", "--output", "json").json["state"] == (
        "ready"
    )
