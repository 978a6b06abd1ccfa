"""A cluster (`GET /clusters`)."""

from kostyor_tui.api.models._base import Id, Text, WithStatus


class Cluster(WithStatus):
    id: Id = None
    name: Text = None
    version: Text = None
