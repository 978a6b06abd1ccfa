"""Arbitrary command lines into the CLI: an exit code and one clear line, never a traceback.

Headless command lines run the real `kostyor_tui.cli.main`, with a config file
whose profile points at a closed loopback port, so nothing reaches a network:
whatever gets as far as a request fails with "unreachable". Command lines that
would open the console, run a server or write a config file are not run; for
those only the main parser is exercised.
"""

import contextlib
import io
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kostyor_tui.cli import main, main_parser
from kostyor_tui.commands import COMMANDS
from kostyor_tui.errors import UsageError
from kostyor_tui.headless.exit_codes import MEANINGS


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


CLOSED_URL = f"http://127.0.0.1:{_closed_port()}"

# Words a command line is made of: real option names and command names, key=value
# parameters, and arbitrary text. URLs other than the closed port are left out so
# that no example can reach out anywhere.
OPTIONS = [
    "--api-url",
    "--profile",
    "--insecure",
    "--read-only",
    "--output",
    "--help",
    "--version",
    "--engine",
    "--driver",
    "--cluster",
    "--watch",
    "--command",
    "--",
    "-h",
]
VALUES = [
    "json",
    "table",
    "yaml",
    "home_lab",
    "newton",
    "mitaka",
    "x=1",
    "=",
    "a=",
    "=b",
    CLOSED_URL,
]
plain_words = st.from_regex(r"[a-z0-9_=.-]{1,10}", fullmatch=True)
words = (
    st.sampled_from(OPTIONS + VALUES + list(COMMANDS))
    | plain_words
    | st.text(max_size=12).filter(lambda word: "\x00" not in word and "://" not in word)
    | st.builds(
        lambda option, value: f"{option}={value}", st.sampled_from(OPTIONS), st.text(max_size=6)
    )
)
# Mostly real command names, so that most examples get past the command lookup.
command_names = st.integers(0, 9).flatmap(
    lambda pick: st.text(max_size=10) if pick == 0 else st.sampled_from(list(COMMANDS))
)


@st.composite
def well_formed_command_lines(draw: st.DrawFn) -> list[str]:
    """A real command with the arguments it declares, filled with arbitrary words."""
    command = draw(st.sampled_from(list(COMMANDS.values())))
    argv = ["--command", command.name]
    for argument in command.arguments:
        if argument.kind == "positional":
            argv.append(draw(plain_words | st.text(min_size=1, max_size=10)))
        elif argument.kind == "option" and draw(st.booleans()):
            choices = list(argument.choices or []) + VALUES
            argv += [argument.option_string, draw(st.sampled_from(choices) | plain_words)]
        elif argument.kind == "flag" and draw(st.booleans()):
            argv.append(argument.option_string)
        elif argument.kind == "parameters":
            argv += draw(st.lists(plain_words, max_size=3))
    if draw(st.booleans()):
        argv += ["--output", draw(st.sampled_from(["json", "table"]))]
    return argv


@pytest.fixture
def offline_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "config.toml"
    path.write_text(f'[profiles.default]\napi_url = "{CLOSED_URL}"\ntimeout = 2\n')
    path.chmod(0o600)
    for name in [
        "KOSTYOR_API_URL",
        "KOSTYOR_PROFILE",
        "KOSTYOR_USERNAME",
        "KOSTYOR_PASSWORD",
        "KOSTYOR_TOKEN",
        "KOSTYOR_TIMEOUT",
    ]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KOSTYOR_CONFIG", str(path))
    yield path


def _run(argv: list[str]) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(argv)
    return code, stdout.getvalue(), stderr.getvalue()


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=command_names,
    rest=st.lists(words, max_size=8),
    equals_form=st.booleans(),
    well_formed=st.none() | well_formed_command_lines(),
)
# --debug reaching the network: its lines on stderr are not errors.
@example(name="list-clusters", rest=["--debug"], equals_form=False, well_formed=None)
def test_any_headless_command_line_ends_in_a_documented_exit_code(
    offline_config: Path,
    name: str,
    rest: list[str],
    equals_form: bool,
    well_formed: list[str] | None,
) -> None:
    if well_formed is not None:
        argv = well_formed + rest[:1]
    else:
        argv = [f"--command={name}"] if equals_form else ["--command", name]
        argv += rest
    code, _, stderr = _run(argv)
    assert isinstance(code, int)
    # 1 means an unexpected exception reached main: a bug.
    assert code in MEANINGS and code != 1, (code, stderr)
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line]
    errors = [line for line in lines if line.startswith("kostyor-tui: error: ")]
    # Besides the error, stderr may only carry warnings (--insecure says it is insecure),
    # and with --debug the HTTP exchange.
    others = ("kostyor-tui: warning: ",) + (("kostyor-tui: debug: ",) if "--debug" in argv else ())
    assert all(line.startswith(others) for line in lines if line not in errors), stderr
    # argparse --help/--version exit 0; every failure is one "error:" line.
    assert len(errors) == (1 if code != 0 else 0), stderr


@settings(max_examples=400, deadline=None)
@given(argv=st.lists(words, max_size=8))
def test_main_parser_parses_or_raises_usage_error(argv: list[str]) -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            main_parser().parse_args(argv)
        except UsageError as error:
            assert "\n" not in error.one_line()
        except SystemExit as done:
            # Only --help and --version end argparse, and they end it well.
            assert done.code in (0, None)


def test_the_generators_reach_the_network_path(offline_config: Path) -> None:
    # Guards the property against only ever exercising usage errors.
    code, _, stderr = _run(["--command", "list-clusters"])
    assert code == 6, stderr
    assert stderr.startswith("kostyor-tui: error: ")
