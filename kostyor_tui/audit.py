"""The audit trail: every upgrade start, action and discovery an operator asked for,
sent or refused, one JSON object per line in a local file.

The operations record an `AuditEvent` through the callable they are given; the
faces give them an `AuditTrail` built from the settings (`audit_trail`), which
adds when, who (the local user), from which profile and to which endpoint (its
credentials stripped). The file (default: the platform's state directory,
`~/.local/state/kostyor-tui/audit.jsonl` on Linux) is created with mode 0600 and
only ever appended to, a whole line at a time, so that several consoles and
scripts can share it. Nothing secret is written: parameters by name only,
messages redacted by the operations.

`kostyor-tui audit` reads it back (`read_audit`).
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kostyor_tui.config import Settings
from kostyor_tui.config.settings import ENV_AUDIT_FILE, reason
from kostyor_tui.errors import ConfigError
from kostyor_tui.operations import AuditEvent

# The keys of each line, in order (stable: scripts read them).
FIELDS = (
    "time",
    "user",
    "profile",
    "endpoint",
    "action",
    "cluster",
    "cluster_id",
    "upgrade_id",
    "to_version",
    "parameters",
    "forced",
    "sent",
    "outcome",
    "detail",
)


def local_user() -> str:
    """Who runs kostyor-tui on this machine."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


@dataclass
class AuditTrail:
    """Appends AuditEvents to the file at `path`, stamped with time, user, profile and
    endpoint. Raises OSError when it cannot (the operations tell the operator)."""

    path: Path
    profile: str
    endpoint: str
    user: str
    clock: Callable[[], datetime] = lambda: datetime.now(UTC).astimezone()

    def __call__(self, event: AuditEvent) -> None:
        entry = {
            "time": self.clock().isoformat(timespec="seconds"),
            "user": self.user,
            "profile": self.profile,
            "endpoint": self.endpoint,
            **asdict(event),
        }
        entry["parameters"] = list(event.parameters)
        line = json.dumps({key: entry[key] for key in FIELDS}, ensure_ascii=False) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, line.encode("utf-8"))
        finally:
            os.close(descriptor)


def audit_trail(settings: Settings) -> AuditTrail:
    """The audit trail of the faces: to the settings' audit file, stamped with their
    profile and endpoint (without credentials) and the local user."""
    return AuditTrail(
        path=settings.audit_path,
        profile=settings.profile_name,
        endpoint=settings.display_url,
        user=local_user(),
    )


@dataclass(frozen=True)
class AuditReading:
    """The entries read back (oldest first), and how many lines could not be read."""

    entries: list[dict[str, Any]]
    unreadable: int = 0


def read_audit(path: Path, *, cluster: str | None = None, limit: int | None = None) -> AuditReading:
    """The entries of the audit file at `path`, oldest first: only those of `cluster` (a
    name or an id) if given, only the last `limit` if given. A missing file has none; a
    line that is not an entry (cut short by a full disk, say) is counted and skipped."""
    try:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            lines = handle.readlines()
    except FileNotFoundError:
        return AuditReading([])
    except OSError as error:  # a directory, a path under a file, no permission
        raise ConfigError(
            f"cannot read the audit file {path}: {reason(error)}",
            hint=f"check audit_file in the config file, or {ENV_AUDIT_FILE}",
        ) from None
    entries: list[dict[str, Any]] = []
    unreadable = 0
    for line in lines:
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            unreadable += 1
            continue
        if not isinstance(entry, dict):
            unreadable += 1
            continue
        if cluster is not None and cluster not in (entry.get("cluster"), entry.get("cluster_id")):
            continue
        entries.append({key: entry.get(key) for key in FIELDS})
    if limit is not None:
        entries = entries[-limit:] if limit > 0 else []
    return AuditReading(entries, unreadable)
