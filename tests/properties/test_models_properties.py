"""Arbitrary JSON into the API models and the status normaliser.

Whatever a server sends, the models either give a value or raise pydantic's
ValidationError (which the client turns into its own ProtocolError); the
normaliser always gives a Status. Nothing else may escape.
"""

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from kostyor_tui.api.models import Cluster, Host, Service, Step, Upgrade
from kostyor_tui.domain.statuses import Status, normalize_status

# What json.loads can produce, NaN and infinities included (Python accepts them).
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)

MODELS: list[type[BaseModel]] = [Cluster, Host, Service, Upgrade, Step]
FIELD_NAMES = sorted({name for model in MODELS for name in model.model_fields} | {"status"})
status_spellings = st.sampled_from(
    [s.value for s in Status if s is not Status.UNKNOWN]
    + ["UPGRADE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "pending", "running", "ready", "error"]
)

# Objects that look like API objects: known keys, any JSON (or a real status) as values.
api_like_objects = st.dictionaries(
    st.sampled_from(FIELD_NAMES) | st.text(max_size=8),
    json_values | status_spellings | st.just("2026-11-24T23:08:16.123011"),
    max_size=len(FIELD_NAMES),
)


def _check_valid_instance(instance: BaseModel) -> None:
    data: dict[str, Any] = dict(instance)
    if "status" in data:
        assert isinstance(data["status"], Status)
        assert data["raw_status"] is None or isinstance(data["raw_status"], str)
    for name in ("id", "name", "hostname", "cluster_id", "version", "service_id", "service"):
        if name in data:
            assert data[name] is None or isinstance(data[name], str)
    for name in ("services", "hosts"):
        if name in data:
            assert all(isinstance(item, str) for item in data[name])
    if "position" in data:
        assert data["position"] is None or isinstance(data["position"], int)


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
@settings(max_examples=300, deadline=None)
@given(payload=json_values | api_like_objects)
def test_models_accept_or_reject_cleanly(model: type[BaseModel], payload: Any) -> None:
    try:
        instance = model.model_validate(payload)
    except ValidationError:
        return
    _check_valid_instance(instance)


@settings(max_examples=500, deadline=None)
@given(raw=json_values | status_spellings)
def test_normalize_status_always_gives_a_status(raw: Any) -> None:
    assert isinstance(normalize_status(raw), Status)


@given(raw=status_spellings, lower=st.booleans(), padding=st.sampled_from(["", " ", "  "]))
def test_known_spellings_are_never_unknown(raw: str, lower: bool, padding: str) -> None:
    spelled = padding + (raw.lower() if lower else raw) + padding
    assert normalize_status(spelled) is not Status.UNKNOWN
    assert normalize_status(spelled) is normalize_status(raw)
