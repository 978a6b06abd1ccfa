"""An upgrade (`GET /upgrades`)."""

from kostyor_tui.api.models._base import Id, Text, Timestamp, WithStatus


class Upgrade(WithStatus):
    id: Id = None
    cluster_id: Id = None
    from_version: Text = None
    to_version: Text = None
    upgrade_start_time: Timestamp = None
    upgrade_end_time: Timestamp = None
    # Sent by the embedded server only; the real one does not say.
    engine: Text = None
    driver: Text = None
