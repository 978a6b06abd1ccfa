"""The typed async client for the Kostyor REST API.

INTERFACE SKELETON: the signatures below are the contract the rest of the
package is written against; the bodies are being implemented.
"""

from collections.abc import Mapping
from typing import Literal

from kostyor_tui.api.models import Cluster, Host, Service, Upgrade

UpgradeAction = Literal["pause", "continue", "rollback", "cancel"]


class KostyorClient:
    """One per process. Every method raises only `kostyor_tui.api.errors` types."""

    def __init__(
        self,
        api_url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        verify: bool | str = True,
        timeout: float = 10.0,
        discovery_timeout: float = 600.0,
        max_connections: int = 4,
        transport: object | None = None,
    ) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> "KostyorClient":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # Clusters
    async def list_clusters(self) -> list[Cluster]:
        raise NotImplementedError

    async def get_cluster(self, cluster_id: str) -> Cluster:
        raise NotImplementedError

    async def resolve_cluster(self, name_or_id: str) -> Cluster:
        raise NotImplementedError

    async def list_hosts(self, cluster_id: str) -> list[Host]:
        raise NotImplementedError

    async def list_services(self, cluster_id: str) -> list[Service]:
        raise NotImplementedError

    # Discovery
    async def list_discovery_methods(self) -> list[str]:
        raise NotImplementedError

    async def discover_cluster(
        self, method: str, name: str, parameters: Mapping[str, str] | None = None
    ) -> Cluster:
        raise NotImplementedError

    # Versions
    async def list_upgrade_versions(self, cluster_id: str) -> list[str]:
        raise NotImplementedError

    async def list_all_versions(self) -> list[str]:
        raise NotImplementedError

    # Upgrades
    async def list_upgrades(self, cluster_id: str | None = None) -> list[Upgrade]:
        raise NotImplementedError

    async def get_upgrade(self, upgrade_id: str) -> Upgrade:
        raise NotImplementedError

    async def current_upgrade(self, cluster_id: str) -> Upgrade | None:
        raise NotImplementedError

    async def start_upgrade(
        self,
        cluster_id: str,
        to_version: str,
        *,
        engine: str | None = None,
        driver: str | None = None,
        parameters: Mapping[str, str] | None = None,
    ) -> Upgrade:
        raise NotImplementedError

    async def upgrade_action(self, cluster_id: str, action: UpgradeAction) -> Upgrade:
        raise NotImplementedError
