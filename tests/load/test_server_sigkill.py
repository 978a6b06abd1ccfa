"""The server SIGKILLed at random points under load, restarted on the same database each time.

The server is a real subprocess (`ServerProcess`); 20 clients poll and act
until it dies under them. After each kill, before the restart, the SQLite file
is read directly: every acknowledged upgrade is there, the last acknowledged
action of each cluster still holds, every step is done at most once, and the
step log of the previous kill is an unchanged prefix of this one. After the
last restart the upgrades are continued to their end and the whole file is
checked. The RNG is seeded and the number of kills bounded.
"""

import asyncio
import random
import time
from pathlib import Path

import httpx

from tests.load.harness import (
    ACTIVE,
    Acknowledged,
    Ledger,
    Snapshot,
    check_acknowledged,
    check_database,
    discover_clusters,
    drain,
    failed_steps,
    run_client,
    snapshot,
    work_done,
)
from tests.support.servers import ServerProcess
from tests.support.waiting import until

CLIENTS = 20
KILLS = 6
SEED = 20261124
CLUSTER_NAMES = [f"kill-{n}" for n in range(4)]
# How long a round may take to reach real work on a very busy machine.
ROUND_TIMEOUT = 90.0
TOPOLOGY = {"controllers": "2", "computes": "4", "storage": "1", "version": "mitaka"}


async def _load_until_killed(
    server: ServerProcess,
    db_path: Path,
    cluster_ids: list[str],
    rng: random.Random,
    round_number: int,
) -> Ledger:
    """Load the server, then kill it in the middle of real work, however slow the machine:
    once this round has had mutations acknowledged and steps committed, while an upgrade
    is being moved (and, in the first round, once every cluster has started one)."""
    ledger = Ledger()
    steps_before, _ = work_done(db_path)
    clients = [
        asyncio.create_task(
            run_client(
                index,
                server.url,
                cluster_ids,
                ledger,
                seed=SEED + round_number,
                iterations=100_000,
                deadline=time.monotonic() + ROUND_TIMEOUT,
                act_probability=0.4,
            )
        )
        for index in range(CLIENTS)
    ]

    def worked() -> bool:
        steps, running = work_done(db_path)
        started = {ack.cluster_id for ack in ledger.acknowledged if ack.kind == "start"}
        return (
            running
            and steps > steps_before
            and len(ledger.acknowledged) >= 2
            and (round_number > 0 or started >= set(cluster_ids))
        )

    try:
        await until(worked, f"round {round_number} to do real work", timeout=ROUND_TIMEOUT)
        # A random moment within the work, not always the first poll that saw it.
        await asyncio.sleep(rng.uniform(0.0, 0.05))
    finally:
        server.kill()
        await asyncio.gather(*clients)
    return ledger


def _step_log_kept(before: Snapshot, after: Snapshot) -> list[str]:
    if after.steps[: len(before.steps)] != before.steps:
        return [f"step log changed across a restart: {len(before.steps)} steps before"]
    return []


async def test_sigkill_at_random_points_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    db_path = tmp_path / "killed.sqlite3"
    server = ServerProcess(
        db_path,
        seed="empty",
        step_seconds=0.02,
        fail_rate=0.02,
        # The first step of every upgrade fails: failures happen by construction, however
        # few steps a busy machine runs between the kills.
        fail_host="controller-01",
        random_seed=SEED,
    )
    problems: list[str] = []
    acknowledged: list[Acknowledged] = []
    kills_during_upgrades = 0
    previous = Snapshot({}, [])
    try:
        server.start()
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as admin:
            cluster_ids = await discover_clusters(admin, CLUSTER_NAMES, TOPOLOGY)

        for round_number in range(KILLS):
            ledger = await _load_until_killed(server, db_path, cluster_ids, rng, round_number)
            assert ledger.unexpected == [], f"round {round_number}"
            acknowledged += ledger.acknowledged

            at_kill = snapshot(db_path)
            kills_during_upgrades += any(u["status"] in ACTIVE for u in at_kill.upgrades.values())
            problems += check_acknowledged(ledger, at_kill)
            problems += check_database(db_path, expect_finished=False)
            problems += _step_log_kept(previous, at_kill)
            previous = at_kill
            server.start()

        async with httpx.AsyncClient(base_url=server.url, timeout=30) as admin:
            upgrades = await drain(admin, cluster_ids, timeout=60)
    finally:
        server.stop()

    assert problems == []
    final = snapshot(db_path)
    assert _step_log_kept(previous, final) == []
    assert check_database(db_path) == []
    assert failed_steps(db_path) > 0
    # Every upgrade the server acknowledged exists and was driven to its end.
    started = {ack.upgrade_id for ack in acknowledged if ack.kind == "start"}
    assert started <= {u["id"] for u in upgrades}
    assert all(u["status"] not in ACTIVE for u in upgrades)
    # The kills did land while upgrades were running, and upgrades got through.
    assert kills_during_upgrades >= KILLS // 2
    assert len(started) >= len(CLUSTER_NAMES)
    assert any(u["status"] == "UPGRADE SUCCEED" for u in upgrades)
