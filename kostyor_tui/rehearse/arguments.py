"""The options of `kostyor-tui rehearse` (argparse only: the CLI builds its parser with
them before anything heavy is imported)."""

from __future__ import annotations

import argparse
from pathlib import Path

from kostyor_tui.domain.order import DEFAULT_ENGINE, KNOWN_ENGINES

SECTION_CHOICES: tuple[str, ...] = ("all", "summary", "components", "hosts", "failures", "steps")
# How long the console's played upgrade takes by default, whatever the plan predicts.
DEFAULT_CONSOLE_SECONDS = 120.0
DESCRIPTION = (
    "Copy a topology into a throw-away embedded server, run the upgrade there on a virtual "
    "clock (hours of upgrade in seconds) and print the plan: the engine's order, when each "
    "host starts and ends, how long each service runs at mixed versions, the predicted "
    "duration, and what a failure on a host does (see the README: Rehearsal)."
)


def _simulated(text: str) -> tuple[int, int, int]:
    try:
        controllers, computes, storage = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not CONTROLLERS,COMPUTES,STORAGE (three counts): {text!r}"
        ) from None
    if min(controllers, computes, storage) < 0 or controllers + computes + storage == 0:
        raise argparse.ArgumentTypeError("the counts must be 0 or more, and not all 0")
    return controllers, computes, storage


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be 0 seconds or more")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group("topology (one of)").add_mutually_exclusive_group(
        required=True
    )
    source.add_argument(
        "--inventory",
        metavar="OSA_JSON",
        type=Path,
        help="an OpenStack-Ansible dynamic inventory JSON file (as openstack-ansible "
        "discovery reads it)",
    )
    source.add_argument(
        "--cluster",
        metavar="C",
        help="a cluster (name or id) of the endpoint of --profile, read only",
    )
    source.add_argument(
        "--simulated",
        metavar="CONTROLLERS,COMPUTES,STORAGE",
        type=_simulated,
        help="a generated role-based fleet, as simulated discovery makes (e.g. 8,1980,12)",
    )
    upgrade = parser.add_argument_group("upgrade")
    upgrade.add_argument("--to", required=True, metavar="VERSION", help="the release to upgrade to")
    upgrade.add_argument(
        "--from",
        dest="from_version",
        metavar="VERSION",
        help="the release the topology runs (--inventory, --simulated; default: the one "
        "before --to; a live cluster says its own)",
    )
    upgrade.add_argument(
        "--engine", choices=KNOWN_ENGINES, default=DEFAULT_ENGINE, help="the upgrade engine"
    )
    upgrade.add_argument(
        "--fail-host",
        dest="fail_hosts",
        action="append",
        default=[],
        metavar="H",
        help="rehearse a failure on this host too: where the upgrade stops, what a rollback "
        "covers (repeat for more: each is its own rehearsal)",
    )
    timing = parser.add_argument_group("step times (one of)").add_mutually_exclusive_group()
    timing.add_argument(
        "--step-seconds",
        type=_seconds,
        metavar="S",
        help="every step takes S seconds (default: 60)",
    )
    timing.add_argument(
        "--durations",
        type=Path,
        metavar="FILE",
        help="per-service step times from a TOML file ([durations] nova-compute = 40)",
    )
    timing.add_argument(
        "--durations-from-db",
        type=Path,
        metavar="PATH",
        help="per-service step times from the step log of an earlier run of the embedded "
        "server (its kostyor-tui serve --db file)",
    )
    shown = parser.add_argument_group("plan")
    shown.add_argument(
        "--section",
        choices=SECTION_CHOICES,
        default="all",
        help="the part of the plan to print (default: all; csv, value and shell print one "
        "section: the steps unless another is given)",
    )
    shown.add_argument(
        "--console",
        action="store_true",
        help="open the rehearsal in the console instead, to watch it play on a sped-up clock",
    )
    shown.add_argument(
        "--console-seconds",
        type=_positive_seconds,
        default=DEFAULT_CONSOLE_SECONDS,
        metavar="N",
        help=f"--console: play the whole upgrade in about N seconds (default: "
        f"{DEFAULT_CONSOLE_SECONDS:g})",
    )
    live = parser.add_argument_group("live endpoint (--cluster)")
    keep = argparse.SUPPRESS
    live.add_argument("--profile", metavar="NAME", default=keep, help="config profile to read")
    live.add_argument("--config", metavar="FILE", type=Path, default=keep, help="config file")
    live.add_argument("--api-url", metavar="URL", default=keep, help="Kostyor API URL")
    live.add_argument(
        "--insecure", action="store_true", default=keep, help="do not verify TLS certificates"
    )
