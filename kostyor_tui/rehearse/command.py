"""`kostyor-tui rehearse`: read the topology and the step times, rehearse, print the plan
(or play it in the console). Errors are raised to the CLI, which prints them."""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Callable
from typing import TextIO

from kostyor_tui.config import Settings
from kostyor_tui.errors import UsageError
from kostyor_tui.headless.render import OutputOptions
from kostyor_tui.rehearse import durations, topology
from kostyor_tui.rehearse.output import check_output, render_plan

# Settings for an API URL (None: the profile's), as the CLI loads them.
LoadSettings = Callable[[str | None], Settings]


def _release_before(version: str) -> str:
    from kostyor_tui.server import releases

    if version not in releases.RELEASES or version == releases.RELEASES[0]:
        raise UsageError(f"give --from: there is no known release before {version!r}")
    return releases.RELEASES[releases.RELEASES.index(version) - 1]


def step_times(args: argparse.Namespace) -> durations.Durations:
    if args.durations is not None:
        return durations.from_toml(args.durations)
    if args.durations_from_db is not None:
        return durations.from_step_log(args.durations_from_db)
    step = args.step_seconds
    return durations.uniform(durations.DEFAULT_STEP_SECONDS if step is None else step)


def read_topology(args: argparse.Namespace, load_settings: LoadSettings) -> topology.Topology:
    if args.cluster is not None:
        if args.from_version is not None:
            raise UsageError("--from applies to --inventory and --simulated: a cluster has its own")
        return topology.from_endpoint(load_settings(getattr(args, "api_url", None)), args.cluster)
    version = args.from_version or _release_before(args.to)
    if args.inventory is not None:
        return topology.from_inventory(args.inventory, version)
    controllers, computes, storage = args.simulated
    return topology.simulated(controllers, computes, storage, version)


def run_rehearsal(
    args: argparse.Namespace,
    output: OutputOptions,
    load_settings: LoadSettings,
    stdout: TextIO,
) -> int:
    """Rehearse as `args` say and print the plan in `output`'s format; or, with --console,
    play it in the console against a throw-away server. Returns the exit code."""
    section = check_output(args.section, output)
    times = step_times(args)
    source = read_topology(args, load_settings)
    if args.console:
        from kostyor_tui.rehearse.console import watch

        return watch(
            source,
            to_version=args.to,
            engine=args.engine,
            fail_hosts=args.fail_hosts,
            play_seconds=args.console_seconds,
            load_settings=load_settings,
        )
    from kostyor_tui.rehearse.rehearsal import rehearse

    plan = rehearse(
        source, to_version=args.to, engine=args.engine, durations=times, fail_hosts=args.fail_hosts
    )
    width = shutil.get_terminal_size().columns if output.fit_width else None
    text = render_plan(plan, section, output, width)
    if text:
        stdout.write(text + "\n")
    stdout.flush()
    return 0
