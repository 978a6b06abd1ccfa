"""Server-side state awaited through the API: statuses and steps, on the one `wait_until`."""

from typing import Any

import httpx

from tests.support.waiting import wait_until

FINAL_STATUSES = ("UPGRADE SUCCEED", "UPGRADE CANCELLED")


def wait_for_status(
    client: httpx.Client, upgrade_id: str, *statuses: str, timeout: float = 20.0
) -> dict[str, Any]:
    """The upgrade once its status is one of `statuses`."""

    def reached() -> dict[str, Any] | None:
        upgrade = client.get(f"/upgrades/{upgrade_id}").json()
        return upgrade if upgrade["status"] in statuses else None

    return wait_until(reached, timeout=timeout)


def done_steps(client: httpx.Client, upgrade_id: str, direction: str = "upgrade") -> list[dict]:
    return [
        step
        for step in client.get(f"/upgrades/{upgrade_id}/steps").json()
        if step["direction"] == direction and step["outcome"] == "done"
    ]


def wait_for_steps(
    client: httpx.Client, upgrade_id: str, count: int, direction: str = "upgrade"
) -> list[dict]:
    """The done steps once there are at least `count` of them."""
    return wait_until(
        lambda: (
            (steps := done_steps(client, upgrade_id, direction)) and len(steps) >= count and steps
        )
    )


def cluster_named(client: httpx.Client, name: str) -> dict[str, Any]:
    return next(cluster for cluster in client.get("/clusters").json() if cluster["name"] == name)


def versions(client: httpx.Client, cluster_id: str) -> dict[str, str]:
    """service instance id -> version."""
    return {s["id"]: s["version"] for s in client.get(f"/clusters/{cluster_id}/services").json()}


def start_upgrade(
    client: httpx.Client, cluster_id: str, to_version: str = "newton", **fields: Any
) -> dict[str, Any]:
    response = client.post(
        "/upgrades", json={"cluster_id": cluster_id, "to_version": to_version, **fields}
    )
    assert response.status_code == 201, response.text
    return response.json()


def act(client: httpx.Client, upgrade: dict[str, Any], action: str) -> httpx.Response:
    return client.put(
        f"/upgrades/{upgrade['id']}", json={"cluster_id": upgrade["cluster_id"], "action": action}
    )


def discover_small(client: httpx.Client, name: str = "small", **parameters: str) -> dict:
    """A simulated cluster: 1 controller, 2 computes, 1 storage node at mitaka (25 instances)."""
    params = {"controllers": "1", "computes": "2", "storage": "1", "version": "mitaka"}
    params.update(parameters)
    response = client.post(
        "/clusters/discover", json={"name": name, "method": "simulated", "parameters": params}
    )
    assert response.status_code == 201, response.text
    return response.json()
