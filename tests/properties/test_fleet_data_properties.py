"""Valid-looking but inconsistent fleet data: the console's derivations and headless commands.

Every field of the API objects may be null, and nothing makes a server's data
consistent: services may name hosts that do not exist, ids may repeat,
versions may be unknown or garbage, an upgrade's status anything. The models
accept all of that, so everything downstream must too:

- the console's pure derivations (snapshot, change log, table rows) give a
  value for any such data, for a first poll and for a poll after another;
- headless commands given such data over real HTTP (canned answers from the
  fault proxy, whose upstream is a closed port) end with a documented exit
  code other than 1 (an internal error), and one line on stderr when failing.
"""

import contextlib
import io
import json
import socket
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kostyor_tui.api.models import Cluster, Host, Service, Upgrade
from kostyor_tui.cli import main
from kostyor_tui.headless.exit_codes import MEANINGS
from kostyor_tui.service.events import describe_changes
from kostyor_tui.service.snapshots import build_snapshot
from kostyor_tui.widgets import upgrade_view
from kostyor_tui.widgets.cluster_detail import (
    component_table_rows,
    host_table_rows,
    summary_text,
)
from tests.support.faultproxy import Fault, FaultProxy

RELEASES = ["liberty", "mitaka", "newton", "ocata"]
# Small pools, so that references between objects often hit (and often miss).
member_ids = st.sampled_from(["h1", "h2", "h3", "s1", "s2", "c1", "u1", "u2"]) | st.integers(0, 3)
ids = st.none() | member_ids
versions = (
    st.none() | st.sampled_from([*RELEASES, "unknown", "", "Newton", "zed"]) | st.text(max_size=5)
)
statuses = st.none() | st.sampled_from(
    [
        "UPGRADE IN PROGRESS",
        "UPGRADE PAUSED",
        "UPGRADE ERROR",
        "UPGRADE SUCCEED",
        "UPGRADE ROLLBACK IN PROGRESS",
        "UPGRADE CANCELLED",
        "READY FOR UPGRADE",
        "running",
        "?",
    ]
)
names = (
    st.none()
    | st.sampled_from(["nova-compute", "keystone", "swift-proxy-server", "x"])
    | st.text(max_size=6)
)
times = st.none() | st.sampled_from(["2026-11-24T23:08:16.123011", "2026-11-24T23:09:00", "bad"])

host_dicts = st.fixed_dictionaries(
    {
        "id": ids,
        "hostname": names,
        "cluster_id": ids,
        "services": st.none() | st.lists(member_ids, max_size=3),
    }
)
service_dicts = st.fixed_dictionaries(
    {
        "id": ids,
        "name": names,
        "version": versions,
        "hosts": st.none() | st.lists(member_ids, max_size=3),
    }
)
upgrade_dicts = st.fixed_dictionaries(
    {
        "id": ids,
        "cluster_id": st.sampled_from(["c1", None, "other"]),
        "from_version": versions,
        "to_version": versions,
        "status": statuses,
        "upgrade_start_time": times,
        "upgrade_end_time": times,
    }
)
cluster_dicts = st.fixed_dictionaries(
    {"id": st.just("c1"), "name": st.just("lab"), "status": statuses, "version": versions}
)
fleets = st.fixed_dictionaries(
    {
        "cluster": cluster_dicts,
        "hosts": st.lists(host_dicts, max_size=5),
        "services": st.lists(service_dicts, max_size=8),
        "upgrades": st.lists(upgrade_dicts, max_size=3),
    }
)


def _snapshot(fleet: dict[str, Any], previous: Any = None) -> Any:
    return build_snapshot(
        Cluster.model_validate(fleet["cluster"]),
        [Host.model_validate(h) for h in fleet["hosts"]],
        [Service.model_validate(s) for s in fleet["services"]],
        [Upgrade.model_validate(u) for u in fleet["upgrades"]],
        datetime(2026, 11, 24, 23, 30),
        RELEASES,
        previous,
    )


def _render_everything(snapshot: Any) -> None:
    summary_text(snapshot.cluster, snapshot, "RegionOne")
    component_table_rows(snapshot)
    host_table_rows(snapshot)
    upgrade_view.host_rows(snapshot)
    upgrade_view.step_line(snapshot, stale=False)
    upgrade_view.title("lab", snapshot, datetime(2026, 11, 24, 23, 31))
    upgrade_view.bars(snapshot)
    upgrade_view.followed_host(snapshot)


@settings(max_examples=300, deadline=None)
@given(first=fleets, second=fleets)
def test_console_derivations_take_any_fleet_data(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    old = _snapshot(first)
    _render_everything(old)
    describe_changes(None, old, datetime(2026, 11, 24, 23, 30))
    # The next poll: same cluster, other data (hosts changed or not).
    second = {**second, "cluster": first["cluster"]}
    new = _snapshot(second, previous=old)
    _render_everything(new)
    events = describe_changes(old, new, datetime(2026, 11, 24, 23, 31))
    assert all(isinstance(event.text, str) for event in events)
    # The hosts tab reuses the last poll's rows of unchanged hosts: the same rows, in
    # the same order, with the same styles, as derived from nothing.
    known: dict[str, Any] = {}
    host_table_rows(old, known)
    assert _styled(host_table_rows(new, known)) == _styled(host_table_rows(new))


def _styled(rows: list[tuple[str, tuple[object, ...]]]) -> list[object]:
    # Content compares its text only; its markup holds the styles too.
    return [(key, [getattr(cell, "markup", cell) for cell in cells]) for key, cells in rows]


# Headless, over HTTP


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def canned() -> Iterator[FaultProxy]:
    with FaultProxy(f"http://127.0.0.1:{_closed_port()}") as proxy:
        yield proxy


@pytest.fixture
def offline_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "KOSTYOR_API_URL",
        "KOSTYOR_PROFILE",
        "KOSTYOR_USERNAME",
        "KOSTYOR_PASSWORD",
        "KOSTYOR_TOKEN",
        "KOSTYOR_TIMEOUT",
    ):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config.toml"
    config.write_text("[profiles.default]\ntimeout = 5\n")
    config.chmod(0o600)
    monkeypatch.setenv("KOSTYOR_CONFIG", str(config))


def _serve(proxy: FaultProxy, fleet: dict[str, Any]) -> None:
    proxy.clear()
    answers = {
        r"^/clusters$": [fleet["cluster"]],
        r"^/clusters/c1$": fleet["cluster"],
        r"^/clusters/c1/hosts$": fleet["hosts"],
        r"^/clusters/c1/services$": fleet["services"],
        r"^/upgrades/": fleet["upgrades"][0] if fleet["upgrades"] else {"message": "none"},
        r"^/upgrades": fleet["upgrades"],
        r"^/upgrade-versions/": RELEASES[2:],
        r"^/list-upgrade-versions$": RELEASES,
    }
    for path, body in answers.items():
        proxy.inject(Fault.respond(200, json.dumps(body).encode(), method="GET", path=path))
    # Anything else (another cluster's hosts, say) is unknown, as a server would say.
    proxy.inject(Fault.respond(404, b'{"message": "Not found"}'))


HEADLESS = [
    ["cluster-status", "lab"],
    ["cluster-component-list", "lab"],
    ["list-hosts", "lab"],
    ["check-upgrade", "lab"],
    ["list-upgrades", "--cluster", "lab"],
    ["upgrade-status", "u1"],
]


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fleet=fleets, command=st.sampled_from(HEADLESS), output=st.sampled_from(["table", "json"]))
def test_headless_commands_take_any_fleet_data(
    canned: FaultProxy, offline_config: None, fleet: dict[str, Any], command: list[str], output: str
) -> None:
    _serve(canned, fleet)
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["--api-url", canned.url, "--command", *command, "--output", output])
    assert code in MEANINGS and code != 1, stderr.getvalue()
    assert "Traceback" not in stderr.getvalue()
    if code == 0:
        if output == "json":
            json.loads(stdout.getvalue())
    else:
        lines = [line for line in stderr.getvalue().splitlines() if line.strip()]
        assert len(lines) == 1, stderr.getvalue()
    assert canned.mutations() == []
