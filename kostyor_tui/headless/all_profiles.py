"""`--all-profiles` headless: one command asked of every profile's endpoint at once, each
row told by the profile it came from.

Each endpoint is asked in a thread of its own (at most `MAX_THREADS` at a time),
through a client of its own with its profile's credentials and timeout, so that a slow
or dead endpoint costs its own timeout and never holds up the others. The rows of
every endpoint that answered are printed; each one that did not is a line on stderr
(its profile, then the usual error, secrets redacted), and the exit code then says
that some did not answer (`ExitCode.PARTIAL`).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TextIO

from kostyor_tui import reports
from kostyor_tui.api.client import KostyorClient
from kostyor_tui.audit import audit_trail
from kostyor_tui.commands import Command, CommandContext
from kostyor_tui.config import Settings
from kostyor_tui.domain.text import one_line, printable, redact, redact_urls
from kostyor_tui.errors import KostyorTuiError, UsageError
from kostyor_tui.headless.cache import remember_clusters
from kostyor_tui.headless.exit_codes import ExitCode
from kostyor_tui.headless.render import OutputOptions, render
from kostyor_tui.headless.views import ALL_PROFILES_VIEWS, View
from kostyor_tui.operations import Operations

PROG = "kostyor-tui"
# Endpoints asked at the same time; more profiles than this wait for a free thread.
MAX_THREADS = 8


@dataclass(frozen=True)
class EndpointAnswer:
    """What one profile's endpoint answered: its rows, or the error it ended with."""

    profile: str
    rows: tuple[reports.ProfileClusterSummary, ...] = ()
    error: KostyorTuiError | None = None


def check_all_profiles_arguments(command: Command, output: OutputOptions) -> View:
    """The `--all-profiles` view of `command`, once the output options are known to fit it."""
    view = ALL_PROFILES_VIEWS.get(command.name)
    if view is None:
        raise UsageError(f"--all-profiles applies to {', '.join(ALL_PROFILES_VIEWS)} only")
    view.select(output.columns)
    view.check_sort(output.sort_columns)
    return view


def ask_endpoint(
    command: Command, arguments: Mapping[str, Any], settings: Settings, *, read_only: bool
) -> EndpointAnswer:
    """Run `command` against one profile's endpoint (in the calling thread)."""
    profile = settings.profile_name
    try:
        # The client is built here, not before: a password_command runs in this thread too.
        with KostyorClient(**settings.client_options()) as client:
            ops = Operations(
                client,
                read_only=read_only or settings.read_only,
                read_only_hint=settings.read_only_hint,
                audit=audit_trail(settings),
            )
            summaries = command.run(CommandContext(ops, region=settings.profile.region), arguments)
    except KostyorTuiError as error:
        return EndpointAnswer(profile, error=error)
    rows = tuple(reports.profile_cluster_summary(profile, summary) for summary in summaries)
    return EndpointAnswer(profile, rows=rows)


def ask_every_endpoint(
    command: Command,
    arguments: Mapping[str, Any],
    profiles: Sequence[Settings],
    *,
    read_only: bool,
) -> list[EndpointAnswer]:
    """Every profile's answer, in the profiles' order, the endpoints asked concurrently."""
    threads = max(1, min(MAX_THREADS, len(profiles)))
    with ThreadPoolExecutor(threads, thread_name_prefix="all-profiles") as pool:
        futures = [
            pool.submit(ask_endpoint, command, arguments, settings, read_only=read_only)
            for settings in profiles
        ]
        return [future.result() for future in futures]


def failure_line(answer: EndpointAnswer, secrets: Sequence[str]) -> str:
    """The stderr line of an endpoint that did not answer: its profile and the usual error,
    secrets (and any password in a URL) redacted, control characters made visible."""
    assert answer.error is not None
    text = one_line(printable(redact_urls(redact(answer.error.one_line(), secrets))))
    return f"{PROG}: error: profile {printable(answer.profile)!r}: {text}"


def run_all_profiles(
    command: Command,
    arguments: Mapping[str, Any],
    profiles: Sequence[Settings],
    *,
    view: View,
    output: OutputOptions,
    read_only: bool,
    stdout: TextIO,
    stderr: TextIO,
    secrets: Sequence[str],
) -> int:
    """Ask every profile, print the rows of those that answered and a line for each that
    did not; 0 when all answered, `ExitCode.PARTIAL` otherwise."""
    answers = ask_every_endpoint(command, arguments, profiles, read_only=read_only)
    rows = [row for answer in answers for row in answer.rows]
    remember_clusters(row.name for row in rows)
    width = shutil.get_terminal_size().columns if output.fit_width else None
    text = render(rows, view, output, width)
    if text:
        stdout.write(text + "\n")
    stdout.flush()
    failed = [answer for answer in answers if answer.error is not None]
    for answer in failed:
        print(failure_line(answer, secrets), file=stderr, flush=True)
    return ExitCode.PARTIAL if failed else ExitCode.OK
