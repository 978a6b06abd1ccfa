"""A host of a cluster (`GET /clusters/{id}/hosts`)."""

from pydantic import Field

from kostyor_tui.api.models._base import ApiModel, Id, IdList, Text


class Host(ApiModel):
    id: Id = None
    hostname: Text = None
    cluster_id: Id = None
    services: IdList = Field(default_factory=list)
