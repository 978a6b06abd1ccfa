"""What the API models share: their configuration, field types and status handling."""

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


class WithStatus(ApiModel):
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
