"""A rehearsal's plan, from what the engine did: each step timed by its service's duration.

The engine upgrades one instance at a time, so a step starts when the one before it
ends: start and end are offsets from the start of the upgrade, in seconds, summed
from the durations. Pure: the steps come in, the plan goes out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kostyor_tui.domain.order import project_of

FORWARD = "upgrade"
BACKWARD = "rollback"
FAILED = "failed"

# A step's duration in seconds, from its service's name.
Duration = Callable[[str], float]


@dataclass(frozen=True)
class Step:
    """One step attempt the engine committed, as its step log has it."""

    position: int  # in the upgrade's plan: the engine's order
    direction: str  # upgrade or rollback
    outcome: str  # done or failed
    hostname: str
    service: str


@dataclass(frozen=True)
class PlannedStep:
    """One step of the upgrade, in the order the engine took them."""

    number: int  # 1, 2, ...: the order steps were done in
    position: int  # the instance's place in the engine's plan (0 first)
    direction: str  # upgrade or rollback
    host: str
    service: str
    outcome: str  # done or failed
    start_seconds: float
    end_seconds: float
    start: str  # the same offsets as H:MM:SS
    end: str


@dataclass(frozen=True)
class HostWindow:
    """When the upgrade works on a host: from its first step's start to its last one's end."""

    host: str
    services: int
    start_seconds: float
    end_seconds: float
    busy_seconds: float  # the time of its own steps (the rest is the window's gaps)
    start: str
    end: str


@dataclass(frozen=True)
class ComponentWindow:
    """How long a service runs at mixed versions: from the end of its first instance's
    upgrade to the end of its last one's (0 for a service with one instance)."""

    component: str
    project: str
    instances: int
    first_upgraded_seconds: float
    last_upgraded_seconds: float
    mixed_seconds: float
    mixed: str


@dataclass(frozen=True)
class FailureOutcome:
    """What a failure on `fail_host` does: where the upgrade stops and what rolling it
    back covers."""

    fail_host: str
    stops_at_host: str
    stops_at_service: str
    stops_at_position: int
    stops_at_seconds: float  # when the failed step ends
    steps_done: int  # upgraded before it stopped
    steps_not_done: int  # never reached
    rollback_steps: int
    rollback_hosts: int
    rollback_seconds: float
    back_at_start_seconds: float  # when the rollback is over: the cluster as it was
    rollback_covers: tuple[str, ...]  # the hosts the rollback goes back over, in its order
    stops_at: str  # stops_at_seconds as H:MM:SS
    back_at_start: str


@dataclass(frozen=True)
class PlanSummary:
    cluster: str
    source: str
    from_version: str
    to_version: str
    engine: str
    hosts: int
    instances: int
    steps: int
    durations: str  # where the step times come from
    predicted_seconds: float
    predicted: str  # the same, for people
    engine_seconds: float  # the virtual time the engine took at its own step time
    failures_rehearsed: int


@dataclass(frozen=True)
class RehearsalPlan:
    summary: PlanSummary
    components: list[ComponentWindow]
    hosts: list[HostWindow]
    failures: list[FailureOutcome]
    steps: list[PlannedStep]


def timed(steps: Sequence[Step], duration: Duration) -> list[PlannedStep]:
    """The steps one after the other, each as long as its service's duration."""
    planned: list[PlannedStep] = []
    clock = 0.0
    for number, step in enumerate(steps, start=1):
        end = clock + duration(step.service)
        planned.append(
            PlannedStep(
                number=number,
                position=step.position,
                direction=step.direction,
                host=step.hostname,
                service=step.service,
                outcome=step.outcome,
                start_seconds=clock,
                end_seconds=end,
                start=offset(clock),
                end=offset(end),
            )
        )
        clock = end
    return planned


def host_windows(steps: Sequence[PlannedStep]) -> list[HostWindow]:
    """Each host's window, the hosts in the order the upgrade first reaches them."""
    windows: dict[str, list[PlannedStep]] = {}
    for step in steps:
        windows.setdefault(step.host, []).append(step)
    return [
        HostWindow(
            host=host,
            services=len(own),
            start_seconds=own[0].start_seconds,
            end_seconds=own[-1].end_seconds,
            busy_seconds=sum(step.end_seconds - step.start_seconds for step in own),
            start=own[0].start,
            end=own[-1].end,
        )
        for host, own in windows.items()
    ]


def component_windows(steps: Sequence[PlannedStep]) -> list[ComponentWindow]:
    """Each service's mixed-version window, the services in the order the upgrade first
    reaches them."""
    ends: dict[str, list[float]] = {}
    for step in steps:
        ends.setdefault(step.service, []).append(step.end_seconds)
    return [
        ComponentWindow(
            component=service,
            project=project_of(service),
            instances=len(times),
            first_upgraded_seconds=times[0],
            last_upgraded_seconds=times[-1],
            mixed_seconds=times[-1] - times[0],
            mixed=offset(times[-1] - times[0]),
        )
        for service, times in ends.items()
    ]


def failure_outcome(fail_host: str, steps: Sequence[PlannedStep], plan_size: int) -> FailureOutcome:
    """What a rehearsal that failed on `fail_host` (then was rolled back) shows."""
    failed = next(step for step in steps if step.outcome == FAILED)
    done = [s for s in steps if s.direction == FORWARD and s.outcome != FAILED]
    rollback = [s for s in steps if s.direction == BACKWARD]
    back = rollback[-1].end_seconds if rollback else failed.end_seconds
    covered: list[str] = []
    for step in rollback:
        if step.host not in covered:
            covered.append(step.host)
    return FailureOutcome(
        fail_host=fail_host,
        stops_at_host=failed.host,
        stops_at_service=failed.service,
        stops_at_position=failed.position,
        stops_at_seconds=failed.end_seconds,
        steps_done=len(done),
        steps_not_done=plan_size - len(done),
        rollback_steps=len(rollback),
        rollback_hosts=len(covered),
        rollback_seconds=sum(s.end_seconds - s.start_seconds for s in rollback),
        back_at_start_seconds=back,
        rollback_covers=tuple(covered),
        stops_at=failed.end,
        back_at_start=offset(back),
    )


def offset(seconds: float) -> str:
    """An offset from the start of the upgrade as H:MM:SS (hours unbounded)."""
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def human_duration(seconds: float) -> str:
    """`3h 05m 10s`, `42s`; fractions of a second are kept below a minute."""
    if seconds < 60:
        return f"{seconds:g}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s"
