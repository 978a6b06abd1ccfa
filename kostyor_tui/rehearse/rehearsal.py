"""A rehearsal: the upgrade played on a copy of the topology, and a failure on each
host asked for, each in its own throw-away server; then the plan."""

from __future__ import annotations

from collections.abc import Sequence

from kostyor_tui.domain.order import KNOWN_ENGINES
from kostyor_tui.domain.statuses import Status
from kostyor_tui.errors import KostyorTuiError, UsageError
from kostyor_tui.rehearse import plan, sandbox
from kostyor_tui.rehearse.durations import Durations
from kostyor_tui.rehearse.topology import Topology


def check_versions(topology: Topology, to_version: str) -> None:
    """Refuse what the engine would refuse, in the operator's words, before any run."""
    from kostyor_tui.server import releases

    if not releases.is_known(topology.version):
        known = ", ".join(releases.RELEASES)
        raise UsageError(f"cannot rehearse from version {topology.version!r} (known: {known})")
    if not releases.is_later(to_version, topology.version):
        later = ", ".join(releases.later_releases(topology.version)) or "none"
        raise UsageError(
            f"cannot upgrade from {topology.version} to {to_version!r} (later releases: {later})"
        )


def rehearse(
    topology: Topology,
    *,
    to_version: str,
    engine: str,
    durations: Durations,
    fail_hosts: Sequence[str] = (),
) -> plan.RehearsalPlan:
    if engine not in KNOWN_ENGINES:
        raise UsageError(f"unknown engine {engine!r} (known: {', '.join(KNOWN_ENGINES)})")
    check_versions(topology, to_version)
    services = {host.hostname: host.services for host in topology.hosts}
    for host in fail_hosts:
        if host not in services:
            raise UsageError(f"--fail-host {host!r} is not a host of {topology.name}")
        if not services[host]:
            raise UsageError(f"--fail-host {host!r} runs no service: no step there can fail")

    def played(fail_host: str | None) -> sandbox.RunLog:
        return sandbox.play(
            topology.name,
            topology.version,
            topology.hosts,
            to_version=to_version,
            engine=engine,
            step_seconds=durations.default_seconds,
            fail_host=fail_host,
        )

    clean = played(None)
    if clean.status != Status.SUCCEEDED:
        raise KostyorTuiError(f"the rehearsed upgrade ended {clean.status}, not SUCCEEDED")
    steps = plan.timed(clean.steps, durations)
    failures = []
    for host in fail_hosts:
        failed = played(host)
        failures.append(plan.failure_outcome(host, plan.timed(failed.steps, durations), len(steps)))
    predicted = steps[-1].end_seconds if steps else 0.0
    summary = plan.PlanSummary(
        cluster=topology.name,
        source=topology.source,
        from_version=topology.version,
        to_version=to_version,
        engine=engine,
        hosts=len(topology.hosts),
        instances=topology.instances,
        steps=len(steps),
        durations=durations.describe(),
        predicted_seconds=predicted,
        predicted=plan.human_duration(predicted),
        engine_seconds=clean.engine_seconds,
        failures_rehearsed=len(failures),
    )
    return plan.RehearsalPlan(
        summary=summary,
        components=plan.component_windows(steps),
        hosts=plan.host_windows(steps),
        failures=failures,
        steps=steps,
    )
