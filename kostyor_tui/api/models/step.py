"""One entry of an upgrade's step log (`GET /upgrades/{id}/steps`)."""

from kostyor_tui.api.models._base import ApiModel, Id, Text, Timestamp


class Step(ApiModel):
    """One step the engine committed or attempted (the embedded server has this step
    log; the real server does not)."""

    position: int | None = None
    service_id: Id = None
    service: Text = None
    hostname: Text = None
    direction: Text = None  # "upgrade" or "rollback"
    outcome: Text = None  # "done" or "failed"
    version_before: Text = None
    version_after: Text = None
    at: Timestamp = None
