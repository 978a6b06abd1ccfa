"""Pydantic models of the Kostyor API objects.

Every field may be null on the wire, and unknown fields are ignored. Ids are
kept as strings whatever JSON type the server used. `status` is normalised to
`Status`; the server's own spelling stays in `raw_status`.
"""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator

from kostyor_tui.domain.statuses import Status, normalize_status


def _none_as_empty(value: Any) -> Any:
    return [] if value is None else value


def _as_datetime(value: Any) -> Any:
    # The server sends ISO 8601 without a zone; an unparsable value becomes None
    # rather than making the whole object unusable.
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return value


# Ids and names are plain strings; pydantic coerces numbers (`coerce_numbers_to_str`).
Id = str | None
Text = str | None
IdList = Annotated[list[str], BeforeValidator(_none_as_empty)]
Timestamp = Annotated[datetime | None, BeforeValidator(_as_datetime)]


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)


class _WithStatus(ApiModel):
    status: Status = Status.UNKNOWN
    raw_status: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _keep_raw_status(cls, data: Any) -> Any:
        if isinstance(data, dict) and "raw_status" not in data:
            raw = data.get("status")
            data = {
                **data,
                "raw_status": raw if isinstance(raw, str) else None,
                "status": normalize_status(raw),
            }
        return data


class Cluster(_WithStatus):
    id: Id = None
    name: Text = None
    version: Text = None


class Host(ApiModel):
    id: Id = None
    hostname: Text = None
    cluster_id: Id = None
    services: IdList = []


class Service(ApiModel):
    id: Id = None
    name: Text = None
    version: Text = None
    hosts: IdList = []


class Upgrade(_WithStatus):
    id: Id = None
    cluster_id: Id = None
    from_version: Text = None
    to_version: Text = None
    upgrade_start_time: Timestamp = None
    upgrade_end_time: Timestamp = None
    # Sent by the embedded server only; the real one does not say.
    engine: Text = None
    driver: Text = None


class Step(ApiModel):
    """One step the engine committed or attempted (`GET /upgrades/{id}/steps`: the embedded
    server has this step log; the real server does not)."""

    position: int | None = None
    service_id: Id = None
    service: Text = None
    hostname: Text = None
    direction: Text = None  # "upgrade" or "rollback"
    outcome: Text = None  # "done" or "failed"
    version_before: Text = None
    version_after: Text = None
    at: Timestamp = None
