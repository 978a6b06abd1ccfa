"""`kostyor-tui serve` (kostyor_tui.server.cli): arguments, seeding, startup and shutdown."""

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from kostyor_tui.server.cli import build_parser, default_db_path, main
from tests.server.waiting import cluster_named, discover_small
from tests.support.servers import ServerProcess, running_server


def test_defaults() -> None:
    args = build_parser().parse_args([])
    assert (args.host, args.port, args.seed, args.step_seconds) == ("127.0.0.1", 5055, "demo", 1.0)
    assert (args.fail_rate, args.fail_host, args.auth) == (0.0, None, None)
    assert "kostyor-tui" in str(default_db_path())


@pytest.mark.parametrize(
    "argv",
    [
        ["--auth", "no-colon-here"],
        ["--auth", ":nouser"],
        ["--fail-rate", "1.5"],
        ["--fail-rate", "often"],
        ["--step-seconds", "-1"],
        ["--step-seconds", "nan"],
        ["--step-seconds", "inf"],
        ["--request-timeout", "nan"],
        ["--keep-alive-timeout", "inf"],
        ["--port", "99999"],
        ["--port", "-1"],
        ["--seed", "galaxy"],
        ["--port", "http"],
        ["--unknown"],
        ["--max-instances", "0"],
        ["--max-clusters", "many"],
        ["--request-timeout", "0"],
        ["--keep-alive-timeout", "-1"],
        ["--max-connections", "0"],
        ["--inventory-dir", "/nonexistent/inventories"],
        ["--auth", "user:no-colon-here", "--auth-file", "/nonexistent/auth"],
    ],
)
def test_bad_arguments_exit_2_with_one_message(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err
    assert "no-colon-here" not in err  # an --auth value may hold a password


def test_busy_port_is_a_clear_error(tmp_path: Path, capsys) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["--port", str(port), "--db", str(tmp_path / "db.sqlite3")])
    assert code == 1
    assert f"cannot serve on 127.0.0.1:{port}" in capsys.readouterr().err


def test_process_prints_its_url_and_stops_on_sigterm(tmp_path: Path) -> None:
    process = ServerProcess(tmp_path / "cli.sqlite3", seed="empty").start()
    try:
        assert process.url.startswith("http://127.0.0.1:")
        assert httpx.get(process.url + "/clusters").json() == []
    finally:
        assert process.stop() == 0


def test_seed_fills_only_an_empty_database(tmp_path: Path) -> None:
    db_path = tmp_path / "kept.sqlite3"
    with running_server(db_path) as server, httpx.Client(base_url=server.url) as client:
        discover_small(client, name="mine")
        home = cluster_named(client, "home_lab")
        client.post("/upgrades", json={"cluster_id": home["id"], "to_version": "newton"})
        before = client.get("/clusters").json()
    with (
        running_server(db_path, seed="demo") as server,
        httpx.Client(base_url=server.url) as client,
    ):
        after = client.get("/clusters").json()
        assert [c["id"] for c in after] == [c["id"] for c in before]
        assert [c["name"] for c in after].count("home_lab") == 1
        assert cluster_named(client, "mine")["version"] == "mitaka"
    empty_path = tmp_path / "empty.sqlite3"
    with running_server(empty_path, seed="empty") as server:
        assert httpx.get(server.url + "/clusters").json() == []


def test_demo_seed_fleet(server) -> None:
    with httpx.Client(base_url=server.url) as client:
        clusters = {c["name"]: c for c in client.get("/clusters").json()}
        hosts = {
            name: client.get(f"/clusters/{c['id']}/hosts").json() for name, c in clusters.items()
        }
    big = [name for name, found in hosts.items() if len(found) >= 500]
    assert len(big) == 1
    assert clusters[big[0]]["status"] == "READY FOR UPGRADE"
    assert 1 <= len(hosts["staging"]) <= 2
    assert hosts["legacy"] == []
    computes = [h for h in hosts["home_lab"] if h["hostname"].startswith("compute")]
    assert len(computes) >= 6


def test_server_imports_no_client_or_tui_code() -> None:
    code = (
        "import sys, kostyor_tui.server.cli, kostyor_tui.server.runner;"
        "print(' '.join(sorted(sys.modules)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    forbidden = ("textual", "kostyor_tui.api", "kostyor_tui.app", "kostyor_tui.service", "httpx")
    assert [name for name in loaded if name.startswith(forbidden)] == []


def test_a_seed_cut_short_leaves_a_new_database_that_is_filled_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kostyor_tui.server.seed import apply_seed
    from kostyor_tui.server.store import Store

    db_path = tmp_path / "cut.sqlite3"
    store = Store(db_path)
    real_add_cluster = Store.add_cluster
    added: list[str] = []

    # Stands in for a kill during seeding: the third cluster never gets written.
    def add_until_the_third(self: Store, name: str, *args: object, **kwargs: object) -> object:
        if len(added) == 2:
            raise KeyboardInterrupt
        added.append(name)
        return real_add_cluster(self, name, *args, **kwargs)

    monkeypatch.setattr(Store, "add_cluster", add_until_the_third)
    with pytest.raises(KeyboardInterrupt):
        store.initialize(fill=lambda: apply_seed(store, "demo"))
    monkeypatch.undo()
    # Neither the schema nor the first two clusters were kept: the file is still new.
    again = Store(db_path)
    assert again.initialize(fill=lambda: apply_seed(again, "demo")).created
    assert {c["name"] for c in again.list_clusters()} >= {"home_lab", "staging", "legacy"}
    again.close()
