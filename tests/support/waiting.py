"""The one way tests wait: poll a condition until it holds, failing after a bounded deadline
with what was awaited. There is no push to wait on (the servers are polled, the console
renders when it will), so waiting is polling; never a sleep on luck."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

DEADLINE = 30.0


def wait_until(
    check: Callable[[], T | None],
    what: str = "the condition",
    *,
    timeout: float = DEADLINE,
    interval: float = 0.02,
) -> T:
    """The first truthy value `check` returns; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout} s waiting for {what} (last: {value!r})"
            )
        time.sleep(interval)


async def until(
    check: Callable[[], T | None],
    what: str = "the condition",
    *,
    timeout: float = DEADLINE,
    interval: float = 0.05,
    pause: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> T:
    """`wait_until` for async tests: `pause` lets the event loop (or a Textual pilot) run."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if loop.time() >= deadline:
            raise AssertionError(
                f"timed out after {timeout} s waiting for {what} (last: {value!r})"
            )
        await pause(interval)
