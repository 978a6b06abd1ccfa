"""Pydantic models of the Kostyor API objects.

Every field may be null on the wire, and unknown fields are ignored. Ids are
kept as strings whatever JSON type the server used. `status` is normalised to
`Status`; the server's own spelling stays in `raw_status`.
"""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator

from kostyor_tui.api.status import Status, normalize_status


def _as_str(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(value)
    return value


def _as_str_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, list):
        return [_as_str(item) for item in value]
    return value


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


Id = Annotated[str | None, BeforeValidator(_as_str)]
IdList = Annotated[list[str], BeforeValidator(_as_str_list)]
Timestamp = Annotated[datetime | None, BeforeValidator(_as_datetime)]
Text = Annotated[str | None, BeforeValidator(_as_str)]


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


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
