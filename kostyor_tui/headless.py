"""Headless mode: run one command against the API and print its result.

stdout carries the data (a table, or one JSON document); stderr carries the
narration. Errors are raised to `kostyor_tui.cli`, which turns them into one
line and an exit code.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, TextIO

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.commands import Command, CommandContext, run_command, watch_upgrade
from kostyor_tui.config import Settings
from kostyor_tui.output import render_json, render_json_line, render_table, render_watch_line

OutputFormat = Literal["table", "json"]
OUTPUT_FORMATS: tuple[OutputFormat, ...] = ("table", "json")


async def run_headless(
    command: Command,
    arguments: Mapping[str, Any],
    settings: Settings,
    *,
    output: OutputFormat,
    read_only: bool,
    stdout: TextIO,
) -> int:
    """Run `command` with `arguments` and print the result; returns the exit code (0)."""
    async with KostyorClient(**settings.client_options()) as client:
        context = CommandContext(client, region=settings.profile.region, read_only=read_only)
        if command.name == "upgrade-status" and arguments.get("watch"):
            await _watch(client, arguments["upgrade_uuid"], settings.poll_interval, output, stdout)
            return 0
        result = await run_command(command, context, arguments)
    stdout.write((render_json(result) if output == "json" else render_table(result)) + "\n")
    stdout.flush()
    return 0


async def _watch(
    client: KostyorClient, upgrade_id: str, interval: float, output: OutputFormat, stdout: TextIO
) -> None:
    """A line per change until the upgrade ends (JSON Lines with --output json)."""
    async for report in watch_upgrade(client, upgrade_id, interval):
        if output == "json":
            line = render_json_line(report)
        else:
            line = render_watch_line(report, datetime.now())
        stdout.write(line + "\n")
        stdout.flush()
