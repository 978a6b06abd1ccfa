"""The engine's clock: real time for a server, virtual time for a rehearsal.

The engine asks its clock what time it is and waits on it for the next step to be
due. `MonotonicClock` is the wall clock. `VirtualClock` never sleeps: waiting moves its
time on by the wait, so a 2,000-host upgrade that would take hours is played in the
time its database writes take, and every step is timed as if it had really waited.
"""

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds from an arbitrary origin; never goes backwards."""
        ...

    def wait(self, wake: threading.Event, timeout: float) -> None:
        """Wait until `wake` is set or `timeout` seconds have passed on this clock."""
        ...


class MonotonicClock:
    """Real time (`time.monotonic`)."""

    def now(self) -> float:
        return time.monotonic()

    def wait(self, wake: threading.Event, timeout: float) -> None:
        wake.wait(timeout)


class VirtualClock:
    """Time that passes only when waited for: `wait` returns at once, `timeout` later."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def wait(self, wake: threading.Event, timeout: float) -> None:
        # Whatever `wake` says: nothing else moves virtual time, so waiting less would
        # only spin.
        with self._lock:
            self._now += max(0.0, timeout)
