"""Run one command headless: build the client and operations from the settings, run the
command, print its report. Errors are raised to `kostyor_tui.cli`, the one place that
turns them into an error line and an exit code."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, TextIO

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.audit import audit_trail
from kostyor_tui.commands import Command, CommandContext, watch_upgrade
from kostyor_tui.config import Settings
from kostyor_tui.domain.text import printable
from kostyor_tui.headless.render import (
    render_json,
    render_json_line,
    render_table,
    render_watch_line,
)
from kostyor_tui.operations import Operations

OutputFormat = Literal["table", "json"]
OUTPUT_FORMATS: tuple[OutputFormat, ...] = ("table", "json")


def run_headless(
    command: Command,
    arguments: Mapping[str, Any],
    settings: Settings,
    *,
    output: OutputFormat,
    read_only: bool,
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    """Run `command` with `arguments` and print the result; returns the exit code (0)."""

    def narrate(text: str) -> None:
        print(f"kostyor-tui: note: {printable(text)}", file=stderr, flush=True)

    with KostyorClient(**settings.client_options()) as client:
        ops = Operations(
            client,
            read_only=read_only or settings.read_only,
            read_only_hint=settings.read_only_hint,
            narrate=narrate,
            audit=audit_trail(settings),
        )
        if command.name == "upgrade-status" and arguments.get("watch"):
            _watch(ops, arguments["upgrade_uuid"], settings.poll_interval, output, stdout)
            return 0
        result = command.run(CommandContext(ops, region=settings.profile.region), arguments)
    stdout.write((render_json(result) if output == "json" else render_table(result)) + "\n")
    stdout.flush()
    return 0


def _watch(
    ops: Operations, upgrade_id: str, interval: float, output: OutputFormat, stdout: TextIO
) -> None:
    """A line per change until the upgrade ends (JSON Lines with --output json)."""
    for report in watch_upgrade(ops, upgrade_id, interval):
        if output == "json":
            line = render_json_line(report)
        else:
            line = render_watch_line(report, datetime.now())
        stdout.write(line + "\n")
        stdout.flush()
