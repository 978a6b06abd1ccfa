"""The simulated upgrade engine: one thread that moves every running upgrade a step at a time.

Each step takes `step_seconds` (the simulated work on a node), then commits one
instance's version change through `Store.apply_step`. The engine holds only
the timing of the steps under way; on restart it picks every running upgrade
up again from the store, at the cursor where it stopped.

Failures can be injected: `fail_rate` makes each forward step attempt fail
with that probability (reproducibly, with `random_seed`); `fail_host` makes
the first step that reaches that host fail once per upgrade, so that
continuing retries it and goes on. Rollback steps never fail.

Time comes from a `Clock` (server.engine_clock): real time when serving, a
virtual clock in a rehearsal, which `run_until_idle` plays to the end at once.
"""

import logging
import random
import threading
from dataclasses import dataclass

from kostyor_tui.domain.statuses import Status
from kostyor_tui.server.engine_clock import Clock, MonotonicClock
from kostyor_tui.server.errors import ApiError, DatabaseGone, ServiceUnavailable
from kostyor_tui.server.store import BACKWARD, FORWARD, StepAttempt, Store

logger = logging.getLogger(__name__)

# Upper bound on how long the engine sleeps without looking at the store.
_IDLE_WAIT_SECONDS = 1.0


@dataclass(frozen=True)
class Failures:
    """The failure injection policy (see the module docstring)."""

    rate: float = 0.0
    host: str | None = None
    random_seed: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("the failure rate must be between 0 and 1")

    def should_fail(self, attempt: StepAttempt) -> bool:
        if attempt.hostname == self.host and not attempt.failed_before_on_host:
            return True
        if self.rate <= 0.0:
            return False
        if self.random_seed is None:
            draw = random.random()
        else:
            # Derived from the step itself (not from the upgrade's random id), so a
            # restarted server, or another one with the same seed, draws the same.
            key = (
                f"{self.random_seed}:{attempt.cluster_id}:{attempt.to_version}:"
                f"{attempt.position}:{attempt.failed_attempts_of_step}"
            )
            draw = random.Random(key).random()
        return draw < self.rate


@dataclass
class _StepUnderWay:
    direction: str
    due: float


class Engine:
    def __init__(
        self,
        store: Store,
        step_seconds: float,
        failures: Failures,
        clock: Clock | None = None,
    ) -> None:
        if step_seconds < 0:
            raise ValueError("step_seconds must not be negative")
        self._store = store
        self._clock = clock or MonotonicClock()
        self._step_seconds = step_seconds
        self._failures = failures
        self._under_way: dict[str, _StepUnderWay] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # What made the last look at the store fail; None once one succeeds.
        self.last_error: BaseException | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def problem(self) -> str | None:
        """What keeps the engine from moving upgrades now (for /healthz); None if nothing."""
        error = self.last_error
        cause = error.message if isinstance(error, ApiError) else "the cause is in the server's log"
        if not self.running:
            return f"The upgrade engine has stopped: {cause}"
        if error is not None:
            return f"The upgrade engine cannot go on: {cause}"
        return None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="kostyor-engine", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look at the store now (an upgrade was started or an action applied)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop after the step being committed, if any; steps under way are simply not done."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                timeout = self._tick()
                self.last_error = None
            except DatabaseGone as error:
                # Steps under way are dropped: the file they belong to is no longer the database.
                logger.error("Upgrade engine stopped: %s", error.message)
                self.last_error = error
                return
            except ServiceUnavailable as error:  # locked, full, read-only: may clear up
                if str(error) != str(self.last_error):
                    logger.error("Upgrade engine waiting: %s", error.message)
                self.last_error = error
                timeout = _IDLE_WAIT_SECONDS
            except Exception as error:  # keep the engine alive; the state is in the store
                logger.exception("Upgrade engine step failed; retrying")
                self.last_error = error
                timeout = _IDLE_WAIT_SECONDS
            self._clock.wait(self._wake, timeout)
            self._wake.clear()

    def run_until_idle(self) -> None:
        """Move every running upgrade in this thread until none moves (finished, failed,
        paused), waiting on the clock for each step: a rehearsal's virtual clock plays the
        whole upgrade at once. Not with `start`: one thread drives an engine."""
        while True:
            self._tick()
            if not self._under_way:
                return
            soonest = min(step.due for step in self._under_way.values())
            self._clock.wait(self._wake, max(0.0, soonest - self._clock.now()))

    def _tick(self) -> float:
        """Commit the steps that are due, start the next ones; return how long to wait."""
        now = self._clock.now()
        for upgrade_id, step in list(self._under_way.items()):
            if step.due <= now:
                del self._under_way[upgrade_id]
                self._store.apply_step(upgrade_id, step.direction, self._failures.should_fail)
            if self._stopping.is_set():
                return 0.0
        running = self._store.running_upgrades()
        for upgrade_id, status in running.items():
            direction = BACKWARD if status == Status.ROLLBACK_IN_PROGRESS else FORWARD
            under_way = self._under_way.get(upgrade_id)
            if under_way is None or under_way.direction != direction:
                self._under_way[upgrade_id] = _StepUnderWay(direction, now + self._step_seconds)
        # A forward step under way when its upgrade was paused is still completed
        # (pause stops after the current step); the store decides at commit time.
        if not self._under_way:
            return _IDLE_WAIT_SECONDS
        soonest = min(step.due for step in self._under_way.values())
        return max(0.0, min(_IDLE_WAIT_SECONDS, soonest - self._clock.now()))
