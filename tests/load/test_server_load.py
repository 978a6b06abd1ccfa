"""The embedded server under load: 24 clients polling and acting while upgrades run.

A real server (uvicorn + engine threads, SQLite file) on loopback; the clients
are httpx on the test's event loop, each a bounded loop with its own seeded RNG.
Afterwards every upgrade is finished, each of its steps was done exactly once,
every acknowledged upgrade exists (and no other), and the file passes
`PRAGMA integrity_check`.
"""

import asyncio
import time
from pathlib import Path

import httpx

from tests.load.harness import (
    Ledger,
    check_acknowledged,
    check_database,
    discover_clusters,
    drain,
    failed_steps,
    run_client,
    snapshot,
)
from tests.support.servers import running_server
from tests.support.waiting import until

CLIENTS = 24
# Clients loop until the load has done its work; this only bounds a runaway.
ITERATIONS = 10_000
# An upper bound: the load runs until it has done its work (see `loaded`).
LOAD_TIMEOUT = 90.0
# Some steps fail, so upgrades also go through UPGRADE ERROR and are continued: at
# random, and by construction the first step of every upgrade (on controller-01).
FAIL_RATE = 0.02
FAIL_HOST = "controller-01"
CLUSTER_NAMES = [f"load-{n}" for n in range(5)]
# 2 controllers, 4 computes, 1 storage node: 46 service instances, so an upgrade
# takes about a second at 0.02 s a step and several run through during the load.
TOPOLOGY = {"controllers": "2", "computes": "4", "storage": "1", "version": "mitaka"}


async def test_concurrent_clients_while_upgrades_run(tmp_path: Path) -> None:
    db_path = tmp_path / "load.sqlite3"
    ledger = Ledger()
    with running_server(
        db_path,
        seed="demo",
        step_seconds=0.02,
        fail_rate=FAIL_RATE,
        fail_host=FAIL_HOST,
        random_seed=5,
    ) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as admin:
            cluster_ids = await discover_clusters(admin, CLUSTER_NAMES, TOPOLOGY)
            stop = asyncio.Event()
            clients = [
                asyncio.create_task(
                    run_client(
                        index,
                        server.url,
                        cluster_ids,
                        ledger,
                        seed=5,
                        iterations=ITERATIONS,
                        deadline=time.monotonic() + LOAD_TIMEOUT,
                        stop=stop,
                    )
                )
                for index in range(CLIENTS)
            ]

            def loaded() -> bool:
                """The load has done what it is meant to, however slow the machine."""
                started = {ack.cluster_id for ack in ledger.acknowledged if ack.kind == "start"}
                return (
                    sum(ledger.requests.values()) >= CLIENTS * 10
                    and started >= set(cluster_ids)
                    and any(ack.kind != "start" for ack in ledger.acknowledged)
                    and failed_steps(db_path) > 0
                )

            try:
                await until(
                    loaded, "the load to start and act on every cluster", timeout=LOAD_TIMEOUT
                )
            finally:
                stop.set()
                await asyncio.gather(*clients)
            # Read before draining: draining sends "continue"s the ledger does not know of.
            after_load = snapshot(db_path)
            upgrades = await drain(admin, cluster_ids, timeout=30)

    assert ledger.unexpected == []
    assert ledger.uncertain == {}
    # The load did what it is meant to: many requests, upgrades started and acted on.
    assert sum(ledger.requests.values()) >= CLIENTS * 10
    started = [ack for ack in ledger.acknowledged if ack.kind == "start"]
    assert len(started) >= len(CLUSTER_NAMES)
    assert any(ack.kind != "start" for ack in ledger.acknowledged)

    # Every POST answered 201 made exactly one upgrade, and no upgrade appeared otherwise.
    assert sorted(u["id"] for u in upgrades) == sorted(ack.upgrade_id for ack in started)
    assert any(u["status"] == "UPGRADE SUCCEED" for u in upgrades)

    assert check_acknowledged(ledger, after_load) == []
    assert check_database(db_path) == []
    # Injected step failures happened and were continued through.
    assert failed_steps(db_path) > 0
