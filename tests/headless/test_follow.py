"""`upgrade-status` by id, id prefix or cluster; `--watch` and `--wait` to the end, with an
exit code that follows how the upgrade ended; giving up on a state nothing will move;
following through a server restart.

The embedded server makes every ending happen by construction: `fail_host` fails the
first step on a host (UPGRADE ERROR), an hour a step freezes an upgrade where it is,
and the same database served again on the same port is a restart. Upgrade ids that
share a prefix cannot be had from it (they are random): the canned loopback server
serves two, and says so.
"""

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from kostyor_tui.api.errors import Busy, NotFound, ServerError, Unreachable
from kostyor_tui.commands import DEFAULT_IDLE_TIMEOUT
from kostyor_tui.domain.statuses import Status
from kostyor_tui.errors import GaveUpWaiting
from kostyor_tui.headless import follow as follow_module
from kostyor_tui.headless.follow import MAX_BACKOFF, Limits, follow
from kostyor_tui.reports import UpgradeStatusReport
from kostyor_tui.server.runner import BackgroundServer
from tests.headless.conftest import ENV_VARIABLES, CliResult
from tests.headless.test_commands import cluster_named, run_ok
from tests.server.waiting import wait_for_status
from tests.support.canned import canned_server, json_answer
from tests.support.servers import running_server
from tests.support.waiting import wait_until

Cli = Callable[..., CliResult]
CONSOLE_SCRIPT = Path(sys.executable).with_name("kostyor-tui")


def status_of(cli: Cli, server: BackgroundServer, target: str) -> dict[str, Any]:
    return run_ok(cli, server, "upgrade-status", target, "-f", "json").json


def outcome(cli: Cli, server: BackgroundServer, *argv: str) -> CliResult:
    return cli("--api-url", server.url, "--command", "upgrade-status", *argv)


def error_line(result: CliResult) -> str:
    assert "Traceback" not in result.err
    (line,) = result.error_lines
    assert line.startswith("kostyor-tui: error: ")
    return line.removeprefix("kostyor-tui: error: ")


# Naming the upgrade


def test_upgrade_status_takes_an_id_a_prefix_or_a_cluster(
    server: BackgroundServer, cli: Cli
) -> None:
    started = run_ok(cli, server, "upgrade-cluster", "home_lab", "newton", "-f", "json").json
    home_lab = cluster_named(server, "home_lab")
    for target in (started["id"], started["id"][:8], started["id"][:4], "home_lab", home_lab["id"]):
        report = status_of(cli, server, target)
        assert (report["id"], report["cluster_name"]) == (started["id"], "home_lab"), target

    never = outcome(cli, server, "legacy")
    assert never.code == 3
    assert error_line(never) == (
        "Cluster legacy has never had an upgrade; start one with upgrade-cluster"
    )
    unknown = outcome(cli, server, "nowhere")
    assert unknown.code == 3
    assert "No upgrade with id or id prefix 'nowhere', and no cluster named" in error_line(unknown)


def two_upgrades_sharing_a_prefix(
    method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
) -> Any:
    cluster = {"id": "c-1", "name": "lab", "version": "mitaka", "status": "UPGRADE PAUSED"}
    # A cluster whose name is also the start of the upgrades' ids.
    misleading = {
        "id": "c-2",
        "name": "abcd00",
        "version": "mitaka",
        "status": "READY FOR UPGRADE",
    }
    upgrades = [
        {
            "id": f"abcd000{n}-0000-4000-8000-000000000000",
            "cluster_id": "c-1",
            "from_version": "mitaka",
            "to_version": "newton",
            "status": status,
            "upgrade_start_time": f"2026-11-2{n}T10:00:00",
            "upgrade_end_time": None,
        }
        for n, status in ((1, "UPGRADE CANCELLED"), (2, "UPGRADE PAUSED"))
    ]
    answers: dict[str, Any] = {
        "/clusters": [cluster, misleading],
        "/clusters/c-1": cluster,
        "/clusters/c-2": misleading,
        "/clusters/c-1/hosts": [],
        "/clusters/c-1/services": [],
        "/upgrades": upgrades,
    }
    answers.update({f"/upgrades/{u['id']}": u for u in upgrades})
    if path in answers:
        return json_answer(200, answers[path])
    return json_answer(404, {"message": "not found"})


def test_an_ambiguous_or_short_prefix(cli: Cli) -> None:
    # Served by the canned loopback server: the embedded one mints random ids.
    with canned_server(two_upgrades_sharing_a_prefix) as canned:

        def status(target: str) -> CliResult:
            return cli("--api-url", canned.url, "--command", "upgrade-status", target, "-f", "json")

        ambiguous = status("abcd")
        assert ambiguous.code == 2
        assert error_line(ambiguous) == (
            "2 upgrades have ids starting with 'abcd': abcd0001-0000-4000-8000-000000000000, "
            "abcd0002-0000-4000-8000-000000000000; give more of the id"
        )
        assert status("abcd0001").json["status"] == "UPGRADE CANCELLED"
        # The cluster: its newest upgrade.
        assert status("lab").json["id"].startswith("abcd0002")
        short = status("abc")
        assert short.code == 3
        assert "(a prefix needs 4+)" in error_line(short)
        # A cluster's name that starts upgrade ids too: not guessed.
        both = status("abcd00")
        assert both.code == 2
        assert error_line(both).startswith(
            "'abcd00' names cluster abcd00 and starts the id of 2 other upgrade(s): abcd0001"
        )
        assert status("c-2").code == 3  # by its id: the cluster, which never had an upgrade


# How it ended: --wait and --watch exit codes


@pytest.fixture
def failing(server_factory: Callable[..., BackgroundServer]) -> BackgroundServer:
    """Fast steps; the first step on home_lab's compute-01 fails."""
    return server_factory(step_seconds=0.02, fail_host="compute-01")


def test_wait_exit_codes_follow_how_the_upgrade_ended(failing: BackgroundServer, cli: Cli) -> None:
    # Succeeded: 0, and the final report on stdout.
    run_ok(cli, failing, "upgrade-cluster", "staging", "ocata")
    done = outcome(cli, failing, "staging", "--wait", "-f", "value", "-c", "status")
    assert (done.code, done.out, done.err) == (0, "UPGRADE SUCCEED\n", "")

    # Failed at a step: 10, where it failed, and the way on.
    upgrade_id = run_ok(cli, failing, "upgrade-cluster", "home_lab", "newton", "-f", "json").json
    upgrade_id = upgrade_id["id"]
    failed = outcome(cli, failing, "home_lab", "--wait", "-f", "json")
    assert failed.code == 10, failed.err
    assert failed.json["status"] == "UPGRADE ERROR"
    assert failed.json["current"]["host"] == "compute-01"
    line = error_line(failed)
    assert line.startswith(f"The upgrade {upgrade_id} of home_lab failed at compute-01 ")
    assert line.endswith(
        "it is UPGRADE ERROR; continue it with upgrade-continue (the failed step is retried), "
        "or roll it back with upgrade-rollback"
    )

    # Rolled back: 12, seen rolling back by --watch...
    run_ok(cli, failing, "upgrade-rollback", "home_lab")
    watched = outcome(cli, failing, upgrade_id[:8], "--watch", "-f", "json")
    assert watched.code == 12, watched.err
    statuses = [json.loads(line)["status"] for line in watched.out.splitlines()]
    assert statuses[-1] == "UPGRADE CANCELLED"
    assert error_line(watched) == (
        f"The upgrade {upgrade_id} of home_lab was rolled back: it is UPGRADE CANCELLED"
    )
    # ...and told by the server's step log when the rollback was over before the wait.
    after = outcome(cli, failing, upgrade_id, "--wait")
    assert after.code == 12
    assert "was rolled back" in error_line(after)


def test_wait_exit_code_for_a_cancelled_upgrade(
    server_factory: Callable[..., BackgroundServer], cli: Cli
) -> None:
    frozen = server_factory(step_seconds=3600)  # it is still running when cancelled
    run_ok(cli, frozen, "upgrade-cluster", "home_lab", "newton")
    run_ok(cli, frozen, "upgrade-cancel", "home_lab")
    cancelled = outcome(cli, frozen, "home_lab", "--wait", "-f", "value", "-c", "status")
    assert (cancelled.code, cancelled.out) == (11, "UPGRADE CANCELLED\n")
    assert error_line(cancelled).endswith("of home_lab was cancelled: it is UPGRADE CANCELLED")


def test_wait_gives_up_on_a_state_nothing_moves(
    server_factory: Callable[..., BackgroundServer], cli: Cli, tmp_path: Path
) -> None:
    # An upgrade stopped by a failure, then frozen (an hour a step) and rolled back: the
    # rollback's first step never comes, as on the real server, where no rollback ends
    # (docs/kostyor-api.md#quirk-no-progress).
    db_path = tmp_path / "frozen.sqlite3"
    fast = server_factory(db_path=db_path, step_seconds=0.02, fail_host="compute-01")
    started = run_ok(cli, fast, "upgrade-cluster", "home_lab", "newton", "-f", "json").json
    with httpx.Client(base_url=fast.url) as client:
        wait_for_status(client, started["id"], "UPGRADE ERROR")
    fast.stop()
    with running_server(db_path, step_seconds=3600) as frozen:
        rolling = run_ok(cli, frozen, "upgrade-rollback", "home_lab", "-f", "json").json
        assert rolling["status"] == "UPGRADE ROLLBACK IN PROGRESS"
        stuck = outcome(cli, frozen, "home_lab", "--wait", "--idle-timeout", "0.5")
        assert (stuck.code, stuck.out) == (13, "")
        assert error_line(stuck) == (
            f"Gave up waiting for upgrade {started['id']} of home_lab: nothing has changed for "
            "0.5 s (--idle-timeout); it is UPGRADE ROLLBACK IN PROGRESS; a real Kostyor server "
            "never finishes a rollback: cancel it (upgrade-cancel), or raise "
            "--timeout or --idle-timeout (--idle-timeout 0: never give up for that)"
        )
        # --timeout bounds the whole wait, --watch too (after printing what it saw).
        watched = outcome(cli, frozen, "home_lab", "--watch", "--timeout", "0.3")
        assert watched.code == 13
        assert len(watched.out.splitlines()) == 1
        assert "it has not ended after 0.3 s (--timeout)" in error_line(watched)


def test_wait_on_a_server_that_reports_no_progress_says_waiting_will_not_help(
    server_factory: Callable[..., BackgroundServer], cli: Cli
) -> None:
    # The real server's upgrades never move (docs/kostyor-api.md#quirk-no-progress).
    upstream = server_factory(behave="upstream")
    started = run_ok(
        cli, upstream, "upgrade-cluster", "home_lab", "newton", "--engine", "service-by-service",
        "-f", "json",
    ).json  # fmt: skip
    stuck = outcome(cli, upstream, "home_lab", "--wait", "--idle-timeout", "0.5")
    assert stuck.code == 13
    assert error_line(stuck) == (
        f"Gave up waiting for upgrade {started['id']} of home_lab: nothing has changed for "
        "0.5 s (--idle-timeout); it is UPGRADE IN PROGRESS; this server reports no "
        "per-instance progress and a real Kostyor server never ends an upgrade by itself: "
        "waiting longer will not help; check the cloud, then cancel it (upgrade-cancel)"
    )


# Through outages


class FakeOps:
    """Stands in for Operations in `follow`, whose reads are the monkeypatched reports."""

    client = None


def report(status: Status, done: int) -> UpgradeStatusReport:
    return UpgradeStatusReport(
        id="u-1",
        cluster_id="c-1",
        cluster_name="lab",
        status=str(status),
        from_version="mitaka",
        to_version="newton",
        engine="node-by-node",
        progress_reported=True,
        nodes_upgraded=0,
        nodes_total=1,
        services_upgraded=done,
        services_total=3,
        current=None,
        failure=None,
        upgrade_start_time=None,
        upgrade_end_time=None,
    )


class Script:
    """Reads that answer or fail in a given order, on a clock that only the sleeps move."""

    def __init__(self, steps: list[Any]) -> None:
        self.steps = steps
        self.now = 0.0
        self.sleeps: list[float] = []
        self.notes: list[str] = []
        self.changes: list[UpgradeStatusReport] = []

    def read(self, ops: Any, upgrade: Any, cluster_name: str | None = None) -> Any:
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def run(self, monkeypatch: pytest.MonkeyPatch, limits: Limits) -> Any:
        monkeypatch.setattr(follow_module, "upgrade_status_report", self.read)

        class Upgrade:
            id = "u-1"

        return follow(
            FakeOps(),  # type: ignore[arg-type]
            Upgrade(),  # type: ignore[arg-type]
            limits,
            on_change=self.changes.append,
            narrate=self.notes.append,
            clock=lambda: self.now,
            sleep=self.sleep,
        )


def unreachable() -> Unreachable:
    return Unreachable("Could not read upgrade u-1: cannot connect to http://x/ (refused)")


def test_follow_retries_outages_with_backoff_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    busy = Busy(
        "Could not read upgrade u-1: the server is busy (429)",
        status_code=429,
        retry_after=7.0,
        hint=None,
    )
    gateway = ServerError("Could not read upgrade u-1: the server answered 502", status_code=502)
    script = Script(
        [
            report(Status.IN_PROGRESS, 0),
            unreachable(),
            unreachable(),
            busy,
            gateway,
            *[unreachable()] * 6,
            report(Status.IN_PROGRESS, 2),
            report(Status.SUCCEEDED, 3),
        ]
    )
    followed = script.run(monkeypatch, Limits(interval=1.0, idle_timeout=None))
    assert followed.report.status == str(Status.SUCCEEDED)
    assert [r.services_upgraded for r in script.changes] == [0, 2, 3]
    # 1 s to the first poll; after failures 1, 2, 4 s, 7 s as the server asked (over 4),
    # then 8, 16, 30 (the cap) ...; and the interval again once it answers.
    assert script.sleeps == [
        1.0,
        1.0,
        2.0,
        7.0,
        8.0,
        16.0,
        MAX_BACKOFF,
        30.0,
        30.0,
        30.0,
        30.0,
        1.0,
    ]
    assert script.notes[0] == (
        "cannot read upgrade u-1 (Could not read upgrade u-1: cannot connect to http://x/ "
        "(refused)); retrying in 1 s"
    )
    assert script.notes[1].endswith("retrying in 2 s, away for 1 s")
    assert script.notes[-1] == f"the API answers again after {sum(script.sleeps[1:-1]):.0f} s"


def test_follow_stops_at_a_failure_that_is_not_an_outage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gone = NotFound("Could not read upgrade u-1: not found")
    script = Script([report(Status.IN_PROGRESS, 0), gone])
    with pytest.raises(NotFound):
        script.run(monkeypatch, Limits(interval=1.0))
    assert script.notes == []


def test_follow_gives_up_during_an_outage_with_the_outage_s_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    script = Script([report(Status.PAUSED, 0), *[unreachable()] * 10])
    with pytest.raises(Unreachable) as raised:
        script.run(monkeypatch, Limits(interval=1.0, idle_timeout=20.0))
    assert "gave up following upgrade u-1 after" in raised.value.message
    assert script.now >= 20.0


def test_follow_gives_up_when_idle_or_out_of_time(monkeypatch: pytest.MonkeyPatch) -> None:
    still = [report(Status.PAUSED, 1)] * 100
    with pytest.raises(GaveUpWaiting, match="nothing has changed for 5 s"):
        Script(list(still)).run(monkeypatch, Limits(interval=2.0, idle_timeout=5.0))
    moving = [report(Status.IN_PROGRESS, n % 3) for n in range(100)]
    script = Script(moving)
    with pytest.raises(GaveUpWaiting, match="has not ended after 9 s"):
        script.run(monkeypatch, Limits(interval=2.0, timeout=9.0))
    # The last sleep is cut to the limit: it gives up when it runs out, not later.
    assert script.now == 9.0
    assert DEFAULT_IDLE_TIMEOUT == 1800


# A restart of the server while --watch follows


@pytest.fixture
def env(config_file: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in ENV_VARIABLES}
    clean["KOSTYOR_CONFIG"] = str(config_file)
    return clean


class Lines:
    """A child's stream read line by line on a thread, for wait_until."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def join(self) -> list[str]:
        self._thread.join(30)
        return self.lines


def test_watch_follows_through_a_server_restart(
    tmp_path: Path, cli: Cli, env: dict[str, str]
) -> None:
    db_path = tmp_path / "restarted.sqlite3"
    # A second a step: 19 of them, far more than the watch needs to see two changes.
    with running_server(db_path, step_seconds=1.0) as first:
        port = urlsplit(first.url).port
        upgrade_id = run_ok(cli, first, "upgrade-cluster", "staging", "ocata", "-f", "json")
        argv = [
            str(CONSOLE_SCRIPT),
            "--api-url",
            first.url,
            "--command",
            "upgrade-status",
            upgrade_id.json["id"],
            "--watch",
            "-f",
            "json",
        ]
        child = subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        out, err = Lines(child.stdout), Lines(child.stderr)
        wait_until(lambda: len(out.lines) >= 2, "two changes watched")
    try:
        # The server is gone (stopped mid-upgrade): the watch says it retries, and waits.
        wait_until(lambda: any("retrying in" in line for line in err.lines), "a retry said")
        assert child.poll() is None
        with running_server(db_path, port=port, step_seconds=0.02):
            code = child.wait(60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    stdout, stderr = out.join(), err.join()
    assert code == 0, stderr
    reports = [json.loads(line) for line in stdout]
    assert reports[-1]["status"] == "UPGRADE SUCCEED"
    done = [r["services_upgraded"] for r in reports]
    assert done == sorted(done) and done[-1] == reports[-1]["services_total"]
    assert all(line.startswith("kostyor-tui: note: ") for line in stderr)
    assert "kostyor-tui: note: the API answers again after" in stderr[-1]
