"""`kostyor-tui serve`: run the embedded Kostyor-compatible server in the foreground."""

import argparse
import sys
from pathlib import Path

from platformdirs import user_data_dir

from kostyor_tui.server.runner import ServerOptions, serve
from kostyor_tui.server.seed import SEEDS

APP_NAME = "kostyor-tui"
DEFAULT_PORT = 5055


def default_db_path() -> Path:
    return Path(user_data_dir(APP_NAME)) / "server.sqlite3"


def _credentials(text: str) -> tuple[str, str]:
    username, separator, password = text.partition(":")
    if not separator or not username or not password:
        # The value is not echoed: it may hold a password.
        raise argparse.ArgumentTypeError("expected USER:PASSWORD")
    return username, password


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def build_parser(prog: str = "kostyor-tui serve") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve the Kostyor REST API with a simulated upgrade engine and SQLite.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="port (0: any free port; default 5055)"
    )
    parser.add_argument(
        "--db", type=Path, default=None, help=f"SQLite database (default: {default_db_path()})"
    )
    parser.add_argument(
        "--seed", choices=SEEDS, default="demo", help="fills an empty database only"
    )
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
    parser.add_argument(
        "--auth",
        type=_credentials,
        default=None,
        metavar="USER:PASSWORD",
        help="require HTTP Basic credentials on every request",
    )
    return parser


def main(argv: list[str]) -> int:
    """Parse the arguments after the word `serve` and serve until interrupted."""
    args = build_parser().parse_args(argv)
    options = ServerOptions(
        db_path=args.db if args.db is not None else default_db_path(),
        host=args.host,
        port=args.port,
        seed=args.seed,
        step_seconds=args.step_seconds,
        fail_rate=args.fail_rate,
        fail_host=args.fail_host,
        auth=args.auth,
        random_seed=args.random_seed,
    )
    try:
        return serve(options)
    except OSError as error:
        print(f"error: cannot serve on {args.host}:{args.port}: {error.strerror}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    # `python -m kostyor_tui.server.cli serve ...`, the word `serve` being optional.
    arguments = sys.argv[1:]
    if arguments[:1] == ["serve"]:
        arguments = arguments[1:]
    sys.exit(main(arguments))
