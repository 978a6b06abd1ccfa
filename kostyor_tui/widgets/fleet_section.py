"""One profile's endpoint in the view of every profile: its connection state and its
clusters, followed from that endpoint's own service."""

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message

from kostyor_tui.api.models import Cluster
from kostyor_tui.domain.text import printable
from kostyor_tui.service import ApiService
from kostyor_tui.service.snapshots import ClusterSnapshot
from kostyor_tui.widgets.cluster_list import ClusterList
from kostyor_tui.widgets.status_header import StatusHeader


class FleetSection(Vertical):
    """The header and cluster list of one endpoint. Its widgets find their service here
    (`service_of`); a cluster chosen in its list is posted as `ClusterChosen`, naming the
    section, so that it is opened against the right endpoint."""

    class ClusterChosen(Message):
        def __init__(self, section: "FleetSection", cluster_id: str) -> None:
            super().__init__()
            self.section = section
            self.cluster_id = cluster_id

    def __init__(
        self, profile: str, display_url: str, region: str | None, service: ApiService
    ) -> None:
        super().__init__(classes="fleet-section")
        self.profile = profile
        self.display_url = display_url
        self.service = service
        self.selected_cluster_id: str | None = None
        self.border_title = printable(f"{profile} · {region}" if region else profile)

    def compose(self) -> ComposeResult:
        yield StatusHeader(self.profile, self.display_url)
        # Discovery is off in the view of every profile (it adds to one endpoint).
        yield ClusterList(none_yet="discover one from this profile's own console.")

    @property
    def cluster_list(self) -> ClusterList:
        return self.query_one(ClusterList)

    def on_mount(self) -> None:
        self.watch(self.service, "clusters", self._clusters_changed)
        self.watch(self.service, "snapshots", self._snapshots_changed, init=False)

    def _clusters_changed(self, clusters: tuple[Cluster, ...]) -> None:
        self.cluster_list.show(clusters, self.service.snapshots, self.service.clock())

    def _snapshots_changed(self, snapshots: dict[str, ClusterSnapshot]) -> None:
        self.cluster_list.show(self.service.clusters, snapshots, self.service.clock())

    def on_cluster_list_highlighted(self, message: ClusterList.Highlighted) -> None:
        message.stop()
        self.selected_cluster_id = message.cluster_id

    def on_cluster_list_chosen(self, message: ClusterList.Chosen) -> None:
        message.stop()
        self.post_message(self.ClusterChosen(self, message.cluster_id))
