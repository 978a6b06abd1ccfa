"""Arbitrary answers into the client: every call ends in a value or a KostyorError.

The answers come over real HTTP on loopback: a fault proxy whose only fault
answers every request with the generated status and body (its upstream is a
closed port and is never reached).
"""

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.api.errors import KostyorError
from tests.properties.test_models_properties import api_like_objects, json_values
from tests.support.faultproxy import Fault, FaultProxy

ClientCall = Callable[[KostyorClient], Awaitable[Any]]

CALLS: dict[str, ClientCall] = {
    "list_clusters": lambda c: c.list_clusters(),
    "get_cluster": lambda c: c.get_cluster("c1"),
    "resolve_cluster": lambda c: c.resolve_cluster("home_lab"),
    "list_hosts": lambda c: c.list_hosts("c1"),
    "list_services": lambda c: c.list_services("c1"),
    "list_discovery_methods": lambda c: c.list_discovery_methods(),
    "discover_cluster": lambda c: c.discover_cluster("simulated", "x", {"computes": "2"}),
    "list_upgrade_versions": lambda c: c.list_upgrade_versions("c1"),
    "list_all_versions": lambda c: c.list_all_versions(),
    "list_upgrades": lambda c: c.list_upgrades("c1"),
    "get_upgrade": lambda c: c.get_upgrade("u1"),
    "current_upgrade": lambda c: c.current_upgrade("c1"),
    "start_upgrade": lambda c: c.start_upgrade("c1", "newton"),
    "upgrade_action": lambda c: c.upgrade_action("c1", "pause"),
}

# Bodies: any JSON, lists of API-like objects, the old wrapped shape, and non-JSON bytes.
json_bodies = (
    json_values
    | st.lists(api_like_objects, max_size=4)
    | st.dictionaries(
        st.sampled_from(["clusters", "upgrades", "message", "errors"]),
        json_values | st.lists(api_like_objects, max_size=3),
        max_size=2,
    )
).map(lambda value: json.dumps(value).encode())
bodies = json_bodies | st.binary(max_size=100) | st.just(b"")
statuses = st.sampled_from([200, 201, 400, 401, 403, 404, 405, 500, 502, 503])


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def canned() -> Iterator[FaultProxy]:
    with FaultProxy(f"http://127.0.0.1:{_closed_port()}") as proxy:
        yield proxy


async def _call(url: str, call: ClientCall) -> Any:
    async with KostyorClient(url, timeout=5.0, discovery_timeout=5.0) as client:
        return await call(client)


@pytest.mark.parametrize("name", sorted(CALLS))
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    status=statuses, body=bodies, content_type=st.sampled_from(["application/json", "text/html"])
)
def test_any_answer_gives_a_value_or_a_kostyor_error(
    canned: FaultProxy, name: str, status: int, body: bytes, content_type: str
) -> None:
    canned.clear()
    canned.inject(Fault.respond(status, body, content_type))
    try:
        asyncio.run(_call(canned.url, CALLS[name]))
    except KostyorError as error:
        line = error.one_line()
        assert line
        assert "\n" not in line
