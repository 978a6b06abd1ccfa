"""The throw-away server a rehearsal runs in: a temporary SQLite store holding a copy of
the topology, and the simulated engine on a virtual clock, played to the end at once.

Nothing listens: the engine and the store are driven in this thread (the console mode,
which needs a real server, is `rehearse.console`). The temporary directory is removed
when the run is over, whatever happens.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kostyor_tui.domain.lifecycle import Action
from kostyor_tui.domain.order import DEFAULT_DRIVER
from kostyor_tui.domain.statuses import Status
from kostyor_tui.rehearse.plan import Step
from kostyor_tui.server.engine import Engine, Failures
from kostyor_tui.server.engine_clock import VirtualClock
from kostyor_tui.server.store import Store
from kostyor_tui.server.topology import HostSpec

# A database thrown away at the end needs no durability: in memory-backed storage its
# commits wait for no disk, which makes a rehearsal several times faster.
_MEMORY_BACKED = "/dev/shm"


def _scratch() -> str | None:
    """Where the throw-away database goes: memory-backed storage if the system has it,
    else the usual temporary directory."""
    if os.path.isdir(_MEMORY_BACKED) and os.access(_MEMORY_BACKED, os.W_OK | os.X_OK):
        return _MEMORY_BACKED
    return None


@dataclass(frozen=True)
class RunLog:
    """What the engine did: its steps, how the upgrade ended, and the virtual time it took."""

    steps: list[Step]
    status: str  # the upgrade's status once the engine stopped moving it
    engine_seconds: float  # the virtual time it took, at `step_seconds` a step
    rolled_back: bool  # a failed upgrade was rolled back (then `status` is the rollback's end)


def _logged(rows: Sequence[dict[str, object]]) -> list[Step]:
    return [
        Step(
            position=int(str(row["position"])),
            direction=str(row["direction"]),
            outcome=str(row["outcome"]),
            hostname=str(row["hostname"]),
            service=str(row["service"]),
        )
        for row in rows
    ]


def play(
    name: str,
    version: str,
    hosts: Sequence[HostSpec],
    *,
    to_version: str,
    engine: str,
    step_seconds: float,
    fail_host: str | None = None,
) -> RunLog:
    """Copy the topology into a new store, upgrade it to `to_version` with `engine` on a
    virtual clock; if it fails (on `fail_host`), roll it back. Return what happened."""
    with tempfile.TemporaryDirectory(prefix="kostyor-rehearsal-", dir=_scratch()) as directory:
        store = Store(Path(directory) / "rehearsal.sqlite3")
        try:
            store.initialize()
            cluster = store.add_cluster(name, version, hosts)
            clock = VirtualClock()
            runner = Engine(store, step_seconds, Failures(host=fail_host), clock=clock)
            upgrade = store.create_upgrade(
                cluster["id"], to_version, engine=engine, driver=DEFAULT_DRIVER, parameters={}
            )
            runner.run_until_idle()
            status = store.get_upgrade(upgrade["id"])["status"]
            rolled_back = False
            if status == Status.ERROR:
                store.apply_action(cluster["id"], Action.ROLLBACK, upgrade["id"])
                runner.run_until_idle()
                rolled_back = True
                status = store.get_upgrade(upgrade["id"])["status"]
            return RunLog(
                steps=_logged(store.step_log(upgrade["id"])),
                status=str(status),
                engine_seconds=clock.now(),
                rolled_back=rolled_back,
            )
        finally:
            store.close()
