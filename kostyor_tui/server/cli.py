"""`kostyor-tui serve`: run the embedded Kostyor-compatible server in the foreground."""

import argparse
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path

from platformdirs import user_data_dir

from kostyor_tui.domain.network import is_loopback
from kostyor_tui.server import connections, discovery, upstream
from kostyor_tui.server.errors import BadRequest
from kostyor_tui.server.routes import DEFAULT_MAX_CLUSTERS
from kostyor_tui.server.runner import ServerOptions, serve
from kostyor_tui.server.seed import SEEDS
from kostyor_tui.server.store import DatabaseProblem

APP_NAME = "kostyor-tui"
DEFAULT_PORT = 5055
# USER:PASSWORD, for a server started by a program: unlike argv, not shown by `ps`.
AUTH_ENVIRONMENT = "KOSTYOR_SERVER_AUTH"


def default_db_path() -> Path:
    return Path(user_data_dir(APP_NAME)) / "server.sqlite3"


def _credentials(text: str) -> tuple[str, str]:
    username, separator, password = text.partition(":")
    if not separator or not username or not password:
        # The value is not echoed: it may hold a password.
        raise argparse.ArgumentTypeError("expected USER:PASSWORD")
    return username, password


def _auth_file(text: str) -> tuple[str, str]:
    path = Path(text).expanduser()
    try:
        found = path.stat()
        if not stat.S_ISREG(found.st_mode):
            raise argparse.ArgumentTypeError(f"{path} is not a regular file")
        if found.st_mode & 0o077:
            raise argparse.ArgumentTypeError(
                f"{path} is open to other users (mode {stat.S_IMODE(found.st_mode):04o}):"
                f" chmod 600 {path}"
            )
        with path.open(encoding="utf-8") as file:
            first_line = file.readline().rstrip("\r\n")
    except OSError as error:
        raise argparse.ArgumentTypeError(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise argparse.ArgumentTypeError(f"{path} is not UTF-8 text") from None
    try:
        return _credentials(first_line)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"the first line of {path} must be USER:PASSWORD"
        ) from None


def _directory(text: str) -> Path:
    path = Path(os.path.abspath(Path(text).expanduser()))
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"not a directory: {path}")
    return path


def _whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number of at least `low` (and at most `high`)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if high is None and value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}")
        if high is not None and not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}")
        return value

    return parse


_positive = _whole_number(1)
_port = _whole_number(0, 65_535)


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


# The longest time an option takes: asyncio's timers and the engine's waits need a finite
# number, and a day is longer than any test or demo needs.
_MAX_SECONDS = 86_400


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= _MAX_SECONDS:  # NaN included
        raise argparse.ArgumentTypeError(f"must be between 0 and {_MAX_SECONDS} seconds")
    return value


def _timeout(text: str) -> float:
    value = _seconds(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def build_parser(prog: str = "kostyor-tui serve") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve the Kostyor REST API with a simulated upgrade engine and SQLite.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--behave",
        choices=upstream.BEHAVIOURS,
        default=upstream.FIXED,
        help="fixed (default): the real server's bugs fixed, a simulated engine; upstream:"
        " answer as the real Kostyor server does, quirks included, with no engine",
    )
    parser.add_argument(
        "--broker-down",
        action="store_true",
        help="upstream mode: POST /upgrades saves the upgrade, then answers 500, as the real"
        " server does when its task broker is down",
    )
    parser.add_argument(
        "--ansible-inventory",
        type=lambda text: Path(os.path.abspath(Path(text).expanduser())),
        default=None,
        metavar="PATH",
        help="upstream mode: the Ansible inventory openstack-ansible discovery reads (it takes"
        " no parameters there); must lie inside an --inventory-dir",
    )
    parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help="port (0: any free port; default 5055)"
    )
    parser.add_argument(
        "--db", type=Path, default=None, help=f"SQLite database (default: {default_db_path()})"
    )
    parser.add_argument("--seed", choices=SEEDS, default="demo", help="fills a new database only")
    parser.add_argument(
        "--step-seconds", type=_seconds, default=1.0, help="time each upgrade step takes"
    )
    parser.add_argument(
        "--fail-rate", type=_rate, default=0.0, help="probability that an upgrade step fails"
    )
    parser.add_argument("--fail-host", default=None, help="the first step on this host fails")
    parser.add_argument(
        "--random-seed", type=int, default=None, help="makes --fail-rate reproducible"
    )
    credentials = parser.add_mutually_exclusive_group()
    credentials.add_argument(
        "--auth-file",
        type=_auth_file,
        default=None,
        metavar="PATH",
        help="require HTTP Basic credentials on every request: USER:PASSWORD on the first line"
        f" of PATH (mode 0600 or stricter); or set {AUTH_ENVIRONMENT}=USER:PASSWORD",
    )
    credentials.add_argument(
        "--auth",
        type=_credentials,
        default=None,
        metavar="USER:PASSWORD",
        help="like --auth-file, but every local user can read it in the process list (ps)",
    )
    parser.add_argument(
        "--insecure-no-auth",
        action="store_true",
        help="serve a --host other than loopback without credentials (anyone who reaches it"
        " may read everything and start upgrades)",
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests for this host name (a reverse proxy's); repeatable",
    )
    parser.add_argument(
        "--inventory-dir",
        action="append",
        type=_directory,
        default=[],
        metavar="DIR",
        help="openstack-ansible discovery may read inventories in DIR; repeatable (default:"
        " none, so it reads nothing)",
    )
    parser.add_argument(
        "--max-instances",
        type=_positive,
        default=discovery.DEFAULT_MAX_INSTANCES,
        metavar="N",
        help="largest cluster discovery may create, in service instances"
        f" (default {discovery.DEFAULT_MAX_INSTANCES})",
    )
    parser.add_argument(
        "--max-clusters",
        type=_positive,
        default=DEFAULT_MAX_CLUSTERS,
        metavar="N",
        help="discovery is refused once the server holds N clusters"
        f" (default {DEFAULT_MAX_CLUSTERS})",
    )
    parser.add_argument(
        "--keep-alive-timeout",
        type=_timeout,
        default=connections.DEFAULT_KEEP_ALIVE_SECONDS,
        metavar="S",
        help="close a connection idle for S seconds after an answer"
        f" (default {connections.DEFAULT_KEEP_ALIVE_SECONDS:g})",
    )
    parser.add_argument(
        "--request-timeout",
        type=_timeout,
        default=connections.DEFAULT_REQUEST_SECONDS,
        metavar="S",
        help="close a connection whose request (headers and body) has not all arrived S"
        f" seconds after it began (default {connections.DEFAULT_REQUEST_SECONDS:g})",
    )
    parser.add_argument(
        "--max-connections",
        type=_positive,
        default=connections.DEFAULT_MAX_CONNECTIONS,
        metavar="N",
        help="answer 503 on connections beyond N open at once"
        f" (default {connections.DEFAULT_MAX_CONNECTIONS})",
    )
    return parser


def _credentials_given(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> tuple[str, str] | None:
    """The credentials from --auth, --auth-file or the environment, in that order; warnings
    and refusals (exit 2) on stderr."""
    if args.auth is not None:
        print(
            "warning: --auth shows the password to every local user (ps);"
            f" prefer --auth-file or {AUTH_ENVIRONMENT}",
            file=sys.stderr,
        )
    auth = args.auth or args.auth_file
    from_environment = os.environ.get(AUTH_ENVIRONMENT)
    if auth is None and from_environment:
        try:
            auth = _credentials(from_environment)
        except argparse.ArgumentTypeError:
            parser.error(f"{AUTH_ENVIRONMENT}: expected USER:PASSWORD")
    if auth is None and not is_loopback(args.host):
        if not args.insecure_no_auth:
            parser.error(
                f"refusing to serve {args.host} without credentials: anyone who reaches it"
                " could read the fleet, start upgrades and have discovery read files here."
                f" Use --auth-file or {AUTH_ENVIRONMENT}, or --insecure-no-auth"
            )
        print(
            f"warning: serving {args.host} without credentials (--insecure-no-auth):"
            " anyone who reaches it may read everything and start upgrades",
            file=sys.stderr,
        )
    return auth


def _check_behaviour(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Options of upstream mode are refused without it (exit 2); the engine's, in it, warned."""
    if args.behave != upstream.UPSTREAM:
        for given, option in (
            (args.broker_down, "--broker-down"),
            (args.ansible_inventory is not None, "--ansible-inventory"),
        ):
            if given:
                parser.error(f"{option} applies to --behave upstream only")
        return
    if args.ansible_inventory is not None:
        path = str(args.ansible_inventory)
        limits = discovery.Limits(inventory_dirs=tuple(args.inventory_dir))
        try:
            # The check every inventory path meets (links resolved); the file is read
            # only when discovery runs.
            discovery.allowed_inventory_path(path, limits)
        except BadRequest:
            parser.error(f"--ansible-inventory {path} is not inside an --inventory-dir")
    if args.fail_rate or args.fail_host is not None:
        print(
            "warning: --fail-rate and --fail-host do nothing in upstream mode: no engine runs",
            file=sys.stderr,
        )


def main(argv: list[str]) -> int:
    """Parse the arguments after the word `serve` and serve until interrupted."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_behaviour(parser, args)
    auth = _credentials_given(parser, args)
    options = ServerOptions(
        db_path=args.db if args.db is not None else default_db_path(),
        host=args.host,
        port=args.port,
        seed=args.seed,
        step_seconds=args.step_seconds,
        fail_rate=args.fail_rate,
        fail_host=args.fail_host,
        auth=auth,
        random_seed=args.random_seed,
        inventory_dirs=tuple(args.inventory_dir),
        max_instances=args.max_instances,
        max_clusters=args.max_clusters,
        allowed_hosts=tuple(args.allowed_host),
        keep_alive_seconds=args.keep_alive_timeout,
        request_seconds=args.request_timeout,
        max_connections=args.max_connections,
        behave=args.behave,
        broker_down=args.broker_down,
        ansible_inventory=args.ansible_inventory,
    )
    try:
        return serve(options)
    except DatabaseProblem as problem:
        print(f"error: database {problem}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: cannot serve on {args.host}:{args.port}: {error.strerror}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    # `python -m kostyor_tui.server.cli serve ...`, the word `serve` being optional.
    arguments = sys.argv[1:]
    if arguments[:1] == ["serve"]:
        arguments = arguments[1:]
    sys.exit(main(arguments))
