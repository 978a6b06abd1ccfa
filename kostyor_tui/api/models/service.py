"""A service instance of a cluster (`GET /clusters/{id}/services`)."""

from pydantic import Field

from kostyor_tui.api.models._base import ApiModel, Id, IdList, Text


class Service(ApiModel):
    id: Id = None
    name: Text = None
    version: Text = None
    hosts: IdList = Field(default_factory=list)
