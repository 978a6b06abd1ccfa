"""Run one command headless: build the client and operations from the settings, run the
command, print its report in the chosen format. Errors are raised to `kostyor_tui.cli`,
the one place that turns them into an error line and an exit code.

Everything a command line can get wrong (a column, a sort column, flags that do not go
together) is checked before the first request: a typo never starts an upgrade.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.audit import audit_trail
from kostyor_tui.commands import DEFAULT_IDLE_TIMEOUT, Command, CommandContext
from kostyor_tui.config import Settings
from kostyor_tui.domain.text import printable
from kostyor_tui.errors import UsageError
from kostyor_tui.headless.cache import remember_clusters
from kostyor_tui.headless.follow import Limits, follow, outcome_error
from kostyor_tui.headless.render import OutputOptions, render, render_change
from kostyor_tui.headless.views import VIEWS, View
from kostyor_tui.operations import Operations
from kostyor_tui.reports import UpgradeStatusReport

if TYPE_CHECKING:
    from kostyor_tui.api.models import Cluster

PROG = "kostyor-tui"


class _RememberingClient(KostyorClient):
    """The client, remembering the last cluster list it read (for shell completion)."""

    clusters_seen: list[Cluster] | None = None

    def list_clusters(self) -> list[Cluster]:
        clusters = super().list_clusters()
        self.clusters_seen = clusters
        return clusters


def check_arguments(command: Command, arguments: Mapping[str, Any], output: OutputOptions) -> View:
    """The command's view, once the output options and follow flags are known to fit it."""
    view = VIEWS[command.name]
    view.select(output.columns)
    view.check_sort(output.sort_columns)
    if command.name == "upgrade-status":
        following = arguments.get("watch") or arguments.get("wait")
        if arguments.get("watch") and arguments.get("wait"):
            raise UsageError("--watch and --wait do not go together: choose one")
        for name in ("timeout", "idle_timeout"):
            if arguments.get(name) is not None and not following:
                flag = "--" + name.replace("_", "-")
                raise UsageError(f"{flag} applies to --watch and --wait only")
    return view


def run_headless(
    command: Command,
    arguments: Mapping[str, Any],
    settings: Settings,
    *,
    output: OutputOptions,
    read_only: bool,
    stdout: TextIO,
    stderr: TextIO,
    debug: bool = False,
) -> int:
    """Run `command` with `arguments` and print the result; returns the exit code (0)."""
    view = check_arguments(command, arguments, output)

    def narrate(text: str) -> None:
        print(f"{PROG}: note: {printable(text)}", file=stderr, flush=True)

    def debug_line(text: str) -> None:
        print(f"{PROG}: debug: {printable(text)}", file=stderr, flush=True)

    client = _RememberingClient(**settings.client_options(), debug=debug_line if debug else None)
    with client:
        ops = Operations(
            client,
            read_only=read_only or settings.read_only,
            read_only_hint=settings.read_only_hint,
            narrate=narrate,
            audit=audit_trail(settings),
        )
        try:
            if command.name == "upgrade-status" and (
                arguments.get("watch") or arguments.get("wait")
            ):
                return _follow(ops, arguments, settings, view, output, stdout, narrate)
            result = command.run(CommandContext(ops, region=settings.profile.region), arguments)
        finally:
            if client.clusters_seen is not None:
                remember_clusters(cluster.name for cluster in client.clusters_seen)
    _print(stdout, render(result, view, output, _terminal_width(output)))
    return 0


def _terminal_width(output: OutputOptions) -> int | None:
    """The width `--fit-width` fits a table to: $COLUMNS, else the terminal's, else 80."""
    return shutil.get_terminal_size().columns if output.fit_width else None


def _print(stdout: TextIO, text: str) -> None:
    if text:
        stdout.write(text + "\n")
    stdout.flush()


def _follow(
    ops: Operations,
    arguments: Mapping[str, Any],
    settings: Settings,
    view: View,
    output: OutputOptions,
    stdout: TextIO,
    narrate: Callable[[str], None],
) -> int:
    """`--watch`: a line (or document) per change; `--wait`: the end only. The exit code
    says how the upgrade ended (raised as an error unless it succeeded)."""
    upgrade = ops.resolve_upgrade(arguments["upgrade_uuid"])
    watching = bool(arguments.get("watch"))
    first = True

    def on_change(report: UpgradeStatusReport) -> None:
        nonlocal first
        if watching:
            line = render_change(report, view, output, first=first, now=datetime.now())
            _print(stdout, line)
            first = False

    idle = arguments.get("idle_timeout")
    limits = Limits(
        interval=settings.poll_interval,
        timeout=arguments.get("timeout"),
        idle_timeout=DEFAULT_IDLE_TIMEOUT if idle is None else idle,
    )
    followed = follow(ops, upgrade, limits, on_change=on_change, narrate=narrate)
    if not watching:
        _print(stdout, render(followed.report, view, output, _terminal_width(output)))
    error = outcome_error(ops, followed)
    if error is not None:
        raise error
    return 0
