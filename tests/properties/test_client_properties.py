"""Arbitrary answers into the client and the operations: every call ends in a value or a
kostyor-tui error, whose line has no control character.

The answers come over real HTTP on loopback: a canned server (module-wide)
whose handler answers every request with the generated status, content type
and body. The client's calls may raise only `KostyorError`; the operations'
may also raise their own refusals (`Refused`, `AmbiguousName`), which share
the base `KostyorTuiError`.
"""

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.api.errors import KostyorError
from kostyor_tui.api.models import Cluster
from kostyor_tui.domain.lifecycle import Action
from kostyor_tui.domain.text import has_control_characters
from kostyor_tui.errors import KostyorTuiError
from kostyor_tui.operations import Operations, Recheck
from tests.properties.test_models_properties import api_like_objects, json_values
from tests.support.canned import CannedServer, SettableAnswer

ClientCall = Callable[[KostyorClient], Any]
OpsCall = Callable[[Operations], Any]

CLUSTER = Cluster(id="c1", name="home_lab")

CLIENT_CALLS: dict[str, ClientCall] = {
    "list_clusters": lambda c: c.list_clusters(),
    "get_cluster": lambda c: c.get_cluster("c1"),
    "list_hosts": lambda c: c.list_hosts("c1"),
    "list_services": lambda c: c.list_services("c1"),
    "list_discovery_methods": lambda c: c.list_discovery_methods(),
    "discover_cluster": lambda c: c.discover_cluster("simulated", "x", {"computes": "2"}),
    "list_upgrade_versions": lambda c: c.list_upgrade_versions("c1"),
    "list_all_versions": lambda c: c.list_all_versions(),
    "list_upgrades": lambda c: c.list_upgrades("c1"),
    "get_upgrade": lambda c: c.get_upgrade("u1"),
    "create_upgrade": lambda c: c.create_upgrade("c1", "newton"),
    "act_on_upgrade": lambda c: c.act_on_upgrade("u1", "c1", "pause"),
    "upgrade_steps": lambda c: c.upgrade_steps("u1"),
}
OPS_CALLS: dict[str, OpsCall] = {
    "resolve_cluster": lambda o: o.resolve_cluster("home_lab"),
    "read_cluster": lambda o: o.read_cluster("c1"),
    "current_upgrade": lambda o: o.current_upgrade("c1"),
    "upgrade": lambda o: o.upgrade("u1"),
    "upgrades": lambda o: o.upgrades(),
    "start_upgrade": lambda o: o.start_upgrade(CLUSTER, "newton"),
    "start_upgrade_forced": lambda o: o.start_upgrade(CLUSTER, "newton", force=True),
    "act": lambda o: o.act(CLUSTER, Action.PAUSE),
    "act_forced": lambda o: o.act(CLUSTER, Action.ROLLBACK, force=True),
    "discover": lambda o: o.discover("simulated", "x", {"computes": "2"}),
}

# Bodies: any JSON, lists of API-like objects, the old wrapped shape, and non-JSON bytes.
json_bodies = (
    json_values
    | st.lists(api_like_objects, max_size=4)
    | st.dictionaries(
        st.sampled_from(["clusters", "upgrades", "hosts", "message", "errors"]),
        json_values | st.lists(api_like_objects, max_size=3),
        max_size=2,
    )
).map(lambda value: json.dumps(value).encode())
bodies = json_bodies | st.binary(max_size=100) | st.just(b"")
statuses = st.sampled_from([200, 201, 400, 401, 403, 404, 405, 429, 500, 502, 503])
content_types = st.sampled_from(["application/json", "text/html"])


def _check(error: KostyorTuiError) -> None:
    line = error.one_line()
    assert line
    assert "\n" not in line
    assert not has_control_characters(line), repr(line)


SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("name", sorted(CLIENT_CALLS))
@SETTINGS
@given(status=statuses, body=bodies, content_type=content_types)
def test_any_answer_gives_the_client_a_value_or_a_kostyor_error(
    settable_server: tuple[SettableAnswer, CannedServer],
    name: str,
    status: int,
    body: bytes,
    content_type: str,
) -> None:
    answers, server = settable_server
    answers.answer = (status, {"Content-Type": content_type}, body)
    with KostyorClient(server.url, timeout=5.0, discovery_timeout=5.0) as client:
        try:
            CLIENT_CALLS[name](client)
        except KostyorError as error:
            _check(error)


@pytest.mark.parametrize("name", sorted(OPS_CALLS))
@SETTINGS
@given(status=statuses, body=bodies, content_type=content_types)
def test_any_answer_gives_the_operations_a_value_or_a_kostyor_tui_error(
    settable_server: tuple[SettableAnswer, CannedServer],
    name: str,
    status: int,
    body: bytes,
    content_type: str,
) -> None:
    answers, server = settable_server
    answers.answer = (status, {"Content-Type": content_type}, body)
    with KostyorClient(server.url, timeout=5.0, discovery_timeout=5.0) as client:
        ops = Operations(client, recheck=Recheck(attempts=2, interval=0), sleep=lambda _: None)
        try:
            OPS_CALLS[name](ops)
        except KostyorTuiError as error:
            _check(error)
