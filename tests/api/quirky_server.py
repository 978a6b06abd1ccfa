"""A stand-in for the real Kostyor server's quirks, for `httpx.MockTransport`.

The embedded server fixes the real server's bugs (contract section 4), so the
quirks of section 3 cannot be met over real HTTP here. This replays answers of
the shapes the real server gives: bare lists (or the older wrapped form), 500
for unknown ids (HTML for /upgrade-versions), `?cluster_id=` ignored, new
upgrades with a null status, PUT acting on the cluster's oldest upgrade and
answering `{"id": CLUSTER_ID, "status": ...}`, no transition checks, 500 for an
action on a cluster that never had an upgrade, HTML 404/405 pages.
"""

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

HTML_404 = (
    b"<!DOCTYPE HTML PUBLIC '-//W3C//DTD HTML 3.2 Final//EN'>\n"
    b"<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
    b"<p>The requested URL was not found on the server.</p>\n"
)
HTML_405 = (
    b"<!DOCTYPE HTML PUBLIC '-//W3C//DTD HTML 3.2 Final//EN'>\n"
    b"<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n"
)
HTML_500 = (
    b"<!DOCTYPE HTML PUBLIC '-//W3C//DTD HTML 3.2 Final//EN'>\n"
    b"<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n"
)
RELEASES = ["liberty", "mitaka", "newton", "ocata"]
ACTION_STATUS = {
    "pause": "UPGRADE PAUSED",
    "continue": "UPGRADE IN PROGRESS",
    "cancel": "UPGRADE CANCELLED",
    "rollback": "UPGRADE ROLLBACK IN PROGRESS",
}


def json_response(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body)


def html_response(status: int, body: bytes) -> httpx.Response:
    return httpx.Response(status, content=body, headers={"Content-Type": "text/html"})


@dataclass
class QuirkyServer:
    """State and behaviour of a real Kostyor server, quirks included."""

    clusters: list[dict[str, Any]] = field(default_factory=list)
    upgrades: list[dict[str, Any]] = field(default_factory=list)
    wrap_lists: bool = False
    # With its task broker down, POST /upgrades saves, then answers 500 (quirk 8).
    broker_down: bool = False
    requests: list[httpx.Request] = field(default_factory=list)
    prefix: str = "/"

    def add_cluster(
        self, cluster_id: str, name: str, version: str = "mitaka", status: str = "READY FOR UPGRADE"
    ) -> dict[str, Any]:
        cluster = {"id": cluster_id, "name": name, "version": version, "status": status}
        self.clusters.append(cluster)
        return cluster

    def add_upgrade(
        self,
        upgrade_id: str,
        cluster_id: str,
        *,
        status: str | None = None,
        start: str = "2026-11-24T10:00:00.000001",
        to_version: str = "newton",
    ) -> dict[str, Any]:
        upgrade = {
            "id": upgrade_id,
            "cluster_id": cluster_id,
            "from_version": "mitaka",
            "to_version": to_version,
            "status": status,
            "upgrade_start_time": start,
            "upgrade_end_time": None,
        }
        self.upgrades.append(upgrade)
        return upgrade

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def sent(self, method: str, path: str | None = None) -> list[httpx.Request]:
        return [
            request
            for request in self.requests
            if request.method == method and (path is None or self._path(request) == path)
        ]

    def _path(self, request: httpx.Request) -> str:
        path = request.url.path
        assert path.startswith(self.prefix), path
        return "/" + path[len(self.prefix) :]

    def _cluster(self, cluster_id: str) -> dict[str, Any] | None:
        return next((c for c in self.clusters if c["id"] == cluster_id), None)

    def _list(self, key: str, items: list[Any]) -> httpx.Response:
        return json_response(200, {key: items} if self.wrap_lists else items)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = self._path(request)
        parts = path.strip("/").split("/")
        method = request.method
        if path.endswith("/") and path != "/":
            return html_response(404, HTML_404)
        if parts == ["clusters"]:
            if method != "GET":
                return html_response(405, HTML_405)
            return self._list("clusters", self.clusters)
        if parts == ["clusters", "discover"]:
            if method == "GET":
                return json_response(200, ["openstack"])
            body = json.loads(request.content)
            cluster = self.add_cluster(f"new-{len(self.clusters)}", body["name"], "mitaka")
            return json_response(201, cluster)
        if len(parts) == 2 and parts[0] == "clusters" and method == "GET":
            cluster = self._cluster(parts[1])
            if cluster is None:
                return json_response(500, {"message": "Internal Server Error"})
            return json_response(200, cluster)
        if len(parts) == 3 and parts[0] == "clusters" and parts[2] in ("hosts", "services"):
            if self._cluster(parts[1]) is None:
                return json_response(500, {"message": "Internal Server Error"})
            return self._list(parts[2], [])
        if parts == ["list-upgrade-versions"]:
            return json_response(200, RELEASES)
        if len(parts) == 2 and parts[0] == "upgrade-versions":
            cluster = self._cluster(parts[1])
            if cluster is None:
                return html_response(500, HTML_500)
            return json_response(200, RELEASES[RELEASES.index(cluster["version"]) + 1 :])
        if parts == ["upgrades"]:
            if method == "GET":
                # Quirk 3: ?cluster_id= is ignored.
                return self._list("upgrades", self.upgrades)
            if method == "POST":
                return self._start(json.loads(request.content))
            return html_response(405, HTML_405)
        if len(parts) == 2 and parts[0] == "upgrades":
            if method == "GET":
                upgrade = next((u for u in self.upgrades if u["id"] == parts[1]), None)
                if upgrade is None:
                    return json_response(500, {"message": "Internal Server Error"})
                return json_response(200, upgrade)
            if method == "PUT":
                return self._act(json.loads(request.content))
            return html_response(405, HTML_405)
        return html_response(404, HTML_404)

    def _start(self, body: dict[str, Any]) -> httpx.Response:
        cluster = self._cluster(body.get("cluster_id", ""))
        if cluster is None:
            return json_response(404, {"message": "Cluster not found"})
        if cluster["status"] == "UPGRADE IN PROGRESS":
            return json_response(400, {"message": "Cluster ID already has an upgrade in progress."})
        upgrade = self.add_upgrade(
            f"upgrade-{len(self.upgrades) + 1}",
            cluster["id"],
            status=None,
            start=f"2026-11-24T11:00:{len(self.upgrades):02d}.000001",
            to_version=body["to_version"],
        )
        cluster["status"] = "UPGRADE IN PROGRESS"
        if self.broker_down:
            return json_response(500, {"message": "Internal Server Error"})
        return json_response(201, upgrade)

    def _act(self, body: dict[str, Any]) -> httpx.Response:
        cluster_id = body.get("cluster_id")
        own = [u for u in self.upgrades if u["cluster_id"] == cluster_id]
        if not own:
            return json_response(500, {"message": "Internal Server Error"})
        # Quirk 5: the path's id is ignored; the oldest upgrade is acted on.
        status = ACTION_STATUS[body["action"]]
        own[0]["status"] = status
        cluster = self._cluster(cluster_id)
        if cluster is not None:
            cluster["status"] = status
        empty = {key: None for key in own[0]}
        return json_response(200, {**empty, "id": cluster_id, "status": status})
