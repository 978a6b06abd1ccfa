"""How long each step of a rehearsal takes: one time for every step, or per service.

From a TOML file:

    step_seconds = 30          # every service not named below (optional)

    [durations]
    nova-compute = 40          # a service, by name
    neutron = 20               # or a whole project (every neutron-* service)

or from the step log of an earlier run on the embedded server (its SQLite
database): a service's duration is the median time between the commit of the step
before it and its own, over every upgrade step of that database (a pause between two
steps counts; the median keeps one long pause from weighing).
"""

from __future__ import annotations

import statistics
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from kostyor_tui.domain.order import project_of
from kostyor_tui.errors import UsageError

DEFAULT_STEP_SECONDS = 60.0


@dataclass(frozen=True)
class Durations:
    """Seconds a step takes: by service name, else by project, else `default_seconds`."""

    default_seconds: float = DEFAULT_STEP_SECONDS
    by_name: Mapping[str, float] = field(default_factory=dict)
    source: str = ""

    def __call__(self, service: str) -> float:
        if service in self.by_name:
            return self.by_name[service]
        return self.by_name.get(project_of(service), self.default_seconds)

    @property
    def uniform(self) -> bool:
        return not self.by_name

    def describe(self) -> str:
        if self.source:
            return self.source
        return f"{self.default_seconds:g}s every step"


def _seconds(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise UsageError(f"{where} must be a number of seconds, 0 or more")
    return float(value)


def uniform(step_seconds: float) -> Durations:
    return Durations(default_seconds=_seconds(step_seconds, "--step-seconds"))


def from_toml(path: Path) -> Durations:
    """The durations of a TOML file (see the module docstring)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise UsageError(f"{path} is not a TOML file: {error}") from None
    unknown = sorted(set(data) - {"step_seconds", "durations"})
    if unknown:
        raise UsageError(
            f"{path}: unknown key(s) {', '.join(unknown)} (known: step_seconds, durations)"
        )
    table = data.get("durations", {})
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [durations] must be a table of service = seconds")
    by_name = {str(name): _seconds(value, f"{path}: {name}") for name, value in table.items()}
    default = _seconds(data.get("step_seconds", DEFAULT_STEP_SECONDS), f"{path}: step_seconds")
    return Durations(default, by_name, source=f"{path.name} ({len(by_name)} service(s))")


def _moment(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None


def from_step_log(db_path: Path, *, default_seconds: float = DEFAULT_STEP_SECONDS) -> Durations:
    """The median time each service's upgrade step took in an earlier run of the embedded
    server whose database is `db_path` (see the module docstring); services it never
    upgraded take `default_seconds`."""
    from kostyor_tui.server.errors import ApiError
    from kostyor_tui.server.store import FORWARD, DatabaseProblem, Store

    if not db_path.is_file():
        # Checked first: opening a missing file would create an empty database.
        raise UsageError(f"{db_path}: no such database file (a kostyor-tui serve --db file)")
    store = Store(db_path)
    samples: dict[str, list[float]] = {}
    try:
        store.initialize()
        for upgrade in store.list_upgrades():
            before = _moment(upgrade.get("upgrade_start_time"))
            for step in store.step_log(str(upgrade["id"])):
                at = _moment(step["at"])
                if before is not None and at is not None and step["direction"] == FORWARD:
                    samples.setdefault(str(step["service"]), []).append(
                        max(0.0, (at - before).total_seconds())
                    )
                before = at
    except (ApiError, DatabaseProblem) as error:
        raise UsageError(f"cannot read the step log of {db_path}: {error}") from None
    finally:
        store.close()
    if not samples:
        raise UsageError(f"{db_path} holds no upgrade step to take durations from")
    by_name = {service: statistics.median(times) for service, times in samples.items()}
    return Durations(
        default_seconds,
        by_name,
        source=f"step log of {db_path.name} ({len(by_name)} service(s))",
    )
