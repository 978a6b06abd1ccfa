"""Profiles like k9s contexts: the per-profile keys (read_only, theme, poll_interval), the
[keymap] table, --refresh / KOSTYOR_POLL_INTERVAL, switching profiles, and the
commands that list, show and choose them. Edits keep the user's comments.

Every test uses files under tmp_path and an explicit `environ` (or a cleared
environment), so the real user config is never read nor written.
"""

import json
import stat
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from kostyor_tui import config
from kostyor_tui.config import (
    ConfigError,
    load_settings,
    save_theme,
    use_profile,
)
from tests.headless.conftest import CliResult

COMMENTED = """\
# My Kostyor endpoints. Keep this comment!
default_profile = "lab"   # the lab, unless I say otherwise

[keymap]
# my keys
"upgrade.pause" = "space"
"app.quit" = ["ctrl+q", "q"]

# The lab: mine to break.
[profiles.lab]
api_url = "http://127.0.0.1:5055"   # the embedded server
poll_interval = 0.5

# Production: look, don't touch.
[profiles.production]
api_url = "https://kostyor.example.org:5055"
region = "RegionOne"
read_only = true  # safe by default
theme = "nord"
"""


def write(directory: Path, text: str = COMMENTED, mode: int = 0o600) -> Path:
    path = directory / "config.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    path.chmod(mode)
    return path


# The keys


def test_per_profile_read_only_theme_and_poll_interval(tmp_path: Path) -> None:
    path = write(tmp_path)
    lab = load_settings(config_path=path, environ={})
    assert (lab.read_only, lab.theme, lab.poll_interval) == (False, None, 0.5)
    production = load_settings(config_path=path, profile="production", environ={})
    assert (production.read_only, production.theme, production.poll_interval) == (
        True,
        "nord",
        2.0,
    )
    assert production.sources["read_only"] == "profile"
    assert production.sources["theme"] == "profile"


def test_keymap_is_binding_id_to_comma_separated_keys(tmp_path: Path) -> None:
    settings = load_settings(config_path=write(tmp_path), environ={})
    # Lists are joined: App.set_keymap takes "key1,key2".
    assert settings.keymap == {"upgrade.pause": "space", "app.quit": "ctrl+q,q"}
    # The same for every profile: the keymap is the file's, not a profile's.
    other = settings.with_profile("production")
    assert other.keymap == settings.keymap


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[keymap]\n"app.quit" = ""\n', "keymap: app.quit: must be key names"),
        ('[keymap]\n"app.quit" = "ctrl+q, "\n', "keymap: app.quit: must be key names"),
        ('[keymap]\n"app.quit" = "ctrl q"\n', "keymap: app.quit: must be key names"),
        ('[keymap]\n"app.quit" = 3\n', "keymap"),
        ('[keymap]\n"app quit" = "q"\n', "is not a binding id"),
        ("keymap = 3\n", "keymap"),
        ('[profiles.default]\ntheme = ""\n', "profiles.default.theme"),
        ('[profiles.default]\ntheme = "a b"\n', "profiles.default.theme: must be a theme name"),
        ('[profiles.default]\nread_only = "yes please"\n', "profiles.default.read_only"),
        ("[profiles.default]\nkeymap = {}\n", "profiles.default.keymap: unknown key"),
        ("[profiles.default]\ntoken_command = []\n", "must name a program"),
        (
            '[profiles.default]\ntoken = "a"\ntoken_command = "b"\n',
            "set token or token_command, not both",
        ),
    ],
)
def test_invalid_new_keys_are_one_clear_line(tmp_path: Path, body: str, expected: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=path, environ={})
    message = str(caught.value)
    assert expected in message
    assert str(path) in message
    assert "\n" not in message


def test_refresh_flag_beats_kostyor_poll_interval_beats_the_profile(tmp_path: Path) -> None:
    path = write(tmp_path)
    assert load_settings(config_path=path, environ={}).poll_interval == 0.5
    environ = {"KOSTYOR_POLL_INTERVAL": "7"}
    from_env = load_settings(config_path=path, environ=environ)
    assert (from_env.poll_interval, from_env.sources["poll_interval"]) == (7.0, "env")
    from_flag = load_settings(config_path=path, environ=environ, poll_interval=0.25)
    assert (from_flag.poll_interval, from_flag.sources["poll_interval"]) == (0.25, "flag")


@pytest.mark.parametrize(
    ("kwargs", "environ", "expected"),
    [
        ({"poll_interval": 0.0}, {}, "--refresh: Input should be greater than or equal to 0.1"),
        ({}, {"KOSTYOR_POLL_INTERVAL": "often"}, "KOSTYOR_POLL_INTERVAL: Input should be"),
        ({}, {"KOSTYOR_POLL_INTERVAL": "5000"}, "KOSTYOR_POLL_INTERVAL: Input should be less"),
    ],
)
def test_invalid_refresh_names_its_origin(
    tmp_path: Path, kwargs: dict[str, float], environ: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError, match="^" + expected):
        load_settings(config_path=write(tmp_path), environ=environ, **kwargs)


def test_read_only_hint_names_the_profile_or_the_flag(tmp_path: Path) -> None:
    path = write(tmp_path)
    production = load_settings(config_path=path, profile="production", environ={})
    assert "profile 'production' is read-only" in production.read_only_hint
    assert str(path) in production.read_only_hint
    flagged = load_settings(config_path=path, profile="production", read_only=True, environ={})
    assert flagged.read_only and flagged.sources["read_only"] == "flag"
    assert "--read-only" in flagged.read_only_hint
    assert "profile 'production' is read-only too" in flagged.read_only_hint
    lab = load_settings(config_path=path, read_only=True, environ={})
    assert lab.read_only_hint == "run without --read-only to allow it"
    # The flag turns read-only on; it never turns a read-only profile's off.
    assert load_settings(config_path=path, profile="production", environ={}).read_only


def test_with_profile_loads_another_profile_with_the_same_flags_and_environment(
    tmp_path: Path,
) -> None:
    path = write(tmp_path)
    lab = load_settings(config_path=path, environ={"KOSTYOR_TIMEOUT": "3"}, insecure=True)
    assert lab.profile_names == ["lab", "production"]
    production = lab.with_profile("production")
    assert production.profile_name == "production"
    assert production.profile_source == "flag"
    assert production.api_url == "https://kostyor.example.org:5055"
    assert production.profile.timeout == 3.0  # the environment still applies
    assert production.insecure is True
    with pytest.raises(ConfigError, match="unknown profile 'nope'"):
        lab.with_profile("nope")


# Editing the file: comments kept


def test_use_profile_sets_default_profile_and_keeps_every_comment(tmp_path: Path) -> None:
    path = write(tmp_path, mode=0o640)
    assert use_profile(path, "production") == path
    text = path.read_text()
    assert text == COMMENTED.replace(
        'default_profile = "lab"   # the lab', 'default_profile = "production"   # the lab'
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # the user's mode is kept
    assert load_settings(config_path=path, environ={}).profile_name == "production"


def test_use_profile_refuses_an_unknown_profile_and_leaves_the_file_alone(tmp_path: Path) -> None:
    path = write(tmp_path)
    with pytest.raises(ConfigError, match=r"unknown profile 'staging' .*known profiles: lab"):
        use_profile(path, "staging")
    assert path.read_text() == COMMENTED
    with pytest.raises(ConfigError, match="does not exist"):
        use_profile(tmp_path / "absent.toml", "lab")


def test_a_broken_file_is_not_edited(tmp_path: Path) -> None:
    path = write(tmp_path, '[profiles.lab]\ntimeout = "soon"\n')
    with pytest.raises(ConfigError, match=r"profiles\.lab\.timeout"):
        use_profile(path, "lab")
    assert path.read_text() == '[profiles.lab]\ntimeout = "soon"\n'


def test_use_profile_edits_the_file_a_symlink_points_to(tmp_path: Path) -> None:
    real = write(tmp_path)
    link = tmp_path / "link.toml"
    link.symlink_to(real)
    use_profile(link, "production")
    assert link.is_symlink()
    assert 'default_profile = "production"' in real.read_text()


def test_save_theme_writes_into_the_profile_in_use_keeping_comments(tmp_path: Path) -> None:
    path = write(tmp_path)
    settings = load_settings(config_path=path, environ={})
    assert save_theme(settings, "dracula") == path
    text = path.read_text()
    assert "# The lab: mine to break." in text
    assert 'api_url = "http://127.0.0.1:5055"   # the embedded server' in text
    assert load_settings(config_path=path, environ={}).theme == "dracula"
    # Saving again replaces the value; the other profile's theme is untouched.
    save_theme(settings, "gruvbox")
    assert path.read_text().count('theme = "gruvbox"') == 1
    assert load_settings(config_path=path, profile="production", environ={}).theme == "nord"
    assert path.read_text().replace('theme = "gruvbox"\n', "", 1) == COMMENTED


def test_save_theme_without_a_file_makes_a_private_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "new" / "config.toml"
    monkeypatch.setattr(config.settings, "default_config_path", lambda: path)
    defaults = load_settings(environ={})
    assert not defaults.config_found
    assert save_theme(defaults, "nord") == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    reread = load_settings(environ={})
    assert (reread.profile_name, reread.theme) == ("default", "nord")


def test_save_theme_refuses_a_name_that_is_not_a_theme(tmp_path: Path) -> None:
    path = write(tmp_path)
    settings = load_settings(config_path=path, environ={})
    with pytest.raises(ConfigError, match="must be a theme name"):
        save_theme(settings, 'x"\n[evil]')
    assert path.read_text() == COMMENTED


# Through the command line


@pytest.fixture
def run_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., CliResult]:
    from kostyor_tui.cli import main

    for name in config.ENV_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KOSTYOR_CONFIG", str(write(tmp_path)))

    def run(*argv: str) -> CliResult:
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


def test_config_profiles_lists_them_with_the_default_and_the_one_in_use(
    run_cli: Callable[..., CliResult],
) -> None:
    table = run_cli("config", "profiles")
    assert table.code == 0, table.err
    lines = table.out.splitlines()
    assert lines[0].split() == ["NAME", "API", "URL", "REGION", "READ-ONLY", "THEME"]
    assert lines[1].split()[:3] == ["*", "lab", "(default)"]
    assert lines[2].split() == [
        "production",
        "https://kostyor.example.org:5055",
        "RegionOne",
        "yes",
        "nord",
    ]
    as_json = run_cli("config", "profiles", "--profile", "production", "--output", "json")
    assert as_json.code == 0, as_json.err
    rows = {row["name"]: row for row in json.loads(as_json.out)}
    assert rows["lab"]["default"] is True and rows["lab"]["active"] is False
    assert rows["production"]["active"] is True
    assert rows["production"]["read_only"] is True


def test_config_use_profile_then_show(run_cli: Callable[..., CliResult], tmp_path: Path) -> None:
    used = run_cli("config", "use-profile", "production")
    assert used.code == 0, used.err
    assert "default_profile is now 'production'" in used.out
    assert "# My Kostyor endpoints. Keep this comment!" in (tmp_path / "config.toml").read_text()
    shown = run_cli("config", "show", "--output", "json")
    summary = json.loads(shown.out)
    assert summary["profile"] == {"value": "production", "source": "file"}
    assert summary["settings"]["read_only"] == {"value": True, "set": True, "source": "profile"}
    assert summary["settings"]["theme"]["value"] == "nord"
    assert summary["keymap"] == {"upgrade.pause": "space", "app.quit": "ctrl+q,q"}
    unknown = run_cli("config", "use-profile", "staging")
    assert unknown.code == 2
    assert "unknown profile 'staging'" in unknown.err


def test_config_use_profile_notes_that_kostyor_profile_still_wins(
    run_cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOSTYOR_PROFILE", "lab")
    used = run_cli("config", "use-profile", "production")
    assert used.code == 0
    assert "KOSTYOR_PROFILE still picks 'lab'" in used.err


def test_config_show_all_shows_every_profile_with_flags_applied(
    run_cli: Callable[..., CliResult],
) -> None:
    table = run_cli("config", "show", "--all", "--refresh", "9")
    assert table.code == 0, table.err
    assert "[profiles.lab]  (in use)" in table.out
    assert "[profiles.production]" in table.out
    assert table.out.count("9 s") == 2  # --refresh applies to each
    as_json = run_cli("config", "show", "--all", "--output", "json")
    summary = json.loads(as_json.out)
    assert list(summary["profiles"]) == ["lab", "production"]
    assert summary["active_profile"] == {"value": "lab", "source": "file"}
    production = summary["profiles"]["production"]["settings"]
    assert production["read_only"]["value"] is True
    assert production["region"]["value"] == "RegionOne"


def test_config_show_reflects_read_only_and_refresh_flags(
    run_cli: Callable[..., CliResult],
) -> None:
    shown = run_cli("--read-only", "--refresh", "4", "config", "show", "--output", "json")
    assert shown.code == 0, shown.err
    settings = json.loads(shown.out)["settings"]
    assert settings["read_only"] == {"value": True, "set": True, "source": "flag"}
    assert settings["poll_interval"] == {"value": 4.0, "set": True, "source": "flag"}
    bad = run_cli("config", "show", "--refresh", "never")
    assert bad.code == 2
    assert "not a number of seconds" in bad.err


def test_audit_file_key_env_and_default(tmp_path: Path, private_state_directory: Path) -> None:
    path = write(tmp_path, 'audit_file = "logs/audit.jsonl"\n[profiles.default]\n')
    settings = load_settings(config_path=path, environ={})
    assert settings.audit_path == tmp_path / "logs" / "audit.jsonl"  # relative to the file
    assert settings.audit_source == "file"
    moved = load_settings(config_path=path, environ={"KOSTYOR_AUDIT_FILE": "/var/log/k.jsonl"})
    assert (moved.audit_path, moved.audit_source) == (Path("/var/log/k.jsonl"), "env")
    default = load_settings(config_path=write(tmp_path, "[profiles.default]\n"), environ={})
    assert default.audit_path == private_state_directory / "kostyor-tui" / "audit.jsonl"
    assert "audit_file        " in config.render_settings(settings)
