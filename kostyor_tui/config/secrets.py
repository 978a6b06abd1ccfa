"""Secrets printed by a program: `password_command` and `token_command`.

The program runs without a shell, with no input, in a process group of its own
(a new session), so that on a timeout the whole group is killed, a `sleep` under
`sh -c` included. At most `MAX_OUTPUT_BYTES` of its output are ever read: a
program that prints more is killed and refused, rather than filling memory.
Errors name the program only: its arguments and its output may hold the secret.
"""

from __future__ import annotations

import os
import signal
import time
from typing import TYPE_CHECKING

from kostyor_tui.errors import ConfigError

if TYPE_CHECKING:
    import subprocess

COMMAND_TIMEOUT = 30.0
# A password or a token fits in far less; a Keystone token is a few hundred bytes.
MAX_OUTPUT_BYTES = 16 * 1024
# How often to look whether the program ended while its output stays open (a background
# child of the program may hold it).
_POLL_SECONDS = 0.05


def run_secret_command(
    argv: list[str],
    *,
    what: str = "password_command",
    timeout: float = COMMAND_TIMEOUT,
    max_output: int = MAX_OUTPUT_BYTES,
) -> str:
    """Run `argv` (no shell) and return the first line of what it prints, stripped.

    `what` names the setting in error messages ("password_command", "token_command").
    Raises ConfigError when the program cannot run, fails, prints nothing usable,
    prints more than `max_output` bytes, or does not finish within `timeout` seconds;
    in the last two cases its whole process group is killed first.
    """
    import subprocess  # only when a command runs: headless start-up stays fast

    program = argv[0]
    try:
        process = subprocess.Popen(
            argv,
            shell=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            # Its words on stderr could hold the secret, and would scribble over a console.
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
    except FileNotFoundError:
        raise ConfigError(f"{what}: program {program!r} not found") from None
    except PermissionError:
        raise ConfigError(f"{what}: program {program!r} is not executable") from None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigError(f"{what}: cannot run {program!r}: {reason}") from None
    try:
        output, status = _collect(process, time.monotonic() + timeout, max_output)
    except _TooMuch:
        raise ConfigError(
            f"{what}: {program!r} printed more than {max_output // 1024} KiB; it must print "
            "the secret on its first line"
        ) from None
    except _TimedOut:
        raise ConfigError(f"{what}: {program!r} did not finish within {timeout:g} s") from None
    finally:
        if process.stdout is not None:
            process.stdout.close()
    if status != 0:
        raise ConfigError(f"{what}: {program!r} failed with exit status {status}")
    try:
        text = output.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{what}: {program!r} printed text that is not UTF-8") from None
    lines = text.splitlines()
    secret = lines[0].strip() if lines else ""
    if not secret:
        raise ConfigError(f"{what}: {program!r} printed no {what.removesuffix('_command')}")
    return secret


class _TooMuch(Exception):
    pass


class _TimedOut(Exception):
    pass


def _collect(
    process: subprocess.Popen[bytes], deadline: float, max_output: int
) -> tuple[bytes, int]:
    """Read the program's output until it ends; its output and exit status. On a timeout
    or too much output, kill its process group and raise."""
    import selectors

    assert process.stdout is not None
    descriptor = process.stdout.fileno()
    output = bytearray()
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(descriptor, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise _TimedOut
                if selector.select(min(left, _POLL_SECONDS)):
                    chunk = os.read(descriptor, 4096)
                    if not chunk:
                        break  # end of output
                    output += chunk
                    if len(output) > max_output:
                        raise _TooMuch
                elif _has_exited(process):
                    # Ended, and nothing more to read: a child of it may still hold the
                    # output open, but what the program printed is all here.
                    break
            left = deadline - time.monotonic()
            if left <= 0 or not _wait_exited(process, left):
                raise _TimedOut
    except (_TimedOut, _TooMuch):
        _kill_group(process)
        raise
    return bytes(output), process.wait()


def _has_exited(process: subprocess.Popen[bytes]) -> bool:
    """Whether the program has ended, without reaping it: until it is reaped, its pid and
    so its process group id cannot be given to another process."""
    try:
        found = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return found is not None


def _wait_exited(process: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not _has_exited(process):
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(_POLL_SECONDS, max(0.0, deadline - time.monotonic())))
    return True


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the program's whole process group (it leads it: start_new_session), then reap
    the program. Killed before reaping, so the group id still names that group."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.wait()
