"""Long list answers are validated in pieces of whole objects (`validate_list`): pydantic
parses what it is given into a tree of its own first, and holds the interpreter lock
throughout a call. The items are those of the whole answer validated at once, whatever
the answer.

The equivalence comes over real HTTP from a canned server; the pieces themselves are
seen by an adapter that records what it is given (pydantic's own, wrapped)."""

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kostyor_tui.api import client as client_module
from kostyor_tui.api.client import KostyorClient, validate_list
from kostyor_tui.api.errors import KostyorError
from kostyor_tui.api.models import Service, adapter
from tests.properties.test_models_properties import FIELD_NAMES, json_values
from tests.support.canned import CannedServer, SettableAnswer

# Text that reads like a cut between two objects, inside strings and keys.
cut_like = st.sampled_from(["},{", "} , {", "}\n,\n{", '"},{"', '\\"},{\\"', "a},{b"])
text = st.text(max_size=6) | cut_like
services = st.fixed_dictionaries(
    {
        "id": st.integers(0, 10**6).map(str) | text,
        "name": text,
        "version": text | st.none(),
        "hosts": st.lists(text, max_size=2) | st.none(),
    }
)
# Objects holding objects (a cut inside one is not between the array's objects), and
# anything else an object of the API might hold.
odd_objects = st.dictionaries(
    st.sampled_from(FIELD_NAMES) | text,
    json_values | text | st.lists(st.dictionaries(text, text, max_size=2), max_size=3),
    max_size=4,
)
# Around the array and between its objects: JSON's whitespace, and bytes that are not.
spaces = st.sampled_from(["", " ", "\n", "\r\n", "\t", "\x0b", "\x0c", "\xa0"])
answers = st.builds(
    lambda items, separator, before, after: (
        before + "[" + separator.join(json.dumps(item) for item in items) + "]" + after
    ).encode(),
    st.lists(services | odd_objects, max_size=8),
    st.builds(lambda a, b: a + "," + b, spaces, spaces),
    spaces,
    spaces,
)


def _services(url: str) -> Any:
    with KostyorClient(url, timeout=5.0) as client:
        try:
            return client.list_services("c1")
        except KostyorError as error:
            return error.one_line()


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=answers, piece_bytes=st.integers(1, 200))
def test_a_list_read_in_pieces_is_the_list_read_at_once(
    settable_server: tuple[SettableAnswer, CannedServer], monkeypatch, body: bytes, piece_bytes: int
) -> None:
    answers, server = settable_server
    answers.answer = (200, {"Content-Type": "application/json"}, body)
    monkeypatch.setattr(client_module, "LIST_PIECE_BYTES", 10**9)
    at_once = _services(server.url)
    monkeypatch.setattr(client_module, "LIST_PIECE_BYTES", piece_bytes)
    assert _services(server.url) == at_once


@pytest.mark.parametrize("separator", [",\x0b", "\x0c,", ",\u00a0", "\u2028,"])
def test_objects_apart_by_what_json_does_not_allow_are_refused_in_pieces_too(
    settable_server: tuple[SettableAnswer, CannedServer], monkeypatch, separator: str
) -> None:
    answers, server = settable_server
    items = (json.dumps({"id": str(n), "name": "nova-compute"}) for n in range(4))
    body = ("[" + separator.join(items) + "]").encode()
    answers.answer = (200, {"Content-Type": "application/json"}, body)
    monkeypatch.setattr(client_module, "LIST_PIECE_BYTES", 10**9)
    at_once = _services(server.url)
    assert isinstance(at_once, str)  # refused: not JSON
    monkeypatch.setattr(client_module, "LIST_PIECE_BYTES", 1)
    assert _services(server.url) == at_once


class Recording:
    """pydantic's validator of a list of services, recording each body it validates."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self._adapter = adapter(list[Service])

    def validate_json(self, body: bytes) -> list[Service]:
        self.bodies.append(body)
        return self._adapter.validate_json(body)


def _answer(*names: str, separators: tuple[str, str] = (",", ":")) -> bytes:
    items = [{"id": str(n), "name": name, "hosts": ["h"]} for n, name in enumerate(names)]
    return json.dumps(items, separators=separators).encode()


def test_a_long_list_is_validated_in_pieces_of_whole_objects(monkeypatch):
    monkeypatch.setattr(client_module, "LIST_PIECE_BYTES", 60)
    body = _answer(*(f"nova-compute-{n}" for n in range(10)), separators=(", ", ": "))
    recording = Recording()
    services = validate_list(recording, body)  # type: ignore[arg-type]
    assert [s.name for s in services] == [f"nova-compute-{n}" for n in range(10)]
    assert len(recording.bodies) > 2
    assert sum(len(json.loads(piece)) for piece in recording.bodies) == 10  # whole objects


def test_a_cut_inside_a_string_validates_the_whole_answer_at_once(monkeypatch):
    monkeypatch.setattr(client_module, "LIST_PIECE_BYTES", 1)
    body = _answer("a},{b", "c")
    recording = Recording()
    services = validate_list(recording, body)  # type: ignore[arg-type]
    assert [s.name for s in services] == ["a},{b", "c"]
    assert recording.bodies[-1] == body


def test_a_short_list_is_validated_at_once():
    body = _answer("nova-compute", "keystone")
    recording = Recording()
    validate_list(recording, body)  # type: ignore[arg-type]
    assert recording.bodies == [body]
