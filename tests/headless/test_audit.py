"""The audit trail: every upgrade start, action and discovery sent or refused, one JSON
line each, and `kostyor-tui audit` reading it back. A read-only profile refuses every
action (here headless; tests/tui/test_read_only_profile.py has the console).

Real HTTP to the embedded server; the audit file is in the test's own state directory
(tests/conftest.py sets XDG_STATE_HOME).
"""

import json
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kostyor_tui.audit import FIELDS
from kostyor_tui.server.runner import BackgroundServer
from tests.headless.conftest import CliResult, write_config
from tests.headless.test_commands import cluster_named

Cli = Callable[..., CliResult]

PROFILES = """\
default_profile = "lab"
[profiles.lab]
api_url = "{url}"
timeout = 5
[profiles.prod]
api_url = "{url}"
read_only = true
"""


def audit_path(state: Path) -> Path:
    return state / "kostyor-tui" / "audit.jsonl"


def entries(state: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in audit_path(state).read_text().splitlines()]


@pytest.fixture
def lab(server_factory: Callable[..., BackgroundServer], config_file: Path) -> BackgroundServer:
    # Slow steps: the upgrade is still running when it is paused.
    server = server_factory(step_seconds=0.5)
    write_config(config_file, PROFILES.format(url=server.url))
    return server


def test_start_pause_and_refusals_are_recorded(
    lab: BackgroundServer, cli: Cli, private_state_directory: Path
) -> None:
    home_lab = cluster_named(lab, "home_lab")
    started = cli("--command", "upgrade-cluster", "home_lab", "newton", "--output", "json")
    assert started.code == 0, started.err
    upgrade_id = started.json["id"]
    assert cli("--command", "upgrade-pause", "home_lab").code == 0
    # Refused by the lifecycle (already paused), then by the read-only profile.
    again = cli("--command", "upgrade-pause", "home_lab")
    assert again.code == 4
    refused = cli("--profile", "prod", "--command", "upgrade-continue", "home_lab")
    assert refused.code == 4
    # Forced past the lifecycle: sent, and refused by the server.
    forced = cli("--command", "upgrade-pause", "home_lab", "--force")
    assert forced.code == 4

    path = audit_path(private_state_directory)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    start, pause, paused_again, read_only, forced_pause = entries(private_state_directory)
    for entry in (start, pause, paused_again, read_only, forced_pause):
        assert list(entry) == list(FIELDS)
        assert entry["user"]
        assert entry["endpoint"] == lab.url
        assert entry["cluster"] == "home_lab"
        assert entry["cluster_id"] == home_lab["id"]
        assert entry["time"][:4].isdigit() and ("+" in entry["time"] or "Z" in entry["time"])
    assert start | {"time": None, "user": None} == {
        "time": None,
        "user": None,
        "profile": "lab",
        "endpoint": lab.url,
        "action": "start-upgrade",
        "cluster": "home_lab",
        "cluster_id": home_lab["id"],
        "upgrade_id": upgrade_id,
        "to_version": "newton",
        "parameters": [],
        "forced": False,
        "sent": True,
        "outcome": "done",
        "detail": f"upgrade {upgrade_id}: UPGRADE IN PROGRESS",
    }
    assert (pause["action"], pause["outcome"], pause["sent"]) == ("pause", "done", True)
    assert pause["detail"] == f"upgrade {upgrade_id}: UPGRADE PAUSED"
    assert pause["upgrade_id"] == upgrade_id
    assert (paused_again["outcome"], paused_again["sent"]) == ("refused", False)
    assert paused_again["detail"].startswith("Cannot pause the upgrade of cluster home_lab")
    assert read_only["profile"] == "prod"
    assert (read_only["action"], read_only["outcome"], read_only["sent"]) == (
        "continue",
        "refused",
        False,
    )
    assert "read-only mode is on; profile 'prod' is read-only" in read_only["detail"]
    assert (forced_pause["forced"], forced_pause["sent"], forced_pause["outcome"]) == (
        True,
        True,
        "failed",
    )
    assert "the server refused it (400)" in forced_pause["detail"]


def test_a_read_only_profile_refuses_every_change_naming_the_profile(
    lab: BackgroundServer, cli: Cli, config_file: Path
) -> None:
    for argv in (
        ["upgrade-cluster", "home_lab", "newton"],
        ["upgrade-pause", "home_lab"],
        ["discover-cluster", "simulated", "new_one"],
    ):
        result = cli("--profile", "prod", "--command", *argv)
        assert result.code == 4, result.err
        (line,) = result.error_lines
        assert "refused: read-only mode is on" in line
        assert f"profile 'prod' is read-only (read_only = true in {config_file})" in line
    # Reading still works.
    assert cli("--profile", "prod", "--command", "list-clusters").code == 0


def test_audit_command_shows_filters_and_limits(
    lab: BackgroundServer, cli: Cli, private_state_directory: Path
) -> None:
    assert cli("audit").out.startswith("(no entries in ")
    assert cli("--command", "upgrade-cluster", "home_lab", "newton").code == 0
    assert cli("--command", "upgrade-cluster", "legacy", "newton").code == 4
    assert cli("--command", "upgrade-pause", "legacy").code == 3  # never had an upgrade

    table = cli("audit")
    assert table.code == 0, table.err
    lines = table.out.splitlines()
    assert lines[0].split() == [
        "TIME", "USER", "PROFILE", "CLUSTER", "ACTION", "FORCED", "OUTCOME", "DETAIL",
    ]  # fmt: skip
    assert [line.split()[3:7] for line in lines[1:]] == [
        ["home_lab", "start-upgrade", "no", "done"],
        ["legacy", "start-upgrade", "no", "refused"],
        ["legacy", "pause", "no", "failed"],
    ]
    only = cli("audit", "--cluster", "legacy", "--output", "json")
    assert [entry["action"] for entry in only.json] == ["start-upgrade", "pause"]
    by_id = cli("audit", "--cluster", cluster_named(lab, "home_lab")["id"], "--output", "json")
    assert [entry["action"] for entry in by_id.json] == ["start-upgrade"]
    last = cli("audit", "--limit", "1", "--output", "json")
    assert [(entry["cluster"], entry["action"]) for entry in last.json] == [("legacy", "pause")]
    assert cli("audit", "--limit", "-1").code == 2


def test_a_damaged_line_is_skipped_with_a_warning(
    lab: BackgroundServer, cli: Cli, private_state_directory: Path
) -> None:
    assert cli("--command", "upgrade-cluster", "legacy", "newton").code == 4
    with audit_path(private_state_directory).open("a") as handle:
        handle.write('{"time": "2026-01-01T00:00:00+00:00", "cut sho')
    shown = cli("audit", "--output", "json")
    assert shown.code == 0
    assert len(shown.json) == 1
    assert "1 line(s)" in shown.err and "were skipped" in shown.err


def test_an_audit_file_that_cannot_be_made_is_told_and_the_action_still_done(
    lab: BackgroundServer, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A regular file where its directory should be: refused whoever runs the test.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("KOSTYOR_AUDIT_FILE", str(blocker / "audit.jsonl"))
    result = cli("--command", "upgrade-cluster", "home_lab", "newton")
    assert result.code == 0, result.err
    assert "note: could not write the audit trail:" in result.err
    assert str(blocker) in result.err


def test_audit_output_shows_no_control_character_from_a_server(
    cli: Cli, private_state_directory: Path
) -> None:
    # A name a real server gave, as the trail keeps it (JSON-escaped in the file).
    hostile = "lab\x9b2J\x1b]0;owned\x07\u202egnp.exe"
    path = audit_path(private_state_directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = dict.fromkeys(FIELDS) | {"cluster": hostile, "action": "pause", "outcome": "done"}
    path.write_text(json.dumps(entry) + "\n")
    for output in ("json", "table"):
        shown = cli("audit", "--output", output)
        assert shown.code == 0, shown.err
        assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]", shown.out), output
    assert json.loads(cli("audit", "--output", "json").out)[0]["cluster"] == hostile


@pytest.mark.parametrize("where", ["a directory", "under a file"])
def test_an_audit_file_that_cannot_be_read_is_one_clear_line(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    path = tmp_path if where == "a directory" else blocker / "audit.jsonl"
    monkeypatch.setenv("KOSTYOR_AUDIT_FILE", str(path))
    result = cli("audit")
    assert result.code == 2
    assert result.err.startswith(f"kostyor-tui: error: cannot read the audit file {path}: ")
    assert "KOSTYOR_AUDIT_FILE" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert "bug" not in result.err


def test_an_operation_interrupted_after_sending_is_recorded_as_unknown(
    server: BackgroundServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kostyor_tui.api.client import KostyorClient
    from kostyor_tui.domain.lifecycle import Action
    from kostyor_tui.operations import AuditEvent, Operations

    events: list[AuditEvent] = []
    with KostyorClient(server.url) as client:
        ops = Operations(client, audit=events.append)
        cluster = ops.resolve_cluster("home_lab")
        ops.start_upgrade(cluster, "newton", parameters={"db_password": "pw-Param-1", "x": "1"})

        def interrupted(*args: object) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr(client, "act_on_upgrade", interrupted)
        with pytest.raises(KeyboardInterrupt):
            ops.act(cluster, Action.PAUSE)
    start, pause = events
    assert start.parameters == ("db_password", "x")
    assert "pw-Param-1" not in repr(start)
    assert (pause.action, pause.sent, pause.outcome) == ("pause", True, "failed")
    assert pause.detail == "interrupted KeyboardInterrupt (sent: its outcome is unknown)"
