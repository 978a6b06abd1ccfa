"""No control character a server sends reaches the terminal, from any command, in any format.

The embedded server refuses names with control characters (400), so a fleet whose
cluster, host, service, release and method names carry OSC and CSI sequences and
newlines (ESC ] 0 ; x BEL retitles a terminal, ESC [ 2 J clears it) is served by the
canned loopback server (tests/support/canned.py) instead; it also answers a refusal
whose message carries them. Every command of the registry runs against it in every
format, with --debug (which shows the server's bodies on stderr), and neither stdout
nor stderr may hold a control byte other than the line ends.
"""

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from kostyor_tui.commands import COMMANDS
from kostyor_tui.headless.views import FORMATS
from tests.headless.conftest import CliResult
from tests.support.canned import Answer, canned_server, json_answer

Cli = Callable[..., CliResult]

TITLE = "\x1b]0;owned\x07"  # OSC: sets the terminal's title
CLEAR = "\x1b[2J"  # CSI: clears the screen
C1_CSI = "\x9b2J"  # the same, as one C1 character
RTL_OVERRIDE = "\u202e"  # shows what follows right to left: "lab\u202egnp.exe" as lab.exe...
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")

RELEASES = ["liberty", "mitaka", "newton", f"ocata{CLEAR}"]


class EvilFleet:
    """A small Kostyor fleet whose names are hostile; upgrades and actions are kept."""

    def __init__(self) -> None:
        self.clusters = [
            {
                "id": "c-1",
                "name": f"{TITLE}lab",
                "version": "mitaka",
                "status": "UPGRADE IN PROGRESS",
            },
            {
                "id": "c-2",
                "name": f"{CLEAR}wipe{C1_CSI}",
                "version": "mitaka",
                "status": "READY FOR UPGRADE",
            },
            {
                "id": "c-3",
                "name": f"multi\nline\r\x7f{RTL_OVERRIDE}gnp.exe\u2028",
                "version": "newton",
                "status": "READY FOR UPGRADE",
            },
        ]
        self.hosts = {
            cluster["id"]: [
                {
                    "id": f"{cluster['id']}-h{n}",
                    "hostname": f"node{n}{TITLE}\n",
                    "cluster_id": cluster["id"],
                    "services": [f"{cluster['id']}-s{n}"],
                }
                for n in (1, 2)
            ]
            for cluster in self.clusters
        }
        self.services = {
            cluster["id"]: [
                {
                    "id": f"{cluster['id']}-s{n}",
                    "name": f"nova-{CLEAR}api{n}",
                    "version": cluster["version"],
                    "hosts": [f"{cluster['id']}-h{n}"],
                }
                for n in (1, 2)
            ]
            for cluster in self.clusters
        }
        self.upgrades = [
            {
                "id": "u-1",
                "cluster_id": "c-1",
                "from_version": "mitaka",
                "to_version": "newton",
                "status": "UPGRADE IN PROGRESS",
                "upgrade_start_time": "2026-11-24T10:00:00",
                "upgrade_end_time": None,
            }
        ]

    def cluster(self, cluster_id: str) -> dict[str, Any] | None:
        return next((c for c in self.clusters if c["id"] == cluster_id), None)

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> Answer:
        parts = [part for part in path.split("/") if part]
        data = json.loads(body) if body else {}
        if method == "GET":
            return self._get(parts, query)
        if parts == ["clusters", "discover"]:
            cluster = {
                "id": f"c-{len(self.clusters) + 1}",
                "name": f"{TITLE}{data['name']}",
                "version": "mitaka",
                "status": "READY FOR UPGRADE",
            }
            self.clusters.append(cluster)
            self.hosts[cluster["id"]] = self.services[cluster["id"]] = []
            return json_answer(201, cluster)
        if parts == ["upgrades"] and method == "POST":
            cluster = self.cluster(data["cluster_id"])
            if cluster is None or cluster["id"] == "c-3":
                return json_answer(
                    400,
                    {
                        "message": f"no {CLEAR}upgrade{TITLE} for you\n",
                        "errors": {f"to{CLEAR}": [f"bad{C1_CSI}"]},
                    },
                )
            upgrade = {
                "id": f"u-{len(self.upgrades) + 1}",
                "cluster_id": cluster["id"],
                "from_version": cluster["version"],
                "to_version": data["to_version"],
                "status": "UPGRADE IN PROGRESS",
                "upgrade_start_time": "2026-11-25T10:00:00",
                "upgrade_end_time": None,
            }
            self.upgrades.append(upgrade)
            cluster["status"] = "UPGRADE IN PROGRESS"
            return json_answer(201, upgrade)
        if len(parts) == 2 and parts[0] == "upgrades" and method == "PUT":
            leads_to = {
                "pause": "UPGRADE PAUSED",
                "continue": "UPGRADE IN PROGRESS",
                "rollback": "UPGRADE ROLLBACK IN PROGRESS",
                "cancel": "UPGRADE CANCELLED",
            }
            upgrade = next(u for u in self.upgrades if u["id"] == parts[1])
            upgrade["status"] = leads_to[data["action"]]
            self.cluster(upgrade["cluster_id"])["status"] = upgrade["status"]  # type: ignore[index]
            return json_answer(200, upgrade)
        return json_answer(405, {"message": f"no {TITLE}"})

    def _get(self, parts: list[str], query: dict[str, str]) -> Answer:
        if parts == ["clusters"]:
            return json_answer(200, self.clusters)
        if parts == ["clusters", "discover"]:
            return json_answer(200, ["simulated", f"evil{TITLE}"])
        if parts == ["list-upgrade-versions"]:
            return json_answer(200, RELEASES)
        if parts == ["upgrades"]:
            wanted = query.get("cluster_id")
            return json_answer(200, [u for u in self.upgrades if wanted in (None, u["cluster_id"])])
        if len(parts) == 2 and parts[0] == "upgrades":
            found = [u for u in self.upgrades if u["id"] == parts[1]]
            return json_answer(200, found[0]) if found else json_answer(404, {"message": TITLE})
        if len(parts) == 2 and parts[0] == "upgrade-versions":
            return json_answer(200, RELEASES[2:])
        if len(parts) >= 2 and parts[0] == "clusters" and self.cluster(parts[1]):
            if len(parts) == 2:
                return json_answer(200, self.cluster(parts[1]))
            if parts[2:] == ["hosts"]:
                return json_answer(200, self.hosts[parts[1]])
            if parts[2:] == ["services"]:
                return json_answer(200, self.services[parts[1]])
        return json_answer(404, {"message": f"{path_text(parts)} not found{CLEAR}"})


def path_text(parts: list[str]) -> str:
    return "/" + "/".join(parts)


# Each command's words against the fleet, and whether it must succeed there.
RUNS: dict[str, list[tuple[list[str], bool]]] = {
    "list-clusters": [([], True)],
    "cluster-status": [(["c-1"], True), (["c-2"], True), (["no-such"], False)],
    "cluster-component-list": [(["c-1"], True)],
    "list-hosts": [(["c-1"], True)],
    "check-upgrade": [(["c-2"], True)],
    "list-upgrade-versions": [(["c-2"], True)],
    "list-discovery-methods": [([], True)],
    "discover-cluster": [(["simulated", "fresh"], True)],
    "upgrade-cluster": [(["c-2", "newton"], True), (["c-3", "newton"], False)],
    "upgrade-status": [(["c-1"], True), (["u-1", "--watch"], True), (["c-3"], False)],
    "list-upgrades": [([], True)],
    "upgrade-pause": [(["c-1"], True), (["c-2"], False)],
    "upgrade-continue": [(["c-1"], False)],
    "upgrade-rollback": [(["c-1"], True)],
    "upgrade-cancel": [(["c-1"], True), (["c-3"], False)],
}


def test_every_command_is_run() -> None:
    assert set(RUNS) == set(COMMANDS)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", list(RUNS))
def test_no_control_character_reaches_the_terminal(cli: Cli, name: str, fmt: str) -> None:
    for words, succeeds in RUNS[name]:
        fleet = EvilFleet()
        if words[-1:] == ["--watch"]:
            # One poll in progress, the next one finished.
            fleet.upgrades[0]["status"] = "UPGRADE SUCCEED"
        with canned_server(fleet.handle) as canned:
            result = cli("--api-url", canned.url, "--debug", "--command", name, *words, "-f", fmt)
        assert (result.code == 0) is succeeds, (words, result.code, result.err)
        for stream, text in (("stdout", result.out), ("stderr", result.err)):
            found = CONTROL.findall(text)
            assert not found, (words, stream, found, text)
        if succeeds:
            assert result.out
        else:
            errors = [line for line in result.error_lines if "error:" in line]
            assert len(errors) == 1, result.err
        # --debug showed the server's words too, escaped.
        assert "kostyor-tui: debug: GET " in result.err
