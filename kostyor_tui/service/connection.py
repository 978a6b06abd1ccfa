"""What the header tells about the API, and how long to wait before trying it again."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ConnectionState:
    connected: bool | None = None  # None until the first poll has finished
    last_good_at: datetime | None = None
    disconnected_since: datetime | None = None
    error: str | None = None
    # When the next poll is due after a failure (the header counts down to it).
    retry_at: datetime | None = None
    # When the poll now running started (None between polls): a long one is shown.
    polling_since: datetime | None = None
    auto_refresh: bool = True
    read_only: bool = False


def backoff(
    failures: int, interval: float, cap: float, draw: Callable[[], float] = random.random
) -> float:
    """Seconds before the next try after `failures` failed polls in a row: doubling from
    the poll interval up to `cap`, give or take a fifth, so that many consoles whose API
    went away together do not all come back at the same instant."""
    delay = min(interval * 2 ** max(failures - 1, 0), cap)
    return max(interval, delay * (0.8 + 0.4 * draw()))
