"""Configuration: file, profiles, environment and flags, config init/show, secrets.

Every test uses files under tmp_path and an explicit `environ` mapping, so the
real user config and the real environment are never read.
"""

import inspect
import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kostyor_tui import config
from kostyor_tui.api.client import KostyorClient
from kostyor_tui.config import (
    DEFAULT_API_URL,
    ConfigError,
    Profile,
    init_config,
    load_settings,
    parse_config,
    permission_warning,
    render_settings,
    run_password_command,
    settings_summary,
)
from kostyor_tui.headless.exit_codes import exit_code_for

PASSWORD = "pw-Hunter2-secret"
TOKEN = "tok-8c1f-secret"
COMMAND_PASSWORD = "cmd-Gr33n-secret"


def write_config(directory: Path, text: str, mode: int = 0o600) -> Path:
    path = directory / "config.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    path.chmod(mode)
    return path


def make_script(directory: Path, name: str, body: str) -> Path:
    """A tiny executable Python program used as a password_command."""
    path = directory / name
    path.write_text(f"#!{sys.executable}\nimport sys\n{textwrap.dedent(body)}", encoding="utf-8")
    path.chmod(0o700)
    return path


@pytest.fixture
def no_default_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the default config path at a file that does not exist."""
    missing = tmp_path / "nowhere" / "config.toml"
    monkeypatch.setattr(config.settings, "default_config_path", lambda: missing)
    return missing


# Defaults and file location


def test_default_config_path_is_in_the_platform_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if sys.platform != "linux":
        pytest.skip("XDG_CONFIG_HOME applies to Linux only")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config.default_config_path() == tmp_path / "kostyor-tui" / "config.toml"


def test_missing_file_at_default_path_gives_defaults(no_default_file: Path) -> None:
    settings = load_settings(environ={})
    assert settings.config_path == no_default_file
    assert not settings.config_found
    assert settings.profile == Profile()
    assert settings.profile_name == "default"
    assert settings.api_url == DEFAULT_API_URL == "http://127.0.0.1:5055"
    assert settings.profile.timeout == 10.0
    assert settings.poll_interval == 2.0
    assert settings.verify is True
    assert set(settings.sources.values()) == {"default"}
    assert settings.warnings == []


def test_missing_file_given_explicitly_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "absent.toml"
    with pytest.raises(ConfigError, match=r"absent\.toml does not exist"):
        load_settings(config_path=missing, environ={})
    with pytest.raises(ConfigError, match=r"absent\.toml does not exist"):
        load_settings(environ={"KOSTYOR_CONFIG": str(missing)})


def test_config_path_that_is_a_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a regular file"):
        load_settings(config_path=tmp_path, environ={})


def test_profile_flag_without_a_config_file_says_there_are_no_profiles(
    no_default_file: Path,
) -> None:
    with pytest.raises(ConfigError, match="known profiles: none"):
        load_settings(profile="lab", environ={})


def test_kostyor_config_names_the_file_and_the_flag_beats_it(tmp_path: Path) -> None:
    env_dir = tmp_path / "env"
    flag_dir = tmp_path / "flag"
    env_dir.mkdir()
    flag_dir.mkdir()
    env_file = write_config(env_dir, '[profiles.default]\nregion = "from-env-file"\n')
    flag_file = write_config(flag_dir, '[profiles.default]\nregion = "from-flag-file"\n')
    environ = {"KOSTYOR_CONFIG": str(env_file)}
    assert load_settings(environ=environ).profile.region == "from-env-file"
    chosen = load_settings(config_path=flag_file, environ=environ)
    assert chosen.profile.region == "from-flag-file"
    assert chosen.config_path == flag_file


# Precedence: flags > environment > profile > defaults


PROFILE_FILE = f"""\
default_profile = "lab"

[profiles.lab]
api_url = "https://profile.example:5055"
username = "profile-user"
password = "{PASSWORD}-profile"
token = "{TOKEN}-profile"
timeout = 20
"""


@pytest.mark.parametrize(
    ("key", "env_var", "profile_value", "env_value", "default"),
    [
        ("api_url", "KOSTYOR_API_URL", "https://profile.example:5055", "http://env:1", None),
        ("username", "KOSTYOR_USERNAME", "profile-user", "env-user", None),
        ("password", "KOSTYOR_PASSWORD", f"{PASSWORD}-profile", f"{PASSWORD}-env", None),
        ("token", "KOSTYOR_TOKEN", f"{TOKEN}-profile", f"{TOKEN}-env", None),
        ("timeout", "KOSTYOR_TIMEOUT", 20.0, "3.5", 10.0),
    ],
)
def test_environment_beats_profile_beats_default(
    tmp_path: Path,
    key: str,
    env_var: str,
    profile_value: object,
    env_value: str,
    default: object,
) -> None:
    path = write_config(tmp_path, PROFILE_FILE)
    empty_profile = tmp_path / "empty.toml"
    empty_profile.write_text("")

    def effective(settings: config.Settings) -> object:
        value = getattr(settings.profile, key)
        return value.get_secret_value() if hasattr(value, "get_secret_value") else value

    from_profile = load_settings(config_path=path, environ={})
    assert effective(from_profile) == profile_value
    assert from_profile.sources[key] == "profile"

    from_env = load_settings(config_path=path, environ={env_var: env_value})
    expected_env = float(env_value) if key == "timeout" else env_value
    assert effective(from_env) == expected_env
    assert from_env.sources[key] == "env"

    from_default = load_settings(config_path=empty_profile, environ={})
    assert effective(from_default) == (default if key != "api_url" else DEFAULT_API_URL)
    assert from_default.sources[key] == "default"


def test_api_url_flag_beats_environment_beats_profile(tmp_path: Path) -> None:
    path = write_config(tmp_path, PROFILE_FILE)
    environ = {"KOSTYOR_API_URL": "http://env.example:1"}
    settings = load_settings(config_path=path, api_url="http://flag.example:2", environ=environ)
    assert settings.api_url == "http://flag.example:2"
    assert settings.sources["api_url"] == "flag"
    assert load_settings(config_path=path, environ=environ).api_url == "http://env.example:1"


def test_empty_environment_values_are_ignored(tmp_path: Path) -> None:
    path = write_config(tmp_path, PROFILE_FILE)
    settings = load_settings(
        config_path=path, environ={"KOSTYOR_API_URL": "", "KOSTYOR_TIMEOUT": ""}
    )
    assert settings.api_url == "https://profile.example:5055"
    assert settings.profile.timeout == 20.0


def test_environment_password_replaces_the_profile_password_command(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    script = make_script(tmp_path, "pw", f"open({str(marker)!r}, 'w').close()\nprint('x')\n")
    path = write_config(
        tmp_path,
        f"""\
        [profiles.default]
        username = "u"
        password_command = ["{script}"]
        """,
    )
    settings = load_settings(config_path=path, environ={"KOSTYOR_PASSWORD": PASSWORD})
    assert settings.profile.password_command is None
    assert settings.client_options()["password"] == PASSWORD
    assert not marker.exists()


def test_insecure_flag_turns_verification_off_and_warns(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not checked here")
    path = write_config(
        tmp_path,
        f"""\
        [profiles.default]
        api_url = "https://kostyor.example"
        ca_bundle = "{bundle}"
        """,
    )
    verified = load_settings(config_path=path, environ={})
    assert verified.verify == str(bundle)
    assert verified.warnings == []

    insecure = load_settings(config_path=path, insecure=True, environ={})
    assert insecure.verify is False
    assert insecure.client_options()["verify"] is False
    assert any("verification is off (--insecure)" in w for w in insecure.warnings)


def test_verify_tls_false_in_profile_turns_verification_off(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, '[profiles.default]\napi_url = "https://k.example"\nverify_tls = false\n'
    )
    settings = load_settings(config_path=path, environ={})
    assert settings.verify is False
    assert any("verify_tls = false" in w for w in settings.warnings)


def test_relative_ca_bundle_is_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    bundle = tmp_path / "certs" / "ca.pem"
    bundle.write_text("pem")
    path = write_config(tmp_path, '[profiles.default]\nca_bundle = "certs/ca.pem"\n')
    assert load_settings(config_path=path, environ={}).verify == str(bundle)


def test_missing_ca_bundle_is_an_error_unless_verification_is_off(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[profiles.default]\nca_bundle = "missing.pem"\n')
    with pytest.raises(ConfigError, match=r"ca_bundle .*missing.pem does not exist"):
        load_settings(config_path=path, environ={})
    assert load_settings(config_path=path, insecure=True, environ={}).verify is False


def test_profile_only_keys_come_from_the_profile(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """\
        [profiles.default]
        region = "RegionOne"
        poll_interval = 0.5
        """,
    )
    settings = load_settings(config_path=path, environ={})
    assert settings.profile.region == "RegionOne"
    assert settings.poll_interval == 0.5
    assert settings.sources["poll_interval"] == "profile"
    assert settings.sources["timeout"] == "default"


# Profiles


PROFILES_FILE = """\
default_profile = "staging"

[profiles.staging]
api_url = "http://staging.example:5055"

[profiles.production]
api_url = "https://production.example:5055"
region = "RegionOne"
"""


def test_default_profile_picks_the_profile(tmp_path: Path) -> None:
    settings = load_settings(config_path=write_config(tmp_path, PROFILES_FILE), environ={})
    assert settings.profile_name == "staging"
    assert settings.profile_source == "file"
    assert settings.api_url == "http://staging.example:5055"
    assert settings.profile.region is None


def test_profile_flag_beats_kostyor_profile_beats_default_profile(tmp_path: Path) -> None:
    path = write_config(tmp_path, PROFILES_FILE)
    from_env = load_settings(config_path=path, environ={"KOSTYOR_PROFILE": "production"})
    assert from_env.profile_name == "production"
    assert from_env.profile_source == "env"
    assert from_env.profile.region == "RegionOne"

    from_flag = load_settings(
        config_path=path, profile="staging", environ={"KOSTYOR_PROFILE": "production"}
    )
    assert from_flag.profile_name == "staging"
    assert from_flag.profile_source == "flag"
    assert from_flag.api_url == "http://staging.example:5055"


@pytest.mark.parametrize(
    ("flag", "environ", "origin"),
    [
        ("prod", {}, "--profile"),
        (None, {"KOSTYOR_PROFILE": "prod"}, "KOSTYOR_PROFILE"),
    ],
)
def test_unknown_profile_lists_the_known_ones(
    tmp_path: Path, flag: str | None, environ: dict[str, str], origin: str
) -> None:
    path = write_config(tmp_path, PROFILES_FILE)
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=path, profile=flag, environ=environ)
    message = str(caught.value)
    assert "unknown profile 'prod'" in message
    assert origin in message
    assert "known profiles: production, staging" in message
    assert exit_code_for(caught.value) == 2


def test_default_profile_naming_a_missing_profile_is_an_error(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'default_profile = "gone"\n[profiles.here]\n')
    with pytest.raises(ConfigError, match=r"unknown profile 'gone' \(from default_profile"):
        load_settings(config_path=path, environ={})


def test_profiles_without_a_default_need_one_to_be_chosen(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[profiles.a]\n[profiles.b]\n")
    with pytest.raises(ConfigError, match="no default_profile"):
        load_settings(config_path=path, environ={})
    assert load_settings(config_path=path, profile="b", environ={}).profile_name == "b"


# Broken files and invalid values


def test_broken_toml_names_the_file_and_line(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """\
        [profiles.default]
        api_url = "http://ok"
        timeout = = 3
        """,
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=path, environ={})
    message = str(caught.value)
    assert str(path) in message
    assert "line 3" in message
    assert "invalid TOML" in message
    assert "\n" not in message


def test_broken_toml_never_repeats_a_secret(tmp_path: Path) -> None:
    path = write_config(tmp_path, f"[profiles.default]\npassword = {PASSWORD}\n")
    with pytest.raises(ConfigError, match="line 2") as caught:
        load_settings(config_path=path, environ={})
    assert "Hunter2" not in str(caught.value)


def test_file_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'[profiles.default]\nregion = "\xff\xfe"\n')
    with pytest.raises(ConfigError, match="not valid UTF-8"):
        load_settings(config_path=path, environ={})


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("[profiles.default]\ntimeout = -1\n", "profiles.default.timeout: Input should be greater"),
        ('[profiles.default]\ntimeout = "soon"\n', "profiles.default.timeout: Input should be"),
        (
            "[profiles.default]\ntimeout = inf\n",
            "profiles.default.timeout: Input should be a finite",
        ),
        ("[profiles.default]\npoll_interval = 0\n", "profiles.default.poll_interval"),
        ('[profiles.default]\nverify_tls = "perhaps"\n', "profiles.default.verify_tls"),
        ('[profiles.default]\napi_url = "kostyor:5055"\n', "must be an http:// or https:// URL"),
        ('[profiles.default]\napi_url = "http://k:99999"\n', "api_url: has an invalid port"),
        (
            '[profiles.default]\npasword = "x"\n',
            "profiles.default.pasword: unknown key (did you mean 'password'?)",
        ),
        ('api_url = "http://x"\n', "put api_url in a [profiles.NAME] table"),
        ("profiles = 3\n", "profiles: Input should be a valid dictionary"),
        (
            '[profiles.default]\npassword = "a"\npassword_command = "b"\n',
            "profiles.default: set password or password_command, not both",
        ),
        ("[profiles.default]\npassword_command = []\n", "must name a program"),
        ('[profiles.default]\npassword_command = "pass \'unclosed"\n', "cannot split"),
    ],
)
def test_invalid_values_give_one_clear_line_with_the_key_path(
    tmp_path: Path, body: str, expected: str
) -> None:
    path = write_config(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=path, environ={})
    message = str(caught.value)
    assert expected in message
    assert str(path) in message
    assert "\n" not in message
    assert "Traceback" not in message


def test_invalid_secret_values_are_not_echoed(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[profiles.default]\npassword = 918273645\ntoken = ["tk-77"]\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=path, environ={})
    message = str(caught.value)
    assert "profiles.default.password" in message
    assert "profiles.default.token" in message
    assert "918273645" not in message
    assert "tk-77" not in message


@pytest.mark.parametrize(
    ("kwargs", "environ", "expected"),
    [
        ({}, {"KOSTYOR_TIMEOUT": "ten"}, "KOSTYOR_TIMEOUT: Input should be a valid number"),
        ({}, {"KOSTYOR_TIMEOUT": "0"}, "KOSTYOR_TIMEOUT: Input should be greater than 0"),
        ({}, {"KOSTYOR_API_URL": "ftp://x"}, "KOSTYOR_API_URL: must be an http"),
        ({"api_url": "nonsense"}, {}, "--api-url: must be an http"),
    ],
)
def test_invalid_environment_or_flag_names_its_origin(
    no_default_file: Path, kwargs: dict[str, str], environ: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError, match="^" + expected.replace(".", r"\.")):
        load_settings(environ=environ, **kwargs)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_ends_in_a_config_or_a_config_error(text: str) -> None:
    try:
        result = parse_config(text, "fuzz.toml")
    except ConfigError as error:
        assert "\n" not in str(error)
    else:
        assert isinstance(result, config.ConfigFile)


TOML_KEYS = st.sampled_from([*config.PROFILE_KEYS, "bogus", "profiles", "default_profile"])
TOML_VALUES = st.one_of(
    st.integers(-5, 5).map(str),
    st.floats(allow_nan=True).map(repr),
    st.sampled_from(['"http://h:1"', '"x"', '""', "true", "[]", '["a", "b"]', "{}", "nan"]),
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["", "[profiles.p]\n"]), TOML_KEYS, TOML_VALUES), max_size=6)
)
def test_arbitrary_key_values_end_in_a_config_or_a_config_error(
    lines: list[tuple[str, str, str]],
) -> None:
    text = "".join(f"{table}{key} = {value}\n" for table, key, value in lines)
    try:
        parse_config(text, "fuzz.toml")
    except ConfigError as error:
        assert "\n" not in str(error)


# password_command


ARGV_RECORDER = """\
import json, pathlib
pathlib.Path(sys.argv[0] + ".argv").write_text(json.dumps(sys.argv[1:]))
with open(sys.argv[0] + ".runs", "a") as runs:
    runs.write("run\\n")
print({password!r})
print("second line is not part of the password")
"""


def test_password_command_string_is_run_without_a_shell(tmp_path: Path) -> None:
    script = make_script(tmp_path, "secret-tool", ARGV_RECORDER.format(password=COMMAND_PASSWORD))
    pwned = tmp_path / "pwned"
    command = f"{script} 'a;b' ; touch {pwned} '$(touch {pwned})' '`id`' '*'"
    path = write_config(
        tmp_path,
        f"""\
        [profiles.default]
        username = "operator"
        password_command = {json.dumps(command)}
        """,
    )
    settings = load_settings(config_path=path, environ={})
    assert settings.client_options()["password"] == COMMAND_PASSWORD
    received = json.loads(Path(f"{script}.argv").read_text())
    assert received == ["a;b", ";", "touch", str(pwned), f"$(touch {pwned})", "`id`", "*"]
    assert not pwned.exists()


def test_password_command_list_is_passed_verbatim(tmp_path: Path) -> None:
    script = make_script(tmp_path, "vault", ARGV_RECORDER.format(password=COMMAND_PASSWORD))
    path = write_config(
        tmp_path,
        f"""\
        [profiles.default]
        username = "operator"
        password_command = ["{script}", "a b", "$HOME", "x|y"]
        """,
    )
    settings = load_settings(config_path=path, environ={})
    assert settings.password() == COMMAND_PASSWORD
    assert json.loads(Path(f"{script}.argv").read_text()) == ["a b", "$HOME", "x|y"]


def test_password_command_runs_lazily_and_once(tmp_path: Path) -> None:
    script = make_script(tmp_path, "once", ARGV_RECORDER.format(password=COMMAND_PASSWORD))
    runs = Path(f"{script}.runs")
    path = write_config(
        tmp_path, f'[profiles.default]\nusername = "u"\npassword_command = ["{script}"]\n'
    )
    settings = load_settings(config_path=path, environ={})
    render_settings(settings)
    assert not runs.exists()
    settings.client_options()
    settings.client_options()
    assert runs.read_text().splitlines() == ["run"]


def test_password_command_is_not_run_without_a_username(tmp_path: Path) -> None:
    script = make_script(tmp_path, "unused", ARGV_RECORDER.format(password=COMMAND_PASSWORD))
    path = write_config(tmp_path, f'[profiles.default]\npassword_command = ["{script}"]\n')
    settings = load_settings(config_path=path, environ={})
    assert settings.client_options()["password"] is None
    assert not Path(f"{script}.runs").exists()
    assert any("no username" in w for w in settings.warnings)


def test_failing_password_command_never_echoes_its_output(tmp_path: Path) -> None:
    script = make_script(
        tmp_path,
        "broken",
        f"""\
        print({COMMAND_PASSWORD!r})
        print({COMMAND_PASSWORD!r}, file=sys.stderr)
        sys.exit(3)
        """,
    )
    with pytest.raises(ConfigError) as caught:
        run_password_command([str(script), "--secret-arg", COMMAND_PASSWORD])
    message = str(caught.value)
    assert "exit status 3" in message
    assert "broken" in message
    assert COMMAND_PASSWORD not in message
    assert "--secret-arg" not in message
    assert exit_code_for(caught.value) == 2


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("pass\n", "printed no password"),
        ("print('   ')\n", "printed no password"),
        ("sys.stdout.buffer.write(b'\\xff\\xfe')\n", "not UTF-8"),
    ],
)
def test_password_command_without_a_usable_password_is_an_error(
    tmp_path: Path, body: str, expected: str
) -> None:
    script = make_script(tmp_path, "empty", body)
    with pytest.raises(ConfigError, match=expected):
        run_password_command([str(script)])


def test_password_command_that_hangs_times_out(tmp_path: Path) -> None:
    script = make_script(tmp_path, "hangs", "import time\ntime.sleep(30)\n")
    with pytest.raises(ConfigError, match=r"did not finish within 0\.5 s"):
        run_password_command([str(script)], timeout=0.5)


def test_password_command_missing_or_not_executable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        run_password_command([str(tmp_path / "no-such-program")])
    plain = tmp_path / "plain"
    plain.write_text("print('x')\n")
    plain.chmod(0o600)
    with pytest.raises(ConfigError, match="not executable"):
        run_password_command([str(plain)])


# Client options


def test_client_options_fit_the_client_constructor(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        f"""\
        [profiles.default]
        api_url = "https://k.example:5055"
        username = "operator"
        password = "{PASSWORD}"
        token = "{TOKEN}"
        timeout = 4
        """,
    )
    options = load_settings(config_path=path, environ={}).client_options()
    assert options == {
        "api_url": "https://k.example:5055",
        "username": "operator",
        "password": PASSWORD,
        "token": TOKEN,
        "token_refresh": None,
        "verify": True,
        "timeout": 4.0,
    }
    accepted = inspect.signature(KostyorClient.__init__).parameters
    assert set(options) <= set(accepted)


# config init


def test_init_writes_a_private_commented_starter_that_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "deep" / "er" / "config.toml"
    old_umask = os.umask(0)
    try:
        written = init_config(target)
    finally:
        os.umask(old_umask)
    assert written == target
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    text = target.read_text()
    assert text.startswith("# kostyor-tui configuration")
    for key in config.PROFILE_KEYS:
        assert f"#   {key}" in text
    settings = load_settings(config_path=target, environ={})
    assert settings.profile == Profile()
    assert settings.profile_name == "default"
    assert settings.warnings == []


def test_init_uses_the_default_path(no_default_file: Path) -> None:
    assert init_config(environ={}) == no_default_file
    assert no_default_file.is_file()


def test_init_writes_where_kostyor_config_points(no_default_file: Path, tmp_path: Path) -> None:
    target = tmp_path / "from-env.toml"
    assert init_config(environ={"KOSTYOR_CONFIG": str(target)}) == target
    assert target.is_file()
    assert not no_default_file.exists()


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = write_config(tmp_path, '[profiles.default]\nregion = "keep me"\n', mode=0o644)
    with pytest.raises(ConfigError, match="already exists; use --force"):
        init_config(target)
    assert "keep me" in target.read_text()

    init_config(target, force=True)
    assert "keep me" not in target.read_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]


def test_init_into_an_unwritable_place_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot create directory"):
        init_config(blocker / "config.toml")
    a_directory = tmp_path / "dir.toml"
    a_directory.mkdir()
    with pytest.raises(ConfigError, match="cannot write config file"):
        init_config(a_directory, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.toml", "file"]


# config show and secrets


def test_render_settings_shows_values_and_sources_but_no_secret(tmp_path: Path) -> None:
    script = make_script(tmp_path, "pw", f"print({COMMAND_PASSWORD!r})\n")
    path = write_config(
        tmp_path,
        f"""\
        default_profile = "lab"
        [profiles.lab]
        api_url = "https://lab.example:5055"
        region = "RegionOne"
        username = "operator"
        password_command = ["{script}", "{PASSWORD}-as-argument"]
        """,
    )
    settings = load_settings(
        config_path=path,
        api_url="https://flag.example",
        environ={"KOSTYOR_TOKEN": TOKEN, "KOSTYOR_TIMEOUT": "7"},
    )
    assert settings.client_options()["password"] == COMMAND_PASSWORD
    shown = render_settings(settings)
    summary = json.dumps(settings_summary(settings))
    for text in (shown, summary, repr(settings), str(settings)):
        assert TOKEN not in text
        assert COMMAND_PASSWORD not in text
        assert PASSWORD not in text
    lines = {line.split()[0]: line for line in shown.splitlines()}
    assert "https://flag.example" in lines["api_url"]
    assert "(flag)" in lines["api_url"]
    assert "******** (set)" in lines["token"]
    assert "(environment)" in lines["token"]
    assert "******** (set)" in lines["password_command"]
    assert "(profile)" in lines["password_command"]
    assert "(not set)" in lines["password"]
    assert "7 s" in lines["timeout"]
    assert "(environment)" in lines["timeout"]
    assert "RegionOne" in lines["region"]
    assert "(default)" in lines["poll_interval"]
    assert "lab" in lines["profile"]
    assert str(path) in lines["config"]


def test_render_settings_redacts_a_plain_password(tmp_path: Path) -> None:
    path = write_config(tmp_path, f'[profiles.default]\nusername = "u"\npassword = "{PASSWORD}"\n')
    settings = load_settings(config_path=path, environ={})
    settings.client_options()
    shown = render_settings(settings)
    assert PASSWORD not in shown
    assert "password          ******** (set)" in shown


def test_render_settings_reports_a_missing_file(no_default_file: Path) -> None:
    shown = render_settings(load_settings(environ={}))
    assert "not found; using defaults" in shown


# File permissions


def test_config_readable_by_others_gets_a_warning(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[profiles.default]\n", mode=0o644)
    warning = permission_warning(path)
    assert warning is not None
    assert str(path) in warning
    assert "0644" in warning
    assert "chmod 600" in warning
    assert load_settings(config_path=path, environ={}).warnings == [warning]


def test_private_config_gets_no_warning(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[profiles.default]\n", mode=0o600)
    assert permission_warning(path) is None
    path.chmod(0o640)
    assert permission_warning(path) is not None


# Import cost


def test_config_does_not_import_textual_httpx_or_what_only_some_commands_need() -> None:
    code = (
        "import sys, kostyor_tui.config; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'textual', 'httpx', 'rich', 'tomlkit', 'yaml', 'tomli_w', 'subprocess'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


# The documented example


EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def test_example_config_is_valid_and_documents_every_key(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    example = parse_config(text, EXAMPLE)
    assert set(example.profiles) == {"demo", "production", "staging"}
    for key in config.PROFILE_KEYS:
        assert f"\n{key} = " in text or f"\n# {key} = " in text, key
    for key in config.FILE_KEYS:
        assert f"\n{key} = " in text or f"\n# {key} = " in text or f"\n[{key}" in text, key
    for variable in config.ENV_VARIABLES:
        assert variable in text, variable
    for flag in ("--api-url", "--profile", "--config", "--insecure", "--read-only", "--refresh"):
        assert flag in text, flag
    copy = write_config(tmp_path, text)
    settings = load_settings(config_path=copy, environ={})
    assert settings.profile_name == "demo"
    assert settings.api_url == DEFAULT_API_URL


def test_relative_ca_bundle_with_a_relative_config_path_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ca.pem").write_text("pem")
    write_config(tmp_path, '[profiles.default]\nca_bundle = "ca.pem"\n')
    monkeypatch.chdir(tmp_path)
    settings = load_settings(config_path=Path("config.toml"), environ={})
    assert settings.verify == str(tmp_path / "ca.pem")


# Through the real entry point


def run_cli(*args: str, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/"), **environ}
    return subprocess.run(
        [sys.executable, "-m", "kostyor_tui", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_cli_config_init_and_show_never_print_a_secret(tmp_path: Path) -> None:
    # XDG_CONFIG_HOME keeps the real user config out of reach even if a path were ignored.
    path = tmp_path / "config.toml"
    environ = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "KOSTYOR_CONFIG": str(path)}
    initialised = run_cli("config", "init", "--path", str(path), environ=environ)
    assert initialised.returncode == 0, initialised.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = run_cli("config", "init", "--path", str(path), environ=environ)
    assert again.returncode == 2
    assert "already exists" in again.stderr

    path.write_text(
        f'[profiles.default]\nusername = "operator"\npassword = "{PASSWORD}"\n', encoding="utf-8"
    )
    path.chmod(0o644)
    shown = run_cli("config", "show", environ={**environ, "KOSTYOR_TOKEN": TOKEN})
    assert shown.returncode == 0, shown.stderr
    output = shown.stdout + shown.stderr
    assert PASSWORD not in output
    assert TOKEN not in output
    assert "******** (set)" in shown.stdout
    assert "chmod 600" in output

    as_json = run_cli(
        "config", "show", "--output", "json", environ={**environ, "KOSTYOR_TOKEN": TOKEN}
    )
    assert as_json.returncode == 0, as_json.stderr
    assert PASSWORD not in as_json.stdout + as_json.stderr
    assert TOKEN not in as_json.stdout + as_json.stderr
    summary = json.loads(as_json.stdout)
    assert summary["settings"]["token"] == {"value": "********", "set": True, "source": "env"}
    assert summary["settings"]["password"]["source"] == "profile"


def test_cli_broken_config_is_one_line_on_stderr_with_exit_code_2(tmp_path: Path) -> None:
    path = write_config(tmp_path, f'[profiles.default]\npassword = "{PASSWORD}"\ntimeout = =\n')
    result = run_cli("config", "show", environ={"KOSTYOR_CONFIG": str(path)})
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert str(path) in lines[0]
    assert "line 3" in lines[0]
    assert PASSWORD not in result.stderr
