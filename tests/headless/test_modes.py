"""The other ways in: --demo, the console hand-off, `serve` and `config`."""

import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from kostyor_tui.config import Settings
from kostyor_tui.server.runner import BackgroundServer
from tests.headless.conftest import CliResult, write_config

Cli = Callable[..., CliResult]


@pytest.fixture
def private_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where tempfile puts directories during the test, to see what is left behind."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def test_demo_runs_a_command_against_a_demo_server(cli: Cli, private_tempdir: Path) -> None:
    result = cli("--demo", "--command", "list-clusters", "--output", "json")
    assert result.code == 0, result.err
    assert {"home_lab", "staging", "legacy"} <= {c["name"] for c in result.json}
    # The server's database lived in a temporary directory, removed afterwards.
    assert list(private_tempdir.iterdir()) == []


def test_the_console_gets_the_settings_and_a_live_demo_server(
    cli: Cli, private_tempdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stand-in for the full-screen app, which needs a terminal: it records what
    # the console was given and checks the demo server answers meanwhile.
    import kostyor_tui.app

    seen: dict[str, object] = {}

    def console(settings: Settings, *, read_only: bool = False) -> int:
        seen["url"] = settings.api_url
        seen["read_only"] = read_only
        seen["clusters"] = [c["name"] for c in httpx.get(f"{settings.api_url}/clusters").json()]
        seen["temporary"] = [p.name for p in private_tempdir.iterdir()]
        return 0

    monkeypatch.setattr(kostyor_tui.app, "run_console", console)
    result = cli("--demo", "--read-only")
    assert result.code == 0, result.err
    assert seen["read_only"] is True
    assert "home_lab" in seen["clusters"]  # type: ignore[operator]
    assert [name.startswith("kostyor-demo-") for name in seen["temporary"]] == [True]  # type: ignore[union-attr]
    # Stopped and cleaned up when the console returns.
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{seen['url']}/clusters")
    assert list(private_tempdir.iterdir()) == []


def test_the_console_uses_the_configured_api(
    cli: Cli, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kostyor_tui.app

    seen: list[tuple[str, str | None, bool]] = []

    def console(settings: Settings, *, read_only: bool = False) -> int:
        seen.append((settings.api_url, settings.profile.region, read_only))
        return 0

    monkeypatch.setattr(kostyor_tui.app, "run_console", console)
    assert cli("--api-url", "http://127.0.0.1:6000").code == 0
    assert seen == [("http://127.0.0.1:6000", "RegionTest", False)]


def test_serve_hands_its_arguments_to_the_server_cli(cli: Cli) -> None:
    result = cli("serve", "--help")
    assert result.code == 0
    assert "--port" in result.out and "--db" in result.out


def test_config_init_writes_a_private_file_once(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "new" / "config.toml"
    first = cli("config", "init", "--path", str(path))
    assert first.code == 0, first.err
    assert str(path) in first.out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text(path.read_text() + "# mine\n")

    again = cli("config", "init", "--path", str(path))
    assert again.code == 2
    assert again.error_lines == [
        f"kostyor-tui: error: config file {path} already exists; use --force to overwrite it"
    ]
    assert path.read_text().endswith("# mine\n")

    assert cli("config", "init", "--force", "--path", str(path)).code == 0
    assert not path.read_text().endswith("# mine\n")


def test_config_show_with_flags_before_or_after(cli: Cli, config_file: Path) -> None:
    before = cli("--api-url", "http://127.0.0.1:7000", "config", "show")
    after = cli("config", "show", "--api-url", "http://127.0.0.1:7000")
    assert before.code == after.code == 0
    assert before.out == after.out
    assert "http://127.0.0.1:7000" in before.out
    as_json = cli("config", "show", "--output", "json")
    assert as_json.json["settings"]["region"]["value"] == "RegionTest"
    assert as_json.json["config_path"] == str(config_file)


def test_headless_takes_the_api_url_from_flag_over_environment_over_profile(
    server: BackgroundServer, cli: Cli, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nowhere = "http://127.0.0.1:9"
    write_config(config_file, f'[profiles.default]\napi_url = "{server.url}"\n')
    assert cli("--command", "list-clusters").code == 0
    monkeypatch.setenv("KOSTYOR_API_URL", nowhere)
    assert cli("--command", "list-clusters").code == 6
    assert cli("--api-url", server.url, "--command", "list-clusters").code == 0


def test_a_named_profile_is_used(server: BackgroundServer, cli: Cli, config_file: Path) -> None:
    write_config(
        config_file,
        'default_profile = "off"\n'
        '[profiles.off]\napi_url = "http://127.0.0.1:9"\n'
        f'[profiles.lab]\napi_url = "{server.url}"\nregion = "LabRegion"\n',
    )
    assert cli("--command", "list-clusters").code == 6
    result = cli("--profile", "lab", "--command", "cluster-status", "home_lab", "--output", "json")
    assert result.code == 0
    assert result.json["region"] == "LabRegion"
