"""The command registry: one definition per command of DESIGN.md's table.

Headless mode (`kostyor-tui --command NAME ...`) and the TUI's command palette
both read `COMMANDS`. A command declares its arguments as plain data and runs
as `await command.run(context, arguments)`, returning plain data (the report
dataclasses below, or lists of them); rendering is someone else's job. The
report builders (`cluster_status_report`, `upgrade_status_report`, ...) are
reusable on their own.

Imports nothing from Textual or the server: headless mode must start fast.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from kostyor_tui.api.client import KostyorClient, UpgradeAction
from kostyor_tui.api.errors import ActionRefused, ProtocolError
from kostyor_tui.api.models import Cluster, Host, Service, Upgrade
from kostyor_tui.domain import fleet, lifecycle, order, progress
from kostyor_tui.domain.statuses import UNFINISHED, ClusterState, Status, cluster_state


class UsageError(ValueError):
    """Bad command-line input: an unknown command, a malformed key=value, a missing argument."""

    exit_code = 2

    def one_line(self) -> str:
        return " ".join(str(self).split())


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

    @property
    def option_string(self) -> str:
        return "--" + self.name.replace("_", "-")


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


# Reports: what commands return. Field names are the stable JSON keys.


@dataclass(frozen=True)
class ClusterSummary:
    id: str | None
    name: str | None
    version: str | None
    status: str


@dataclass(frozen=True)
class UpgradeSummary:
    id: str | None
    cluster_id: str | None
    status: str
    from_version: str | None
    to_version: str | None
    upgrade_start_time: datetime | None
    upgrade_end_time: datetime | None


@dataclass(frozen=True)
class CurrentStep:
    host: str | None
    service: str | None


@dataclass(frozen=True)
class UpgradeStatusReport:
    id: str | None
    cluster_id: str | None
    status: str
    from_version: str | None
    to_version: str | None
    nodes_upgraded: int
    nodes_total: int
    services_upgraded: int
    services_total: int
    current: CurrentStep | None
    upgrade_start_time: datetime | None
    upgrade_end_time: datetime | None

    @property
    def finished(self) -> bool:
        """Nothing more will happen without an operator: succeeded, cancelled, failed..."""
        return Status(self.status) not in WATCHED_STATUSES


@dataclass(frozen=True)
class ClusterStatusReport:
    id: str | None
    name: str | None
    region: str | None
    version: str | None
    versions: dict[str, int]
    state: str
    status: str
    upgrade: UpgradeStatusReport | None


@dataclass(frozen=True)
class ComponentRow:
    component: str
    host: str
    version: str
    upgradable: bool


@dataclass(frozen=True)
class HostRow:
    id: str | None
    hostname: str | None
    services: list[str]
    versions: dict[str, int]


@dataclass(frozen=True)
class UpgradeCheck:
    state: Literal["ready", "not ready", "in progress"]
    versions: list[str]
    reason: str | None


# A watched upgrade is followed while in one of these; an error stops the watch
# because nothing moves until an operator continues or rolls back.
WATCHED_STATUSES = frozenset({Status.IN_PROGRESS, Status.PAUSED, Status.ROLLBACK_IN_PROGRESS})


# Report builders


def cluster_summary(cluster: Cluster) -> ClusterSummary:
    return ClusterSummary(
        id=cluster.id, name=cluster.name, version=cluster.version, status=str(cluster.status)
    )


def upgrade_summary(upgrade: Upgrade) -> UpgradeSummary:
    return UpgradeSummary(
        id=upgrade.id,
        cluster_id=upgrade.cluster_id,
        status=str(upgrade.status),
        from_version=upgrade.from_version,
        to_version=upgrade.to_version,
        upgrade_start_time=upgrade.upgrade_start_time,
        upgrade_end_time=upgrade.upgrade_end_time,
    )


def with_derived_statuses(
    upgrades: Sequence[Upgrade], clusters: Sequence[Cluster]
) -> list[Upgrade]:
    """The upgrades, each cluster's newest one with the status its cluster implies if null.

    Only the newest: the cluster's status says nothing about its older upgrades (quirk 4).
    """
    by_cluster: dict[str | None, list[Upgrade]] = {}
    for upgrade in upgrades:
        by_cluster.setdefault(upgrade.cluster_id, []).append(upgrade)
    clusters_by_id = {cluster.id: cluster for cluster in clusters}
    derived = {}
    for cluster_id, own in by_cluster.items():
        newest = lifecycle.newest_upgrade(own)
        if newest is not None and newest.status is Status.UNKNOWN:
            status = lifecycle.effective_status(newest, clusters_by_id.get(cluster_id))
            derived[id(newest)] = newest.model_copy(update={"status": status})
    return [derived.get(id(upgrade), upgrade) for upgrade in upgrades]


def build_upgrade_status(
    upgrade: Upgrade, hosts: Sequence[Host], services: Sequence[Service]
) -> UpgradeStatusReport:
    """An upgrade's progress, computed from its cluster's hosts and services.

    `upgrade.status` is taken as it is: the client has already derived the
    status the real server leaves null (quirk 4).
    """
    done = progress.upgrade_progress(
        hosts,
        services,
        upgrade.to_version,
        upgrade.engine or order.DEFAULT_ENGINE,
        rolling_back=upgrade.status is Status.ROLLBACK_IN_PROGRESS,
    )
    if upgrade.status is Status.SUCCEEDED:
        # Every step was done; the cluster may have moved on since (a later upgrade).
        done = progress.UpgradeProgress(
            done.nodes_total, done.nodes_total, done.services_total, done.services_total, None, None
        )
    current = None
    # Only an upgrade under way (or stopped by an error) is "at" a step.
    if upgrade.status in UNFINISHED and (done.current_host or done.current_service):
        current = CurrentStep(host=done.current_host, service=done.current_service)
    return UpgradeStatusReport(
        id=upgrade.id,
        cluster_id=upgrade.cluster_id,
        status=str(upgrade.status),
        from_version=upgrade.from_version,
        to_version=upgrade.to_version,
        nodes_upgraded=done.nodes_upgraded,
        nodes_total=done.nodes_total,
        services_upgraded=done.services_upgraded,
        services_total=done.services_total,
        current=current,
        upgrade_start_time=upgrade.upgrade_start_time,
        upgrade_end_time=upgrade.upgrade_end_time,
    )


async def upgrade_status_report(client: KostyorClient, upgrade_id: str) -> UpgradeStatusReport:
    upgrade = await client.get_upgrade(upgrade_id)
    if upgrade.cluster_id is None:
        return build_upgrade_status(upgrade, [], [])
    hosts, services = await asyncio.gather(
        client.list_hosts(upgrade.cluster_id), client.list_services(upgrade.cluster_id)
    )
    return build_upgrade_status(upgrade, hosts, services)


async def watch_upgrade(
    client: KostyorClient, upgrade_id: str, interval: float
) -> AsyncIterator[UpgradeStatusReport]:
    """Yield the upgrade's status now and at every change, until it is finished."""
    previous: UpgradeStatusReport | None = None
    while True:
        report = await upgrade_status_report(client, upgrade_id)
        if report != previous:
            yield report
            previous = report
        if report.finished:
            return
        await asyncio.sleep(interval)


async def cluster_status_report(
    client: KostyorClient, cluster: Cluster, *, region: str | None = None
) -> ClusterStatusReport:
    """Everything `cluster-status` shows about one (already resolved) cluster."""
    cluster_id = _cluster_id(cluster)
    hosts, services, upgrade, releases = await asyncio.gather(
        client.list_hosts(cluster_id),
        client.list_services(cluster_id),
        client.current_upgrade(cluster_id),
        client.list_all_versions(),
    )
    upgrade_report = None
    if upgrade is not None:
        upgrade_report = build_upgrade_status(upgrade, hosts, services)
    return ClusterStatusReport(
        id=cluster.id,
        name=cluster.name,
        region=region,
        version=cluster.version,
        versions=fleet.version_counts(services, releases, hosts=hosts),
        state=str(cluster_state(cluster.status)),
        status=str(cluster.status),
        upgrade=upgrade_report,
    )


async def component_rows(client: KostyorClient, cluster: Cluster) -> list[ComponentRow]:
    """One row per component and version: a component at mixed versions has several rows."""
    cluster_id = _cluster_id(cluster)
    hosts, services, releases = await asyncio.gather(
        client.list_hosts(cluster_id), client.list_services(cluster_id), client.list_all_versions()
    )
    return [
        ComponentRow(
            component=row.name,
            host=", ".join(hostnames),
            version=version,
            upgradable=fleet.upgradable(version, releases),
        )
        for row in fleet.components(hosts, services, releases)
        for version, hostnames in row.hosts_by_version
    ]


async def host_rows(client: KostyorClient, cluster: Cluster) -> list[HostRow]:
    cluster_id = _cluster_id(cluster)
    hosts, services, releases = await asyncio.gather(
        client.list_hosts(cluster_id), client.list_services(cluster_id), client.list_all_versions()
    )
    by_host: dict[str | None, list[Service]] = {}
    for instance in fleet.instances(hosts, services):
        by_host.setdefault(instance.host_id, []).append(
            Service(id=instance.service_id, name=instance.name, version=instance.version)
        )
    rows = []
    for host in hosts:
        on_host = by_host.get(host.id, [])
        rows.append(
            HostRow(
                id=host.id,
                hostname=host.hostname,
                services=sorted({s.name or "unknown" for s in on_host}, key=order.service_key),
                versions=fleet.version_counts(on_host, releases),
            )
        )
    return rows


async def upgrade_check(client: KostyorClient, cluster: Cluster) -> UpgradeCheck:
    """Whether an upgrade can start now, and to which versions."""
    targets = await _upgrade_targets(client, cluster)
    state = cluster_state(cluster.status)
    if state in (ClusterState.MAINTENANCE, ClusterState.ERROR):
        return UpgradeCheck("in progress", targets, f"the cluster is {cluster.status}")
    refusal = lifecycle.start_refusal(cluster.status, cluster.version)
    if refusal is not None:
        return UpgradeCheck("not ready", targets, refusal)
    if cluster.status is Status.NOT_READY:
        return UpgradeCheck("not ready", targets, f"Kostyor reports {cluster.status}")
    if not targets:
        return UpgradeCheck(
            "not ready", targets, f"no release later than {cluster.version} is known"
        )
    return UpgradeCheck("ready", targets, None)


# Internals of the builders


def _cluster_id(cluster: Cluster) -> str:
    if cluster.id is None:
        raise ProtocolError(f"the server sent cluster {cluster.name!r} without an id")
    return cluster.id


async def _upgrade_targets(client: KostyorClient, cluster: Cluster) -> list[str]:
    if cluster.version in (None, "", lifecycle.UNKNOWN_VERSION):
        return []
    return await client.list_upgrade_versions(_cluster_id(cluster))


# The commands


@dataclass(frozen=True)
class CommandContext:
    """What a command runs with: the client, and profile data the API does not have."""

    client: KostyorClient
    region: str | None = None
    read_only: bool = False


Arguments = Mapping[str, Any]
Runner = Callable[[CommandContext, Arguments], Awaitable[Any]]


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    run: Runner
    arguments: tuple[Argument, ...] = ()
    mutating: bool = False
    # What the four control commands (upgrade-pause ... upgrade-cancel) ask the server to do.
    action: UpgradeAction | None = None


CLUSTER = Argument("cluster", "cluster name or UUID")


async def _list_clusters(ctx: CommandContext, args: Arguments) -> list[ClusterSummary]:
    return [cluster_summary(cluster) for cluster in await ctx.client.list_clusters()]


async def _cluster_status(ctx: CommandContext, args: Arguments) -> ClusterStatusReport:
    cluster = await ctx.client.resolve_cluster(args["cluster"])
    return await cluster_status_report(ctx.client, cluster, region=ctx.region)


async def _cluster_component_list(ctx: CommandContext, args: Arguments) -> list[ComponentRow]:
    return await component_rows(ctx.client, await ctx.client.resolve_cluster(args["cluster"]))


async def _list_hosts(ctx: CommandContext, args: Arguments) -> list[HostRow]:
    return await host_rows(ctx.client, await ctx.client.resolve_cluster(args["cluster"]))


async def _check_upgrade(ctx: CommandContext, args: Arguments) -> UpgradeCheck:
    return await upgrade_check(ctx.client, await ctx.client.resolve_cluster(args["cluster"]))


async def _list_upgrade_versions(ctx: CommandContext, args: Arguments) -> list[str]:
    cluster = await ctx.client.resolve_cluster(args["cluster"])
    return await _upgrade_targets(ctx.client, cluster)


async def _list_discovery_methods(ctx: CommandContext, args: Arguments) -> list[str]:
    return await ctx.client.list_discovery_methods()


async def _discover_cluster(ctx: CommandContext, args: Arguments) -> ClusterSummary:
    cluster = await ctx.client.discover_cluster(
        args["method"], args["name"], args.get("parameters") or {}
    )
    return cluster_summary(cluster)


async def _upgrade_cluster(ctx: CommandContext, args: Arguments) -> UpgradeSummary:
    cluster = await ctx.client.resolve_cluster(args["cluster"])
    # The client refuses a start the server should not accept, and derives the
    # status the real server leaves null (quirk 4).
    upgrade = await ctx.client.start_upgrade(
        _cluster_id(cluster),
        args["to_version"],
        engine=args.get("engine"),
        driver=args.get("driver"),
        parameters=args.get("parameters") or {},
    )
    return upgrade_summary(upgrade)


async def _upgrade_status(ctx: CommandContext, args: Arguments) -> UpgradeStatusReport:
    return await upgrade_status_report(ctx.client, args["upgrade_uuid"])


async def _list_upgrades(ctx: CommandContext, args: Arguments) -> list[UpgradeSummary]:
    cluster_id = None
    if args.get("cluster"):
        cluster_id = (await ctx.client.resolve_cluster(args["cluster"])).id
    upgrades, clusters = await asyncio.gather(
        ctx.client.list_upgrades(cluster_id), ctx.client.list_clusters()
    )
    return [upgrade_summary(upgrade) for upgrade in with_derived_statuses(upgrades, clusters)]


def _upgrade_action(action: UpgradeAction) -> Runner:
    async def run(ctx: CommandContext, args: Arguments) -> UpgradeSummary:
        cluster = await ctx.client.resolve_cluster(args["cluster"])
        # The client sends only actions valid in the current state (quirk 6) and
        # returns the upgrade re-read after the action (quirk 5).
        upgrade = await ctx.client.upgrade_action(_cluster_id(cluster), action)
        return upgrade_summary(upgrade)

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
            "every service instance: component, hosts, version, upgradable",
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
            ),
            mutating=True,
        ),
        Command(
            "upgrade-cluster",
            "start an upgrade; prints its upgrade UUID",
            _upgrade_cluster,
            (
                CLUSTER,
                Argument("to_version", "release to upgrade to (see list-upgrade-versions)"),
                Argument(
                    "engine", "upgrade engine", "option", choices=order.KNOWN_ENGINES, metavar="E"
                ),
                Argument("driver", "upgrade driver (server default: noop)", "option", metavar="D"),
                Argument("parameters", params_help, "parameters", metavar="key=value"),
            ),
            mutating=True,
        ),
        Command(
            "upgrade-status",
            "an upgrade's status, times and progress",
            _upgrade_status,
            (
                Argument("upgrade_uuid", "the upgrade's id (see list-upgrades)"),
                Argument("watch", "follow the upgrade, a line per change, until it ends", "flag"),
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
                (CLUSTER,),
                mutating=True,
                action=action,
            )
            for action, verb in (
                ("pause", "pause"),
                ("continue", "continue"),
                ("rollback", "roll back"),
                ("cancel", "cancel"),
            )
        ),
    ]


COMMANDS: dict[str, Command] = {command.name: command for command in _command_list()}


async def run_command(command: Command, context: CommandContext, arguments: Arguments) -> Any:
    """Run one command; the one place where read-only mode refuses what would change a cluster."""
    if command.mutating and context.read_only:
        raise ActionRefused(
            f"{command.name} would change the cluster, and read-only mode is on",
            hint="run without --read-only to allow it",
        )
    return await command.run(context, arguments)
