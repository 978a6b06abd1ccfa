"""The command line itself: finding the command, parsing its words, help and version.

No server here: what needs one is in tests/headless/.
"""

from pathlib import Path

import pytest

from kostyor_tui import __version__
from kostyor_tui.cli import command_parser, find_command_name, main
from kostyor_tui.commands import COMMANDS, parse_parameters
from kostyor_tui.errors import UsageError
from kostyor_tui.headless.exit_codes import MEANINGS


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["--command", "list-clusters"], "list-clusters"),
        (["--command=cluster-status", "home_lab"], "cluster-status"),
        (["--api-url", "http://h:1", "--command", "list-hosts", "x"], "list-hosts"),
        (["--read-only"], None),
        (["config", "show"], None),
        (["--", "--command", "list-clusters"], None),
    ],
)
def test_find_command_name(argv: list[str], name: str | None) -> None:
    assert find_command_name(argv) == name


@pytest.mark.parametrize("argv", [["--command"], ["--command", "--output", "json"]])
def test_command_without_a_name_is_a_usage_error(argv: list[str]) -> None:
    with pytest.raises(UsageError, match="--command needs a command name"):
        find_command_name(argv)


def parse(argv: list[str]) -> dict[str, object]:
    command = COMMANDS[find_command_name(argv) or ""]
    args = command_parser(command).parse_intermixed_args(argv)
    return vars(args)


def test_options_and_output_may_follow_the_arguments() -> None:
    args = parse(["--command", "list-upgrades", "--cluster", "home_lab", "--output", "json"])
    assert (args["cluster"], args["output"]) == ("home_lab", "json")

    args = parse(
        [
            "--command",
            "upgrade-cluster",
            "home_lab",
            "a=1",
            "--engine",
            "service-by-service",
            "newton",
            "b=2",
            "--output",
            "json",
            "--driver",
            "noop",
        ]
    )
    # Words are positional in order: the cluster, the version, then the parameters.
    assert args["cluster"] == "home_lab"
    assert args["to_version"] == "a=1"
    assert args["parameters"] == ["newton", "b=2"]
    assert (args["engine"], args["driver"], args["output"]) == (
        "service-by-service",
        "noop",
        "json",
    )


def test_global_options_are_accepted_anywhere() -> None:
    args = parse(
        ["--command", "upgrade-status", "abc", "--watch", "--read-only", "--api-url", "http://x:1"]
    )
    assert args["upgrade_uuid"] == "abc"
    assert args["watch"] is True
    assert args["read_only"] is True
    assert args["api_url"] == "http://x:1"


def test_every_command_has_a_parser_with_its_arguments() -> None:
    for command in COMMANDS.values():
        help_text = command_parser(command).format_help()
        assert command.summary in help_text
        for argument in command.arguments:
            shown = argument.metavar or (
                argument.name if argument.kind in ("positional", "parameters") else ""
            )
            assert shown in help_text
            if argument.kind in ("option", "flag"):
                assert argument.option_string in help_text


def test_parse_parameters() -> None:
    assert parse_parameters(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    assert parse_parameters([]) == {}
    for bad in (["novalue"], ["=1"], [" =1"], ["a=1", "a=2"]):
        with pytest.raises(UsageError):
            parse_parameters(bad)


def test_help_lists_every_command_and_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for name, command in COMMANDS.items():
        assert f"  {name}" in text
        assert command.summary in text
    for code, meaning in MEANINGS.items():
        assert f"{code:>3}  {meaning}" in text


def test_command_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--command", "upgrade-cluster", "--help"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: kostyor-tui --command upgrade-cluster")
    assert "--engine E" in text and "key=value" in text


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"kostyor-tui {__version__}\n"


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--no-such-flag"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "kostyor-tui: error: unrecognized arguments: --no-such-flag (see: kostyor-tui --help)\n"
    )


@pytest.mark.parametrize("width", ["-5", "wide"])
def test_a_max_width_that_is_no_width_is_a_usage_error(
    width: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--command", "list-clusters", "--max-width", width]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kostyor-tui: error: argument --max-width: ")
    assert len(err.splitlines()) == 1


def test_a_config_path_that_names_no_file_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", "", "--command", "list-clusters"]) == 2
    assert "argument --config: an empty path names no file" in capsys.readouterr().err
    loop = tmp_path / "loop.toml"
    loop.symlink_to(tmp_path / "other.toml")
    (tmp_path / "other.toml").symlink_to(loop)
    assert main(["--config", str(loop), "--command", "list-clusters"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"kostyor-tui: error: config file {loop} cannot be read: Too many levels of symbolic"
        " links\n"
    )
    assert main(["--config", str(tmp_path / "absent.toml"), "--command", "list-clusters"]) == 2
    assert "absent.toml does not exist" in capsys.readouterr().err
