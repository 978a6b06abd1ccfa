"""`rehearse --console`: the console against a throw-away server holding the topology,
its upgrade already started, played on a sped-up clock.

The server runs as a child process (as `--demo`'s does), so that it never competes
with the console for this interpreter's lock; its step time is the plan's compressed
so that the whole upgrade plays in about `play_seconds`. The database is created here
(the topology and the started upgrade) and removed with its directory afterwards.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from kostyor_tui.config import Settings
from kostyor_tui.domain.order import DEFAULT_DRIVER
from kostyor_tui.errors import KostyorTuiError
from kostyor_tui.rehearse.rehearsal import check_versions
from kostyor_tui.rehearse.topology import Topology

# Faster than this the server does little but commit steps.
MIN_STEP_SECONDS = 0.01


def played_step_seconds(steps: int, play_seconds: float) -> float:
    """The real time a step takes so that `steps` of them play in about `play_seconds`."""
    return max(MIN_STEP_SECONDS, play_seconds / max(1, steps))


def prepare_database(path: Path, source: Topology, *, to_version: str, engine: str) -> None:
    """A database holding the topology with its upgrade to `to_version` started."""
    from kostyor_tui.server.store import Store

    store = Store(path)
    try:
        store.initialize()
        cluster = store.add_cluster(source.name, source.version, source.hosts)
        store.create_upgrade(
            cluster["id"], to_version, engine=engine, driver=DEFAULT_DRIVER, parameters={}
        )
    finally:
        store.close()


@contextlib.contextmanager
def rehearsal_server(
    source: Topology,
    *,
    to_version: str,
    engine: str,
    fail_host: str | None,
    play_seconds: float,
) -> Iterator[str]:
    """A throw-away server holding `source` with its upgrade started; yields its URL."""
    from kostyor_tui.server.process import ServerProcess

    check_versions(source, to_version)
    with tempfile.TemporaryDirectory(prefix="kostyor-rehearsal-") as directory:
        db_path = Path(directory) / "rehearsal.sqlite3"
        prepare_database(db_path, source, to_version=to_version, engine=engine)
        server = ServerProcess(
            db_path,
            seed="empty",
            step_seconds=played_step_seconds(source.instances, play_seconds),
            fail_host=fail_host,
            die_with_parent=True,
        )
        try:
            server.start()
        except RuntimeError as error:
            raise KostyorTuiError(str(error), hint="run kostyor-tui serve to see why") from None
        try:
            yield server.url
        finally:
            server.stop()


def watch(
    source: Topology,
    *,
    to_version: str,
    engine: str,
    fail_hosts: Sequence[str],
    play_seconds: float,
    load_settings: Callable[[str | None], Settings],
) -> int:
    """The console against `rehearsal_server` until the operator quits; its exit code."""
    from kostyor_tui.app import run_console

    if len(fail_hosts) > 1:
        raise KostyorTuiError("--console plays one failure at most: give one --fail-host")
    with rehearsal_server(
        source,
        to_version=to_version,
        engine=engine,
        fail_host=fail_hosts[0] if fail_hosts else None,
        play_seconds=play_seconds,
    ) as url:
        return run_console(load_settings(url))
