"""Whatever JSON (or not) a client sends, the server answers JSON and never a 5xx."""

from collections.abc import Iterator

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.servers import running_server

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = ["name", "method", "parameters", "cluster_id", "to_version", "engine", "driver", "action"]
# Bodies shaped like the real ones, with any values, get past "is it a JSON object".
shaped_bodies = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=5)
TARGETS = [("POST", "/upgrades"), ("POST", "/clusters/discover"), ("PUT", "/upgrades/{upgrade}")]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    db_path = tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite3"
    with (
        running_server(db_path, step_seconds=0.05) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        yield client


@settings(max_examples=150, deadline=None)
@given(
    target=st.sampled_from(TARGETS),
    body=st.one_of(json_values, shaped_bodies),
    raw=st.none() | st.binary(max_size=64),
)
def test_any_body_gets_a_json_answer_below_500(
    client: httpx.Client, target: tuple[str, str], body: object, raw: bytes | None
) -> None:
    upgrade = client.get("/upgrades").json()[0]["id"]
    method, path = target
    request = {"content": raw} if raw is not None else {"json": body}
    response = client.request(method, path.format(upgrade=upgrade), **request)
    assert response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/json"
    if response.status_code >= 400:
        assert isinstance(response.json()["message"], str)
