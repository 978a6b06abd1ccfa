"""The command registry: one definition per command of DESIGN.md's table, run by both faces.

Headless mode (`kostyor-tui --command NAME ...`) and the console's command
palette both read `COMMANDS`. A command declares its arguments as plain data
and runs as `command.run(context, arguments)`, returning a report
(`kostyor_tui.reports`) or a list of them; rendering is the face's job. Every
change goes through `kostyor_tui.operations`, where the read-only guard and the
lifecycle's pre-checks are.

Imports nothing from Textual or the server, and not the client either (only for
annotations): `--help`, `--version` and the parsers load without it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from kostyor_tui import reports
from kostyor_tui.domain.lifecycle import UNKNOWN_VERSION, Action
from kostyor_tui.domain.order import KNOWN_ENGINES
from kostyor_tui.errors import UsageError

if TYPE_CHECKING:
    from kostyor_tui.api.models import Cluster, Upgrade
    from kostyor_tui.operations import Operations

# Arguments


ArgumentKind = Literal["positional", "option", "flag", "parameters"]


@dataclass(frozen=True)
class Argument:
    """One argument of a command.

    `positional` is required and taken in order; `option` is `--name VALUE`
    (optional); `flag` is `--name` (a bool); `parameters` collects the
    remaining `key=value` words, which reach `run` as a dict of strings
    (see `parse_parameters`).
    """

    name: str
    help: str
    kind: ArgumentKind = "positional"
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    # Converts an option's word (raising ValueError for a bad one); None: kept as text.
    type: Callable[[str], Any] | None = None

    @property
    def option_string(self) -> str:
        return "--" + self.name.replace("_", "-")


def seconds(text: str) -> float:
    """A number of seconds, at least 0 (`--timeout 90`, `--idle-timeout 0`)."""
    value = float(text)
    if not value >= 0 or value == float("inf"):
        raise ValueError(text)
    return value


def parse_parameters(items: Iterable[str]) -> dict[str, str]:
    """`["controllers=3", "version=mitaka"]` → `{"controllers": "3", "version": "mitaka"}`."""
    parameters: dict[str, str] = {}
    for item in items:
        key, separator, value = item.partition("=")
        key = key.strip()
        if not separator or not key:
            raise UsageError(f"parameter {item!r} is not of the form key=value")
        if key in parameters:
            raise UsageError(f"parameter {key!r} is given twice")
        parameters[key] = value
    return parameters


# The commands

# `upgrade-status --watch/--wait` gives up when nothing has moved for this long: on the
# real server nothing ever does (docs/kostyor-api.md#quirk-no-progress).
DEFAULT_IDLE_TIMEOUT = 1800.0


@dataclass(frozen=True)
class CommandContext:
    """What a command runs with: the operations (over the face's client), and profile data
    the API does not have."""

    ops: Operations
    region: str | None = None


Arguments = Mapping[str, Any]
Runner = Callable[[CommandContext, Arguments], Any]


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    run: Runner
    arguments: tuple[Argument, ...] = ()
    # Changes something on the server (refused in read-only mode, by the operations).
    mutating: bool = False
    # The action of the four control commands (upgrade-pause ... upgrade-cancel).
    action: Action | None = None

    @property
    def takes_cluster(self) -> bool:
        return any(argument.name == "cluster" for argument in self.arguments)


CLUSTER = Argument("cluster", "cluster name or UUID")
FORCE = Argument("force", "send it even though the lifecycle says it is not valid now", "flag")


def _cluster(ctx: CommandContext, args: Arguments) -> Cluster:
    return ctx.ops.resolve_cluster(args["cluster"])


def _targets(ctx: CommandContext, cluster: Cluster) -> list[str]:
    """Versions the cluster can go to; none for an unknown version (the real server lists
    every release then: docs/kostyor-api.md#quirk-versions-for-unknown)."""
    if cluster.version in (None, "", UNKNOWN_VERSION) or cluster.id is None:
        return []
    return ctx.ops.client.list_upgrade_versions(cluster.id)


def _list_clusters(ctx: CommandContext, args: Arguments) -> list[reports.ClusterSummary]:
    return [reports.cluster_summary(cluster) for cluster in ctx.ops.client.list_clusters()]


def _cluster_status(ctx: CommandContext, args: Arguments) -> reports.ClusterStatusReport:
    cluster = _cluster(ctx, args)
    cluster_id = cluster.id or ""
    client = ctx.ops.client
    upgrade = ctx.ops.current_upgrade(cluster_id)
    return reports.cluster_status(
        cluster,
        client.list_hosts(cluster_id),
        client.list_services(cluster_id),
        upgrade,
        client.list_all_versions(),
        ctx.region,
        client.upgrade_steps(upgrade.id) if upgrade is not None and upgrade.id else None,
    )


def _cluster_component_list(
    ctx: CommandContext, args: Arguments
) -> list[reports.ComponentVersionRow]:
    cluster_id = _cluster(ctx, args).id or ""
    client = ctx.ops.client
    return reports.component_version_rows(
        client.list_hosts(cluster_id), client.list_services(cluster_id), client.list_all_versions()
    )


def _list_hosts(ctx: CommandContext, args: Arguments) -> list[reports.HostRow]:
    cluster_id = _cluster(ctx, args).id or ""
    client = ctx.ops.client
    return reports.host_rows(
        client.list_hosts(cluster_id), client.list_services(cluster_id), client.list_all_versions()
    )


def _check_upgrade(ctx: CommandContext, args: Arguments) -> reports.UpgradeCheck:
    cluster = _cluster(ctx, args)
    reading = ctx.ops.read_cluster(cluster.id or "")
    hosts = ctx.ops.client.list_hosts(cluster.id or "")
    return reports.upgrade_check(
        reading.cluster, reading.status, len(hosts), _targets(ctx, reading.cluster)
    )


def _list_upgrade_versions(ctx: CommandContext, args: Arguments) -> list[str]:
    return _targets(ctx, _cluster(ctx, args))


def _list_discovery_methods(ctx: CommandContext, args: Arguments) -> list[str]:
    return ctx.ops.client.list_discovery_methods()


def _discover_cluster(ctx: CommandContext, args: Arguments) -> reports.ClusterSummary:
    # The openstack method's credentials from clouds.yaml (--os-cloud, or OS_CLOUD).
    from kostyor_tui.config.clouds import discovery_parameters

    parameters, note = discovery_parameters(
        args["method"], args.get("parameters") or {}, args.get("os_cloud")
    )
    if note is not None:
        ctx.ops.note(note)
    cluster = ctx.ops.discover(
        args["method"],
        args["name"],
        parameters,
        allow_duplicate=bool(args.get("allow_duplicate")),
    )
    return reports.cluster_summary(cluster)


def _upgrade_cluster(ctx: CommandContext, args: Arguments) -> reports.UpgradeSummary:
    cluster = _cluster(ctx, args)
    upgrade = ctx.ops.start_upgrade(
        cluster,
        args["to_version"],
        engine=args.get("engine"),
        driver=args.get("driver"),
        parameters=args.get("parameters") or {},
        force=bool(args.get("force")),
    )
    return reports.upgrade_summary(upgrade, cluster.name)


def upgrade_status_report(
    ops: Operations, upgrade: Upgrade | str, cluster_name: str | None = None
) -> reports.UpgradeStatusReport:
    """The status of `upgrade` (or of the upgrade with that id, read now), with the server's
    step log where it keeps one. Its cluster's name is read unless given."""
    if isinstance(upgrade, str):
        upgrade = ops.upgrade(upgrade)
    steps = ops.client.upgrade_steps(upgrade.id) if upgrade.id else None
    if upgrade.cluster_id is None:
        return reports.upgrade_status(upgrade, [], [], cluster_name, steps)
    if cluster_name is None:
        cluster_name = ops.client.get_cluster(upgrade.cluster_id).name
    return reports.upgrade_status(
        upgrade,
        ops.client.list_hosts(upgrade.cluster_id),
        ops.client.list_services(upgrade.cluster_id),
        cluster_name,
        steps,
    )


def _upgrade_status(ctx: CommandContext, args: Arguments) -> reports.UpgradeStatusReport:
    return upgrade_status_report(ctx.ops, ctx.ops.resolve_upgrade(args["upgrade_uuid"]))


def _list_upgrades(ctx: CommandContext, args: Arguments) -> list[reports.UpgradeSummary]:
    if args.get("cluster"):
        cluster = _cluster(ctx, args)
        names = {cluster.id: cluster.name}
        upgrades = ctx.ops.upgrades(cluster.id)
    else:
        names = {cluster.id: cluster.name for cluster in ctx.ops.client.list_clusters()}
        upgrades = ctx.ops.upgrades()
    return [reports.upgrade_summary(u, names.get(u.cluster_id)) for u in upgrades]


def _upgrade_action(action: Action) -> Runner:
    def run(ctx: CommandContext, args: Arguments) -> reports.UpgradeSummary:
        cluster = _cluster(ctx, args)
        upgrade = ctx.ops.act(cluster, action, force=bool(args.get("force")))
        return reports.upgrade_summary(upgrade, cluster.name)

    return run


def _command_list() -> list[Command]:
    params_help = "key=value parameters (values are strings)"
    return [
        Command(
            "list-clusters", "clusters with their OpenStack version and status", _list_clusters
        ),
        Command(
            "cluster-status",
            "a cluster's versions, state, status and current upgrade",
            _cluster_status,
            (CLUSTER,),
        ),
        Command(
            "cluster-component-list",
            "every component at every version: hosts, version, upgradable",
            _cluster_component_list,
            (CLUSTER,),
        ),
        Command(
            "list-hosts",
            "a cluster's hosts, their services and versions",
            _list_hosts,
            (CLUSTER,),
        ),
        Command(
            "check-upgrade",
            "whether an upgrade can start, and to which versions",
            _check_upgrade,
            (CLUSTER,),
        ),
        Command(
            "list-upgrade-versions",
            "versions a cluster can be upgraded to",
            _list_upgrade_versions,
            (CLUSTER,),
        ),
        Command(
            "list-discovery-methods",
            "discovery methods the server offers",
            _list_discovery_methods,
        ),
        Command(
            "discover-cluster",
            "discover a cluster and register it",
            _discover_cluster,
            (
                Argument("method", "discovery method (see list-discovery-methods)"),
                Argument("name", "name of the new cluster"),
                Argument("parameters", params_help, "parameters", metavar="key=value"),
                Argument("allow_duplicate", "register it even if a cluster has that name", "flag"),
                Argument(
                    "os_cloud",
                    "openstack method: username, password, tenant_name and auth_url from "
                    "this cloud of clouds.yaml (default: OS_CLOUD)",
                    "option",
                    metavar="CLOUD",
                ),
            ),
            mutating=True,
        ),
        Command(
            "upgrade-cluster",
            "start an upgrade; prints it (its id alone: -f value -c id)",
            _upgrade_cluster,
            (
                CLUSTER,
                Argument("to_version", "release to upgrade to (see list-upgrade-versions)"),
                Argument(
                    "engine",
                    f"upgrade engine (Kostyor's: {', '.join(KNOWN_ENGINES)})",
                    "option",
                    metavar="E",
                ),
                Argument("driver", "upgrade driver (server default: noop)", "option", metavar="D"),
                Argument("parameters", params_help, "parameters", metavar="key=value"),
                FORCE,
            ),
            mutating=True,
        ),
        Command(
            "upgrade-status",
            "an upgrade's status, times and progress",
            _upgrade_status,
            (
                Argument(
                    "upgrade_uuid",
                    "an upgrade's id, a unique prefix of it (4+ characters), or a cluster's "
                    "name or id (its newest upgrade)",
                    metavar="UPGRADE|CLUSTER",
                ),
                Argument("watch", "follow the upgrade, a line per change, until it ends", "flag"),
                Argument("wait", "wait silently until the upgrade ends, then print it", "flag"),
                Argument(
                    "timeout",
                    "with --watch/--wait: give up after S seconds (default: no limit)",
                    "option",
                    metavar="S",
                    type=seconds,
                ),
                Argument(
                    "idle_timeout",
                    "with --watch/--wait: give up when nothing has changed for S seconds "
                    f"(default {DEFAULT_IDLE_TIMEOUT:g}; 0: never)",
                    "option",
                    metavar="S",
                    type=seconds,
                ),
            ),
        ),
        Command(
            "list-upgrades",
            "upgrade history",
            _list_upgrades,
            (
                Argument(
                    "cluster", "only this cluster's upgrades (name or UUID)", "option", metavar="C"
                ),
            ),
        ),
        *(
            Command(
                f"upgrade-{action}",
                f"{verb} the cluster's running upgrade",
                _upgrade_action(action),
                (CLUSTER, FORCE),
                mutating=True,
                action=action,
            )
            for action, verb in (
                (Action.PAUSE, "pause"),
                (Action.CONTINUE, "continue"),
                (Action.ROLLBACK, "roll back"),
                (Action.CANCEL, "cancel"),
            )
        ),
    ]


COMMANDS: dict[str, Command] = {command.name: command for command in _command_list()}
