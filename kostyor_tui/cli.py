"""The `kostyor-tui` entry point: argv → the console, a headless command, the server or config.

    kostyor-tui [GLOBAL OPTIONS]                        the console (TUI)
    kostyor-tui --demo                                  the console on a demo server
    kostyor-tui --command NAME [ARGS...] [-f F] [-c C]  one command, headless
    kostyor-tui serve [SERVER OPTIONS]                  the embedded Kostyor server
    kostyor-tui config init|show|profiles|use-profile   write, show or edit the settings
    kostyor-tui audit [--cluster C] [--output F]        the audit trail of actions sent
    kostyor-tui completion bash|zsh|fish                a shell completion script
    kostyor-tui rehearse (--inventory F | --cluster C) --to V   an upgrade rehearsed: its plan
    kostyor-tui web [--host H] [--port N]               the console in a browser

Whatever goes wrong ends as one line on stderr and an exit code (see
`kostyor_tui.headless.exit_codes`), never a traceback. Textual is imported only on the console
path, the server only for `serve` and `--demo`, the client only to run a command and
shtab only for `completion`: `--help` and `--version` answer at once, and headless
commands start fast. Output never fails on an encoding: what stdout cannot encode is
replaced.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from kostyor_tui import __version__
from kostyor_tui.commands import COMMANDS, Command, parse_parameters
from kostyor_tui.domain.text import printable, redact, redact_urls
from kostyor_tui.errors import KostyorTuiError, UsageError
from kostyor_tui.headless.exit_codes import MEANINGS, ExitCode, exit_code_for
from kostyor_tui.headless.views import ALL_PROFILES_VIEWS, FORMATS, QUOTE_NAMES, VIEWS

if TYPE_CHECKING:
    from kostyor_tui.config import Settings
    from kostyor_tui.headless.render import OutputOptions

PROG = "kostyor-tui"


# How long the demo server takes per upgrade step, in seconds.
DEMO_STEP_SECONDS = 1.0


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (raised, so main decides what to print)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see: {self.prog} --help)")


_FORMAT_FLAGS = ("-f", "--format", "--output", "-o")
_ALL_PROFILES_HELP = (
    "every profile of the config file at once, each endpoint asked on its own "
    "(the console: a section per profile; list-clusters: a profile column)"
)


def _add_global_options(parser: argparse.ArgumentParser, *, headless: bool = False) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument("--api-url", metavar="URL", help="Kostyor API URL (overrides the profile)")
    group.add_argument("--profile", metavar="NAME", help="config profile to use")
    group.add_argument("--config", metavar="FILE", type=_file, help="config file to read")
    group.add_argument(
        "--insecure", action="store_true", help="do not verify the server's TLS certificate"
    )
    group.add_argument(
        "--read-only", action="store_true", help="refuse every action that changes a cluster"
    )
    group.add_argument(
        "--refresh",
        metavar="SECONDS",
        type=_seconds,
        help="seconds between refreshes (console, upgrade-status --watch); overrides poll_interval",
    )
    group.add_argument(
        "--debug",
        action="store_true",
        help="show each HTTP exchange on stderr (method, URL, status, time; secrets redacted)",
    )
    if not headless:
        group.add_argument(
            *_FORMAT_FLAGS,
            dest="output",
            choices=FORMATS,
            help="output format of --command (see: kostyor-tui --command NAME --help)",
        )
    group.add_argument(
        "--demo",
        action="store_true",
        help="start the embedded server with a demo fleet on a free loopback port and use it",
    )
    group.add_argument("--version", action="version", version=f"{PROG} {__version__}")


def _file(text: str) -> Path:
    if not text:
        raise argparse.ArgumentTypeError("an empty path names no file")
    return Path(text)


def _seconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None


def _columns(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of columns: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 (no limit) or more")
    return value


def _add_output_options(parser: argparse.ArgumentParser, *, lists: bool) -> None:
    """cliff's output options (python-openstackclient's): -f, -c, --sort-column, widths."""
    group = parser.add_argument_group("output (as python-openstackclient's)")
    group.add_argument(
        *_FORMAT_FLAGS,
        dest="output",
        choices=FORMATS,
        metavar="FORMAT",
        help=f"{', '.join(FORMATS)} (default: table; --output, -o: the same)",
    )
    group.add_argument(
        "-c",
        "--column",
        dest="columns",
        action="append",
        metavar="COLUMN",
        help="only this column (repeat for more): a JSON key, dotted for a nested one "
        "(upgrade.status); a nested report's key selects all of it",
    )
    if lists:
        group.add_argument(
            "--sort-column",
            dest="sort_columns",
            action="append",
            metavar="COLUMN",
            help="sort the rows by this column (repeat: the first given decides first)",
        )
        direction = group.add_mutually_exclusive_group()
        direction.add_argument(
            "--sort-ascending",
            dest="sort_descending",
            action="store_false",
            default=False,
            help="sort ascending (the default)",
        )
        direction.add_argument(
            "--sort-descending", dest="sort_descending", action="store_true", help="sort descending"
        )
    group.add_argument(
        "--wide", action="store_true", help="table: every column, ids and lists in full"
    )
    group.add_argument(
        "--max-width",
        type=_columns,
        default=0,
        metavar="N",
        help="table: cut the widest cells (…) so that lines fit in N columns (0: no limit)",
    )
    group.add_argument(
        "--fit-width",
        action="store_true",
        help="table: fit lines to the terminal's width ($COLUMNS, else the terminal's)",
    )
    group.add_argument("--noindent", action="store_true", help="json: no indentation")
    group.add_argument(
        "--quote",
        choices=QUOTE_NAMES,
        default="nonnumeric",
        help="csv: which cells to quote (default: nonnumeric)",
    )
    group.add_argument(
        "--prefix", default="", metavar="TEXT", help="shell: a prefix for every variable name"
    )


def output_options(args: argparse.Namespace) -> OutputOptions:
    from kostyor_tui.headless.render import OutputOptions

    return OutputOptions(
        format=args.output or "table",
        columns=tuple(args.columns or ()),
        sort_columns=tuple(getattr(args, "sort_columns", None) or ()),
        sort_descending=bool(getattr(args, "sort_descending", False)),
        wide=args.wide,
        max_width=args.max_width,
        fit_width=args.fit_width or args.max_width > 0,
        noindent=args.noindent,
        quote=args.quote,
        prefix=args.prefix,
    )


def _commands_epilog() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = ["commands (kostyor-tui --command NAME --help for each):"]
    lines += [f"  {name.ljust(width)}  {command.summary}" for name, command in COMMANDS.items()]
    lines += ["", "exit codes:"]
    lines += [f"  {code:>3}  {meaning}" for code, meaning in MEANINGS.items()]
    return "\n".join(lines)


def main_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Terminal console for Kostyor, the OpenStack rolling-upgrade service.",
        epilog=_commands_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    _add_global_options(parser)
    parser.add_argument(
        "--command", metavar="NAME", help="run one command headless and exit (see below)"
    )
    parser.add_argument("--all-profiles", action="store_true", help=_ALL_PROFILES_HELP)
    modes = parser.add_subparsers(
        dest="mode", metavar="{serve,config,audit,completion,rehearse,web}"
    )
    # `serve ...` is dispatched before parsing (see _dispatch); listed here for --help.
    modes.add_parser("serve", help="run the embedded Kostyor-compatible server", add_help=False)
    config = modes.add_parser(
        "config", help="write, show or edit the configuration", allow_abbrev=False
    )
    config_modes = config.add_subparsers(
        dest="config_mode", metavar="{init,show,profiles,use-profile}", required=True
    )
    init = config_modes.add_parser("init", help="write a commented starter config file (0600)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.add_argument("--path", type=Path, help="where to write it (default: the platform's)")
    show = config_modes.add_parser("show", help="print the effective settings, secrets redacted")
    show.add_argument(
        "--all", action="store_true", help="every profile's effective settings, not just one"
    )
    profiles = config_modes.add_parser(
        "profiles", help="list the profiles: which is the default, which is in use"
    )
    use = config_modes.add_parser(
        "use-profile", help="make NAME the default profile (edits the file, keeps comments)"
    )
    use.add_argument("name", metavar="NAME", help="a profile of the config file")
    audit = modes.add_parser(
        "audit", help="show the audit trail of actions sent or refused", allow_abbrev=False
    )
    audit.add_argument("--cluster", metavar="C", help="only this cluster's (name or id)")
    audit.add_argument(
        "--limit", metavar="N", type=int, help="only the last N entries (after --cluster)"
    )
    for sub in (init, show, profiles, use, audit):
        _add_config_options(sub)
    completion = modes.add_parser(
        "completion",
        help="print a shell completion script (see the README: Shell completion)",
        description="Print a completion script for bash, zsh or fish: commands, options and "
        "the cluster names the last command listed (see the README: Shell completion).",
    )
    completion.add_argument("shell", choices=SHELLS, help="the shell to complete for")
    _add_rehearse_parser(modes)
    _add_web_parser(modes)
    return parser


def _add_rehearse_parser(modes: argparse._SubParsersAction[_Parser]) -> None:
    from kostyor_tui.rehearse.arguments import DESCRIPTION, add_arguments

    rehearse = modes.add_parser(
        "rehearse",
        help="rehearse an upgrade on a copy of a topology; print its plan",
        description=DESCRIPTION,
        allow_abbrev=False,
    )
    add_arguments(rehearse)
    _add_output_options(rehearse, lists=True)


def _add_web_parser(modes: argparse._SubParsersAction[_Parser]) -> None:
    web = modes.add_parser(
        "web",
        help="serve the console in a browser (the web extra; see the README: In a browser)",
        description="Serve the console to browsers through textual-serve, each browser its "
        "own console with these options. Loopback only unless --allow-remote; every "
        "request needs the token of the URL printed at start.",
        allow_abbrev=False,
    )
    web.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    web.add_argument(
        "--port", type=int, default=0, metavar="N", help="port (default: a free one, printed)"
    )
    web.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (plain HTTP: prefer an SSH tunnel to loopback)",
    )
    _add_endpoint_options(web)
    web.add_argument(
        "--demo", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )


SHELLS = ("bash", "zsh", "fish")


def _add_endpoint_options(parser: argparse.ArgumentParser) -> None:
    """The global options that choose the endpoint and its settings, accepted after a mode
    too (`config ...`, `audit`, `web`): only set when given there."""
    keep = argparse.SUPPRESS
    parser.add_argument("--api-url", metavar="URL", default=keep, help=keep)
    parser.add_argument("--profile", metavar="NAME", default=keep, help=keep)
    parser.add_argument("--config", metavar="FILE", type=_file, default=keep, help=keep)
    parser.add_argument("--insecure", action="store_true", default=keep, help=keep)
    parser.add_argument("--read-only", action="store_true", default=keep, help=keep)
    parser.add_argument("--refresh", metavar="SECONDS", type=_seconds, default=keep, help=keep)


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    """The endpoint options, and -f, accepted after `config ...` and `audit` too."""
    _add_endpoint_options(parser)
    parser.add_argument(
        *_FORMAT_FLAGS,
        dest="output",
        choices=("table", "json"),
        default=argparse.SUPPRESS,
        help=argparse.SUPPRESS,
    )


def command_parser(command: Command) -> argparse.ArgumentParser:
    """The parser of `kostyor-tui --command NAME ...`: global options plus the command's own."""
    parser = _Parser(
        prog=f"{PROG} --command {command.name}",
        description=command.summary,
        allow_abbrev=False,
    )
    parser.add_argument("--command", metavar="NAME", required=True, help=argparse.SUPPRESS)
    group = parser.add_argument_group(f"{command.name} arguments")
    for argument in command.arguments:
        if argument.kind == "positional":
            group.add_argument(argument.name, help=argument.help, metavar=argument.metavar)
        elif argument.kind == "option":
            group.add_argument(
                argument.option_string,
                dest=argument.name,
                help=argument.help,
                metavar=argument.metavar,
                choices=argument.choices,
                type=argument.type or str,
            )
        elif argument.kind == "flag":
            group.add_argument(
                argument.option_string, dest=argument.name, action="store_true", help=argument.help
            )
        else:
            group.add_argument(
                argument.name, nargs="*", help=argument.help, metavar=argument.metavar
            )
    if command.name in ALL_PROFILES_VIEWS:
        group.add_argument("--all-profiles", action="store_true", help=_ALL_PROFILES_HELP)
    _add_output_options(parser, lists=VIEWS[command.name].many)
    _add_global_options(parser, headless=True)
    return parser


def find_command_name(argv: Sequence[str]) -> str | None:
    """The NAME of `--command NAME` / `--command=NAME`, or None without --command."""
    for index, word in enumerate(argv):
        if word == "--":
            return None
        if word.startswith("--command="):
            return word.partition("=")[2]
        if word == "--command":
            if index + 1 >= len(argv) or argv[index + 1].startswith("-"):
                raise UsageError(f"--command needs a command name; commands: {_known_commands()}")
            return argv[index + 1]
    return None


def _known_commands() -> str:
    return ", ".join(COMMANDS)


def main(argv: Sequence[str] | None = None) -> int:
    """Run kostyor-tui with `argv` (default: the process's); returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    secrets: list[str] = []
    _never_fail_on_encoding()
    try:
        _check_text(argv)
        return _dispatch(argv, secrets)
    except SystemExit as done:
        # --help and --version print and exit 0 through argparse.
        return done.code if isinstance(done.code, int) else 0 if done.code is None else 2
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as Unix tools do.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.BROKEN_PIPE
    except KostyorTuiError as error:
        _error_line(error.one_line(), secrets)
        return exit_code_for(error)
    except Exception as error:
        _error_line(
            f"unexpected {type(error).__name__}: {error} (a bug in kostyor-tui; please report it)",
            secrets,
        )
        return ExitCode.INTERNAL


def _never_fail_on_encoding() -> None:
    """Characters stdout cannot encode (an ASCII locale, a lone surrogate in a server's
    name) are replaced instead of ending the command with a UnicodeEncodeError."""
    for stream, errors in ((sys.stdout, "replace"), (sys.stderr, "backslashreplace")):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError, io.UnsupportedOperation):
                reconfigure(errors=errors)


def _check_text(argv: Sequence[str]) -> None:
    """An argument that is not valid UTF-8 reaches Python as lone surrogates
    (surrogateescape): a usage error, named with its bytes escaped."""
    for position, word in enumerate(argv, start=1):
        if any("\ud800" <= char <= "\udfff" for char in word):
            shown = word.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            raise UsageError(
                f"argument {position} is not valid UTF-8 text: {shown!r}",
                hint="pass names and values as UTF-8",
            )


def _error_line(message: str, secrets: Sequence[str]) -> None:
    """The one error line: secrets redacted (and any password in a URL), control characters
    made visible."""
    text = " ".join(printable(redact_urls(redact(message, secrets))).split())
    print(f"{PROG}: error: {text}", file=sys.stderr)


def _dispatch(argv: list[str], secrets: list[str]) -> int:
    if argv[:1] == ["serve"]:
        # Everything after `serve` belongs to the server's own parser (--help included).
        from kostyor_tui.server.cli import main as serve_main

        return serve_main(argv[1:])
    command_name = find_command_name(argv)
    if command_name is not None:
        return _run_headless_command(command_name, argv, secrets)
    args = _parse_main(argv)
    if args.mode == "serve":
        raise UsageError(_SERVE_FIRST)
    if args.mode == "completion":
        from kostyor_tui.headless.completion import completion_script

        sys.stdout.write(completion_script(args.shell, main_parser(), _command_parsers()))
        return 0
    if args.mode == "rehearse":
        return _run_rehearse(args, secrets)
    if args.mode == "web":
        return _run_web(args, secrets)
    if args.debug:
        raise UsageError("--debug applies to --command only (see: kostyor-tui --help)")
    if args.mode in ("config", "audit"):
        if args.demo:
            raise UsageError(f"--demo does not apply to {args.mode} (see: kostyor-tui --help)")
        if args.mode == "audit":
            return _run_audit(args)
        return _run_config(args)
    if args.output is not None:
        raise UsageError("--output applies to --command only (see: kostyor-tui --help)")
    return _run_console(args, secrets)


def _command_parsers() -> dict[str, argparse.ArgumentParser]:
    return {name: command_parser(command) for name, command in COMMANDS.items()}


_SERVE_FIRST = "serve comes first and takes the server's options: kostyor-tui serve [OPTIONS]"


def _parse_main(argv: list[str]) -> argparse.Namespace:
    try:
        return main_parser().parse_args(argv)
    except UsageError:
        if "serve" in argv:
            raise UsageError(_SERVE_FIRST) from None
        # `kostyor-tui cluster-status x` is a common slip: say what was meant.
        for word in argv:
            if word in COMMANDS:
                raise UsageError(
                    f"{word} is a command: run kostyor-tui --command {word} ..."
                ) from None
        raise


def _run_headless_command(name: str, argv: list[str], secrets: list[str]) -> int:
    command = COMMANDS.get(name)
    if command is None:
        raise UsageError(f"unknown command {name!r}; commands: {_known_commands()}")
    args = command_parser(command).parse_intermixed_args(argv)
    arguments = {argument.name: getattr(args, argument.name) for argument in command.arguments}
    for argument in command.arguments:
        if argument.kind == "parameters":
            arguments[argument.name] = parse_parameters(arguments[argument.name])
    from kostyor_tui.headless.run import check_arguments, run_headless

    output = output_options(args)
    if getattr(args, "all_profiles", False):
        return _run_all_profiles(command, arguments, args, output, secrets)
    # Checked before the settings are read, the password command run or a request sent.
    check_arguments(command, arguments, output)
    with _api_settings(args, secrets) as settings:
        return run_headless(
            command,
            arguments,
            settings,
            output=output,
            read_only=args.read_only,
            stdout=sys.stdout,
            stderr=sys.stderr,
            debug=args.debug,
        )


def _run_all_profiles(
    command: Command,
    arguments: dict[str, object],
    args: argparse.Namespace,
    output: OutputOptions,
    secrets: list[str],
) -> int:
    from kostyor_tui.headless.all_profiles import check_all_profiles_arguments, run_all_profiles

    # Checked before the settings are read, a password command run or a request sent.
    view = check_all_profiles_arguments(command, output)
    profiles = _all_profiles_settings(args, secrets)
    return run_all_profiles(
        command,
        arguments,
        profiles,
        view=view,
        output=output,
        read_only=args.read_only,
        stdout=sys.stdout,
        stderr=sys.stderr,
        secrets=secrets,
    )


def _run_console(args: argparse.Namespace, secrets: list[str]) -> int:
    if args.all_profiles:
        from kostyor_tui.app import run_console

        profiles = _all_profiles_settings(args, secrets)
        # The console's own profile (the palette's commands, discovery): the default one.
        settings = next(
            (s for s in profiles if s.profile_name == s.file.default_profile), profiles[0]
        )
        return run_console(settings, read_only=args.read_only, all_profiles=profiles)
    # With --demo, Textual and the console are imported while the server starts.
    with _api_settings(args, secrets, while_starting=_import_console) as settings:
        from kostyor_tui.app import run_console

        return run_console(settings, read_only=args.read_only)


def _all_profiles_settings(args: argparse.Namespace, secrets: list[str]) -> list[Settings]:
    """The settings of every profile of the config file, in its order (without profiles:
    the one effective endpoint). Flags that pick one endpoint do not go with them."""
    from kostyor_tui.config import choose_config_path, read_config_file

    for given, flag in ((args.profile, "--profile"), (args.api_url, "--api-url")):
        if given is not None:
            raise UsageError(f"--all-profiles asks every profile: leave out {flag}")
    if args.demo:
        raise UsageError("--demo runs one server: leave out --all-profiles")
    if os.environ.get("KOSTYOR_API_URL"):
        raise UsageError(
            "KOSTYOR_API_URL would point every profile at one endpoint: unset it for --all-profiles"
        )
    path = choose_config_path(args.config, os.environ)
    names = list(read_config_file(path).profiles) if path.is_file() else []
    if not names:
        return [_load_settings(args, None, secrets)]
    warned: set[str] = set()
    return [_load_settings(args, None, secrets, profile=name, warned=warned) for name in names]


def _run_rehearse(args: argparse.Namespace, secrets: list[str]) -> int:
    if args.demo:
        raise UsageError("--demo does not apply to rehearse: it runs its own server")
    from kostyor_tui.rehearse.command import run_rehearsal

    return run_rehearsal(
        args,
        output_options(args),
        lambda api_url: _load_settings(args, api_url, secrets),
        sys.stdout,
    )


def _run_web(args: argparse.Namespace, secrets: list[str]) -> int:
    from kostyor_tui.web import ConsoleOptions, check_host, serve_console

    check_host(args.host, allow_remote=args.allow_remote)
    # Loaded here so that a bad profile fails now, not in every browser.
    with _api_settings(args, secrets) as settings:
        options = ConsoleOptions(
            config=args.config,
            profile=args.profile,
            api_url=settings.api_url if args.demo else args.api_url,
            insecure=args.insecure,
            read_only=args.read_only,
            refresh=args.refresh,
        )
        return serve_console(
            options,
            host=args.host,
            port=args.port,
            allow_remote=args.allow_remote,
            stdout=sys.stdout,
        )


def _import_console() -> None:
    import kostyor_tui.app  # noqa: F401


@contextlib.contextmanager
def _api_settings(
    args: argparse.Namespace,
    secrets: list[str],
    while_starting: Callable[[], object] = lambda: None,
) -> Iterator[Settings]:
    """The effective settings; with --demo, pointed at a demo server running meanwhile
    (`while_starting` is called while it starts)."""
    if not args.demo:
        settings = _load_settings(args, args.api_url, secrets)
        yield settings
        return
    if args.api_url is not None:
        raise UsageError("--demo runs its own server: leave out --api-url")
    with _demo_server(while_starting) as url:
        yield _load_settings(args, url, secrets)


def _load_settings(
    args: argparse.Namespace,
    api_url: str | None,
    secrets: list[str],
    *,
    profile: str | None = None,
    warned: set[str] | None = None,
) -> Settings:
    """The settings of `profile` (default: the one the flags and file choose); a warning
    already in `warned` is not told again."""
    from kostyor_tui.config import load_settings

    settings = load_settings(
        config_path=args.config,
        profile=profile or args.profile,
        api_url=api_url,
        insecure=args.insecure,
        read_only=args.read_only,
        poll_interval=args.refresh,
    )
    # Secrets resolved later (password_command, token_command) are added when they are.
    secrets.extend(settings.known_secrets())
    settings.on_secret = secrets.append
    warned = set() if warned is None else warned
    for warning in settings.warnings:
        if warning not in warned:
            warned.add(warning)
            print(f"{PROG}: {warning}", file=sys.stderr)
    return settings


@contextlib.contextmanager
def _demo_server(while_starting: Callable[[], object]) -> Iterator[str]:
    """A demo server on a free loopback port, its database in a temporary directory.

    It runs as a child process, so that serving and simulating upgrades never
    compete with the console for this interpreter's lock.
    """
    import signal
    import tempfile

    from kostyor_tui.server.process import ServerProcess

    # A dropped SSH session (SIGHUP) or a kill (SIGTERM) ends the demo as `q` does: the
    # console quits on them itself while it runs (run_console); before and after, they
    # unwind to the cleanup below instead of killing the process with its files left.
    quit_signals = {signal.SIGHUP, signal.SIGTERM}

    def unwind(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = {signum: signal.signal(signum, unwind) for signum in quit_signals}
    try:
        with tempfile.TemporaryDirectory(prefix="kostyor-demo-") as directory:
            server = ServerProcess(
                Path(directory) / "kostyor.sqlite3",
                seed="demo",
                step_seconds=DEMO_STEP_SECONDS,
                die_with_parent=True,
            )
            server.spawn()
            try:
                while_starting()
                server.wait_until_serving()
            except RuntimeError as exc:
                server.stop()
                raise KostyorTuiError(str(exc), hint="run kostyor-tui serve to see why") from None
            except BaseException:
                server.stop()
                raise
            try:
                yield server.url
            finally:
                # A second signal must not cut the cleanup short.
                signal.pthread_sigmask(signal.SIG_BLOCK, quit_signals)
                server.stop()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, quit_signals)


def _run_config(args: argparse.Namespace) -> int:
    from kostyor_tui import config

    if args.config_mode == "init":
        path = config.init_config(args.path or args.config, force=args.force)
        print(f"wrote {path} (mode 0600); edit it, then check it with: {PROG} config show")
        return 0
    if args.config_mode == "use-profile":
        return _use_profile(args)
    settings = _settings_for_config(args)
    summary: object
    if args.config_mode == "profiles":
        summary, text = config.profiles_summary(settings), config.render_profiles(settings)
    elif args.all:
        summary, text = config.all_profiles_summary(settings), config.render_all_profiles(settings)
    else:
        summary, text = config.settings_summary(settings), config.render_settings(settings)
    if args.output == "json":
        import json

        print(json.dumps(summary, indent=2))
    else:
        print(text)
    return 0


def _settings_for_config(args: argparse.Namespace) -> Settings:
    from kostyor_tui.config import load_settings

    return load_settings(
        config_path=args.config,
        profile=args.profile,
        api_url=args.api_url,
        insecure=args.insecure,
        read_only=args.read_only,
        poll_interval=args.refresh,
    )


def _use_profile(args: argparse.Namespace) -> int:
    from kostyor_tui.config import choose_config_path, use_profile

    path = use_profile(choose_config_path(args.config, os.environ), args.name)
    print(f"default_profile is now {args.name!r} in {path}")
    chosen = args.profile or os.environ.get("KOSTYOR_PROFILE")
    if chosen and chosen != args.name:
        origin = "--profile" if args.profile else "KOSTYOR_PROFILE"
        print(f"{PROG}: note: {origin} still picks {chosen!r} where it is given", file=sys.stderr)
    return 0


def _run_audit(args: argparse.Namespace) -> int:
    from kostyor_tui.audit import FIELDS, read_audit

    settings = _settings_for_config(args)
    if args.limit is not None and args.limit < 0:
        raise UsageError("--limit must be 0 or more")
    reading = read_audit(settings.audit_path, cluster=args.cluster, limit=args.limit)
    if reading.unreadable:
        print(
            f"{PROG}: warning: {reading.unreadable} line(s) of {settings.audit_path} are not "
            "audit entries and were skipped",
            file=sys.stderr,
        )
    from kostyor_tui.headless.render import render_json_data, table

    if args.output == "json":
        # Names in the entries came from a server: escaped as every JSON output is.
        print(render_json_data(reading.entries))
        return 0
    if not reading.entries:
        print(f"(no entries in {settings.audit_path})")
        return 0

    columns = ("time", "user", "profile", "cluster", "action", "forced", "outcome", "detail")
    assert set(columns) <= set(FIELDS)
    rows = [[_audit_cell(entry.get(key)) for key in columns] for entry in reading.entries]
    print(table([column.upper() for column in columns], rows))
    return 0


def _audit_cell(value: object) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
