"""A stand-in for the real Kostyor server's quirks, served over real HTTP on loopback.

The quirks (docs/kostyor-api.md#quirks) are met end to end against the embedded server
in upstream mode (docs/kostyor-api.md#upstream-mode), which answers as the real server
does. This stand-in remains for what no mode of the embedded server produces, where a test
changes its answers (a 500 or a 429 to a PUT, an answer that comes late or garbled, an
action accepted that changes nothing) or needs a shape no server of today sends (lists
wrapped as `{"clusters": [...]}` by older servers). As a handler for
`tests.support.canned.canned_server` it answers with the real server's shapes: bare (or
wrapped) lists, 500 for unknown ids (HTML for /upgrade-versions), `?cluster_id=` ignored,
new upgrades with a null status, PUT acting on the cluster's oldest upgrade and answering
`{"id": CLUSTER_ID, "status": ...}`, no transition checks, 500 for an action on a cluster
that never had an upgrade, HTML 404/405 pages.
"""

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from tests.support.canned import Answer, Request, html_answer, json_answer

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


@dataclass
class QuirkyServer:
    """State and behaviour of a real Kostyor server, quirks included.

    `handle` has the signature of a `canned_server` handler; `requests` are the
    requests that reached it (a test's own handler may answer some itself).
    """

    clusters: list[dict[str, Any]] = field(default_factory=list)
    hosts: list[dict[str, Any]] = field(default_factory=list)
    upgrades: list[dict[str, Any]] = field(default_factory=list)
    wrap_lists: bool = False
    requests: list[Request] = field(default_factory=list)
    prefix: str = "/"

    def add_cluster(
        self,
        cluster_id: str,
        name: str,
        version: str = "mitaka",
        status: str = "READY FOR UPGRADE",
        *,
        hosts: int = 1,
    ) -> dict[str, Any]:
        cluster = {"id": cluster_id, "name": name, "version": version, "status": status}
        self.clusters.append(cluster)
        for number in range(1, hosts + 1):
            self.hosts.append(
                {
                    "id": f"{cluster_id}-h{number}",
                    "hostname": f"{name}-{number:02d}",
                    "cluster_id": cluster_id,
                    "services": [],
                }
            )
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

    def sent(self, method: str, path: str | None = None) -> list[Request]:
        """Requests that reached this server, by method and path (without the prefix)."""
        return [
            request
            for request in self.requests
            if request.method == method and (path is None or self._path(request.path) == path)
        ]

    def _path(self, path: str) -> str:
        assert path.startswith(self.prefix), path
        return "/" + path[len(self.prefix) :]

    def _cluster(self, cluster_id: str) -> dict[str, Any] | None:
        return next((c for c in self.clusters if c["id"] == cluster_id), None)

    def _list(self, key: str, items: list[Any]) -> Answer:
        return json_answer(200, {key: items} if self.wrap_lists else items)

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> Answer:
        self.requests.append(Request(method, path, query, headers, body))
        path = self._path(path)
        parts = [unquote(part) for part in path.strip("/").split("/")]
        if path.endswith("/") and path != "/":
            return html_answer(404, HTML_404)
        if parts == ["clusters"]:
            if method != "GET":
                return html_answer(405, HTML_405)
            return self._list("clusters", self.clusters)
        if parts == ["clusters", "discover"]:
            if method == "GET":
                return json_answer(200, ["openstack"])
            sent = json.loads(body)
            cluster = self.add_cluster(f"new-{len(self.clusters)}", sent["name"], "mitaka")
            return json_answer(201, cluster)
        if len(parts) == 2 and parts[0] == "clusters" and method == "GET":
            cluster = self._cluster(parts[1])
            if cluster is None:
                return json_answer(500, {"message": "Internal Server Error"})
            return json_answer(200, cluster)
        if len(parts) == 3 and parts[0] == "clusters" and parts[2] in ("hosts", "services"):
            if self._cluster(parts[1]) is None:
                return json_answer(500, {"message": "Internal Server Error"})
            if parts[2] == "services":
                return self._list("services", [])
            return self._list("hosts", [h for h in self.hosts if h["cluster_id"] == parts[1]])
        if parts == ["list-upgrade-versions"]:
            return json_answer(200, RELEASES)
        if len(parts) == 2 and parts[0] == "upgrade-versions":
            cluster = self._cluster(parts[1])
            if cluster is None:
                return html_answer(500, HTML_500)
            return json_answer(200, RELEASES[RELEASES.index(cluster["version"]) + 1 :])
        if parts == ["upgrades"]:
            if method == "GET":
                # Quirk 3: ?cluster_id= is ignored.
                return self._list("upgrades", self.upgrades)
            if method == "POST":
                return self._start(json.loads(body))
            return html_answer(405, HTML_405)
        if len(parts) == 2 and parts[0] == "upgrades":
            if method == "GET":
                upgrade = next((u for u in self.upgrades if u["id"] == parts[1]), None)
                if upgrade is None:
                    return json_answer(500, {"message": "Internal Server Error"})
                return json_answer(200, upgrade)
            if method == "PUT":
                return self._act(json.loads(body))
            return html_answer(405, HTML_405)
        return html_answer(404, HTML_404)

    def _start(self, body: dict[str, Any]) -> Answer:
        cluster = self._cluster(body.get("cluster_id", ""))
        if cluster is None:
            return json_answer(404, {"message": "Cluster not found"})
        if cluster["status"] == "UPGRADE IN PROGRESS":
            return json_answer(400, {"message": "Cluster ID already has an upgrade in progress."})
        upgrade = self.add_upgrade(
            f"upgrade-{len(self.upgrades) + 1}",
            cluster["id"],
            status=None,
            start=f"2026-11-24T11:00:{len(self.upgrades):02d}.000001",
            to_version=body["to_version"],
        )
        cluster["status"] = "UPGRADE IN PROGRESS"
        return json_answer(201, upgrade)

    def _act(self, body: dict[str, Any]) -> Answer:
        cluster_id = body.get("cluster_id")
        own = [u for u in self.upgrades if u["cluster_id"] == cluster_id]
        if not own:
            return json_answer(500, {"message": "Internal Server Error"})
        # Quirk 5: the path's id is ignored; the oldest upgrade is acted on.
        status = ACTION_STATUS[body["action"]]
        own[0]["status"] = status
        cluster = self._cluster(cluster_id)
        if cluster is not None:
            cluster["status"] = status
        empty = {key: None for key in own[0]}
        return json_answer(200, {**empty, "id": cluster_id, "status": status})
