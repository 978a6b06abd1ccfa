"""`kostyor-tui --all-profiles` on the command line: which settings reach the console, and
the flags that pick one endpoint refused before anything starts."""

from pathlib import Path
from typing import Any

import pytest

from kostyor_tui import app as console
from kostyor_tui.cli import main
from kostyor_tui.headless.exit_codes import ExitCode
from tests.allprofiles.conftest import profiles_for, write_profiles


@pytest.fixture
def config(tmp_path: Path) -> Path:
    profiles = profiles_for("http://127.0.0.1:9", "http://127.0.0.1:10", read_only=True)
    profiles["central"] = {"api_url": "http://127.0.0.1:11"}
    path = write_profiles(tmp_path / "config.toml", profiles)
    # The default is the second profile: the console's own endpoint is that one.
    path.write_text(
        path.read_text().replace('default_profile = "east"', 'default_profile = "west"')
    )
    return path


def test_the_console_gets_every_profile_in_the_files_order(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The full-screen console cannot run inside pytest's capture: what the CLI hands it is
    # recorded instead of running it.
    handed: dict[str, Any] = {}

    def record(settings: Any, **options: Any) -> int:
        handed.update(settings=settings, **options)
        return 0

    monkeypatch.setattr(console, "run_console", record)
    assert main(["--all-profiles", "--config", str(config)]) == 0
    assert [s.profile_name for s in handed["all_profiles"]] == ["east", "west", "central"]
    assert [s.read_only for s in handed["all_profiles"]] == [False, True, False]
    assert handed["settings"].profile_name == "west"
    assert handed["read_only"] is False


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--profile", "east"], "--all-profiles asks every profile: leave out --profile"),
        (["--api-url", "http://127.0.0.1:9"], "leave out --api-url"),
        (["--demo"], "--demo runs one server: leave out --all-profiles"),
    ],
)
def test_flags_that_pick_one_endpoint_are_refused(
    config: Path, capsys: pytest.CaptureFixture[str], extra: list[str], expected: str
) -> None:
    assert main(["--all-profiles", "--config", str(config), *extra]) == ExitCode.USAGE
    assert expected in capsys.readouterr().err


def test_an_api_url_from_the_environment_is_refused(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOSTYOR_API_URL", "http://127.0.0.1:9")
    code = main(["--command", "list-clusters", "--all-profiles", "--config", str(config)])
    assert code == ExitCode.USAGE
    assert "KOSTYOR_API_URL would point every profile at one endpoint" in capsys.readouterr().err


def test_help_names_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "--all-profiles" in capsys.readouterr().out
    assert main(["--command", "list-clusters", "--help"]) == 0
    assert "--all-profiles" in capsys.readouterr().out
