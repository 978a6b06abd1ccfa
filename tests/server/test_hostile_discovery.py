"""Discovery asked to read what it must not, or to build more than it may.

openstack-ansible discovery reads only regular files inside `--inventory-dir`
directories, at most 16 MiB, never blocking; whatever a path outside is (missing, a
directory, a device, a FIFO, a secret) the answer is the same, and no file's content
is ever repeated. The server runs as a real subprocess so that its memory can be read.
"""

import json
import os
import time
from pathlib import Path

import httpx
import pytest

from tests.server.waiting import discover_small
from tests.support.servers import ServerProcess

SECRET = "db_password=hunter2"
OUT_OF_BOUNDS = (
    "not a file this server reads inventories from (regular files inside the directories"
    " given to serve --inventory-dir)"
)
# Generous for a loaded two-core machine; what it guards against took 18 s, or forever.
FAST_SECONDS = 5.0
# Far below the 1 GiB files at stake, far above the noise of a few hundred requests.
MAX_RSS_GROWTH = 20 * 1024 * 1024


def discover(
    client: httpx.Client, method: str, name: str = "probe", **parameters: str
) -> httpx.Response:
    return client.post(
        "/clusters/discover", json={"name": name, "method": method, "parameters": parameters}
    )


def refusal(response: httpx.Response) -> str:
    """The one parameter problem of a 400 answer."""
    assert response.status_code == 400, response.text
    (problem,) = response.json()["errors"]["parameters"]
    return problem


@pytest.fixture
def hostile_files(tmp_path: Path) -> dict[str, Path]:
    """Things an inventory path may name, inside the allowed directory and outside it."""
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir()
    outside.mkdir()
    files: dict[str, Path] = {}
    for where in (allowed, outside):
        fifo = where / "fifo.json"
        os.mkfifo(fifo)
        sparse = where / "sparse.json"
        with sparse.open("wb") as file:
            file.truncate(1024**3)  # 1 GiB, no disk used
        secret = where / "secret.json"
        secret.write_text(json.dumps({"keystone": [SECRET]}))
        secret.chmod(0o600)
        (where / "directory.json").mkdir()
        files |= {
            f"{where.name} fifo": fifo,
            f"{where.name} sparse": sparse,
            f"{where.name} secret": secret,
            f"{where.name} directory": where / "directory.json",
            f"{where.name} missing": where / "missing.json",
        }
    (allowed / "link.json").symlink_to(outside / "secret.json")
    files["allowed link to outside"] = allowed / "link.json"
    files["outside by dot-dot"] = allowed / ".." / "outside" / "secret.json"
    files["outside device"] = Path("/dev/zero")
    files["outside system file"] = Path("/etc/passwd")
    return files


def test_hostile_inventories_get_a_fast_400_with_no_content_and_no_memory_growth(
    tmp_path: Path, hostile_files: dict[str, Path]
) -> None:
    allowed = tmp_path / "allowed"
    server = ServerProcess(
        tmp_path / "hostile.sqlite3", seed="empty", extra_args=["--inventory-dir", str(allowed)]
    ).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            discover_small(client, name="warm-up")  # the server's own first-use allocations
            rss_before = server.rss_bytes()
            problems: dict[str, str] = {}
            for _ in range(3):  # a leak per request would add up
                for label, path in hostile_files.items():
                    started = time.monotonic()
                    response = discover(client, "openstack-ansible", inventory=str(path))
                    assert time.monotonic() - started < FAST_SECONDS, label
                    assert SECRET not in response.text and "hunter2" not in response.text
                    problems[label] = refusal(response)
            rss_after = server.rss_bytes()
            assert [c["name"] for c in client.get("/clusters").json()] == ["warm-up"]
    finally:
        assert server.stop() == 0
    assert rss_after - rss_before < MAX_RSS_GROWTH, (rss_before, rss_after)

    # Outside the allowed directory: one message, whatever is there (no probing).
    outside = {label: problem for label, problem in problems.items() if "allowed" not in label}
    assert set(outside.values()) == {f"inventory: {OUT_OF_BOUNDS}"}, outside
    assert problems["allowed link to outside"] == f"inventory: {OUT_OF_BOUNDS}"
    # Inside, the operator is told what is wrong.
    assert problems["allowed fifo"] == "inventory: not a regular file"
    assert problems["allowed directory"] == "inventory: not a regular file"
    assert problems["allowed missing"] == "inventory: no such file"
    assert problems["allowed sparse"] == f"inventory: larger than {16 * 1024 * 1024} bytes"
    # A readable JSON file does not turn its strings into host names.
    assert problems["allowed secret"].startswith("inventory: 1 host name(s) are not host names")
    # The server's output does not repeat the secret either.
    assert SECRET not in server.log_path.read_text()


def test_every_parameter_is_checked_before_the_disk(server_factory, tmp_path: Path) -> None:
    # A FIFO no one writes to: reading it would block a worker thread for good.
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    server = server_factory(seed="empty", inventory_dirs=(tmp_path,))
    with httpx.Client(base_url=server.url, timeout=30) as client:
        response = discover(client, "openstack-ansible", inventory=str(fifo), version="folsom")
        assert refusal(response) == "version: unallowed value folsom"
        response = discover(client, "openstack-ansible", inventory=str(fifo), hosts="3")
        assert refusal(response).startswith("hosts: unknown parameter")
        response = discover(client, "openstack-ansible", inventory="inventory.json")
        assert refusal(response) == "inventory: must be an absolute path"


def test_a_device_inside_an_allowed_directory_is_never_read(server_factory) -> None:
    server = server_factory(seed="empty", inventory_dirs=(Path("/dev"),))
    with httpx.Client(base_url=server.url, timeout=30) as client:
        started = time.monotonic()
        response = discover(client, "openstack-ansible", inventory="/dev/zero")
        assert time.monotonic() - started < FAST_SECONDS
        assert refusal(response) == "inventory: not a regular file"


def test_without_inventory_dirs_nothing_is_read(server, tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"nova_compute": {"hosts": ["compute1"]}}))
    with httpx.Client(base_url=server.url, timeout=30) as client:
        response = discover(client, "openstack-ansible", inventory=str(inventory))
        assert "start it with --inventory-dir" in refusal(response)


def test_simulated_discovery_counts_service_instances_against_the_cap(tmp_path: Path) -> None:
    # 20,000 controllers are 340,000 service instances: from a 100-byte request.
    server = ServerProcess(tmp_path / "cap.sqlite3", seed="empty").start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            discover_small(client, name="warm-up")
            rss_before = server.rss_bytes()
            started = time.monotonic()
            response = discover(client, "simulated", controllers="20000", computes="0", storage="0")
            assert time.monotonic() - started < FAST_SECONDS
            assert refusal(response) == (
                "controllers, computes, storage: 340000 service instances, more than this"
                " server's limit of 50000 (serve --max-instances)"
            )
            assert server.rss_bytes() - rss_before < MAX_RSS_GROWTH
            assert len(client.get("/clusters").json()) == 1
    finally:
        server.stop()


def test_max_instances_and_max_clusters_are_enforced(server_factory) -> None:
    # discover_small makes 1 controller (17 instances), 2 computes (4) and 1 storage node (4).
    server = server_factory(seed="empty", max_instances=25, max_clusters=2)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        discover_small(client, name="one")
        response = discover(client, "simulated", controllers="1", computes="3", storage="1")
        assert "27 service instances" in refusal(response)
        assert "limit of 25" in refusal(response)
        discover_small(client, name="two")
        third = discover(client, "simulated", controllers="1", computes="0", storage="0")
        assert third.status_code == 409, third.text
        assert "--max-clusters" in third.json()["message"]
        assert [c["name"] for c in client.get("/clusters").json()] == ["one", "two"]


def test_an_inventory_over_the_instance_cap_is_refused(server_factory) -> None:
    aio = Path(__file__).parent / "fixtures" / "osa-inventory-aio.json"
    server = server_factory(seed="empty", inventory_dirs=(aio.parent,), max_instances=5)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        response = discover(client, "openstack-ansible", inventory=str(aio))
        assert "limit of 5 (serve --max-instances)" in refusal(response)
        assert client.get("/clusters").json() == []
