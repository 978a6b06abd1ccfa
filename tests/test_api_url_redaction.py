"""A password written into api_url (`http://operator:PASSWORD@host/`) is never shown:
not by `config show` (table, JSON, --all), not by `config profiles`, not in a
validation error from --api-url, KOSTYOR_API_URL or the config file, not in a
warning, not in a headless error line, not in the console's header, not in the
audit trail. The embedded server runs with HTTP Basic credentials, so the URL's
credentials are really used.
"""

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kostyor_tui.app import KostyorApp
from kostyor_tui.cli import main
from kostyor_tui.config import ENV_VARIABLES, ConfigError, load_settings
from kostyor_tui.domain.text import REDACTED, redact_url, redact_urls, without_credentials
from kostyor_tui.server.runner import BackgroundServer
from tests.headless.conftest import CliResult

USER = "operator"
PASSWORD = "pw-InUrl-6634-secret"


@pytest.fixture
def auth_server(server_factory: Callable[..., BackgroundServer]) -> BackgroundServer:
    return server_factory(auth=(USER, PASSWORD))


def with_credentials(url: str, password: str = PASSWORD) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{USER}:{password}@{rest}"


@pytest.fixture
def cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Callable[..., CliResult]]:
    for name in ENV_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    seen: list[str] = []

    def run(*argv: str) -> CliResult:
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        seen.extend((out, err))
        return CliResult(code, out, err)

    yield run
    for text in seen:
        assert PASSWORD not in text


def write_config(tmp_path: Path, api_url: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(
        'default_profile = "lab"\n'
        f'[profiles.lab]\napi_url = "{api_url}"\n'
        '[profiles.other]\napi_url = "http://127.0.0.1:1"\n'
    )
    path.chmod(0o600)
    return path


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://u:s3cret@h:5055/p", f"https://u:{REDACTED}@h:5055/p"),
        ("https://u@h/", "https://u@h/"),
        ("https://h:5055/", "https://h:5055/"),
        ("u:s3cret@h", f"u:{REDACTED}@h"),
        ("https://u:s3c@ret@h/", f"https://u:{REDACTED}@h/"),
        ("https://u:s3/cr?et@h/", f"https://u:{REDACTED}@h/"),
        ("'ftp://u:s3cret@h')", f"'ftp://u:{REDACTED}@h')"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_urls_in_free_text_and_without_credentials() -> None:
    text = "Could not reach http://a:one@h1/ nor https://b:two@h2:1/x (refused)"
    assert redact_urls(text) == (
        f"Could not reach http://a:{REDACTED}@h1/ nor https://b:{REDACTED}@h2:1/x (refused)"
    )
    assert without_credentials("https://u:s3cret@h:5055/p") == "https://h:5055/p"
    assert "s3" not in without_credentials("https://u:s3/cret@h/")


def test_config_show_table_json_all_and_profiles_never_print_it(
    auth_server: BackgroundServer, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    path = write_config(tmp_path, with_credentials(auth_server.url))
    for argv in (
        ["config", "show"],
        ["config", "show", "--output", "json"],
        ["config", "show", "--all"],
        ["config", "show", "--all", "--output", "json"],
        ["config", "profiles"],
        ["config", "profiles", "--output", "json"],
    ):
        result = cli("--config", str(path), *argv)
        assert result.code == 0, result.err
        assert f"{USER}:{REDACTED}@" in result.out, argv
    shown = cli("--config", str(path), "config", "show", "--output", "json")
    assert json.loads(shown.out)["settings"]["api_url"]["value"] == (
        with_credentials(auth_server.url, REDACTED)
    )


@pytest.mark.parametrize(
    "bad_url",
    [
        "ftp://operator:{pw}@kostyor.example",  # not http(s)
        "http://operator:{pw}@kostyor.example:99999/",  # bad port
        "operator:{pw}@kostyor.example",  # no scheme
        "http://operator:{pw}/x@kostyor.example/",  # an unescaped / in the password
        # An unescaped @ then / in it: two hosts, the credentials sent to the first.
        "http://operator:{pw}@127.0.0.1:1/x@kostyor.example/",
    ],
)
def test_validation_errors_from_flag_environment_and_file_never_echo_it(
    bad_url: str, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    url = bad_url.format(pw=PASSWORD)
    good = write_config(tmp_path, "http://127.0.0.1:1")
    by_flag = cli("--config", str(good), "--api-url", url, "--command", "list-clusters")
    assert by_flag.code == 2
    assert by_flag.err.startswith("kostyor-tui: error: --api-url: ")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KOSTYOR_API_URL", url)
        by_env = cli("--config", str(good), "config", "show")
    assert by_env.code == 2
    assert by_env.err.startswith("kostyor-tui: error: KOSTYOR_API_URL: ")
    in_file = write_config(tmp_path, url)
    by_file = cli("--config", str(in_file), "--command", "list-clusters")
    assert by_file.code == 2
    assert "profiles.lab.api_url" in by_file.err
    # And from the library, not only at the command line's boundary:
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=in_file, environ={})
    assert PASSWORD not in caught.value.one_line()
    assert REDACTED in caught.value.one_line()


def test_headless_commands_use_it_and_never_show_it(
    auth_server: BackgroundServer, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    path = write_config(tmp_path, with_credentials(auth_server.url))
    ok = cli("--config", str(path), "--command", "list-clusters")
    assert ok.code == 0, ok.err
    assert "home_lab" in ok.out
    assert cli("--config", str(path), "--command", "cluster-status", "nowhere").code == 3
    wrong = write_config(
        tmp_path, with_credentials(auth_server.url, PASSWORD + "-typo"), "wrong.toml"
    )
    refused = cli("--config", str(wrong), "--command", "list-clusters")
    assert refused.code == 5
    unreachable = cli(
        "--config", str(path), "--api-url", "http://operator:" + PASSWORD + "@127.0.0.1:1/",
        "--command", "list-clusters",
    )  # fmt: skip
    assert unreachable.code == 6
    assert "http://127.0.0.1:1/" in unreachable.err
    insecure = cli(
        "--config", str(path), "--insecure", "--api-url",
        "https://operator:" + PASSWORD + "@127.0.0.1:1/", "config", "show",
    )  # fmt: skip
    assert "the identity of https://127.0.0.1:1/ is not checked" in insecure.out
    # The audit trail of an action refused by the lifecycle names the endpoint bare.
    assert cli("--config", str(path), "--command", "upgrade-cluster", "legacy", "newton").code == 4
    audit = cli("--config", str(path), "audit", "--output", "json")
    (entry,) = json.loads(audit.out)
    assert entry["endpoint"] == auth_server.url
    assert entry["outcome"] == "refused"


async def test_the_console_header_shows_the_url_without_it(
    auth_server: BackgroundServer, tmp_path: Path
) -> None:
    path = write_config(tmp_path, with_credentials(auth_server.url))
    app = KostyorApp(load_settings(config_path=path, environ={}))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.export_screenshot()
    assert PASSWORD not in screen
    assert app.display_url == auth_server.url
