"""A poll that follows an upgrade through its step log re-derives only what the steps moved
(`snapshots.advance_snapshot`): for any fleet data, however inconsistent, and any
instances moved to any versions, the result is what deriving the new data from
nothing (`build_snapshot`) gives, field for field the screens read."""

from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kostyor_tui.api.models import Cluster, Host, Service, Upgrade
from kostyor_tui.service.snapshots import ClusterSnapshot, advance_snapshot, build_snapshot
from tests.properties.test_fleet_data_properties import RELEASES, fleets, versions

DERIVED = (
    "progress",
    "host_states",
    "components",
    "version_counts",
    "host_versions",
    "host_order",
    "status",
    "engine",
)
ENGINES = st.sampled_from([None, "node-by-node", "service-by-service", "parallel"])


def _snapshot(fleet: dict[str, Any], services: list[Service]) -> ClusterSnapshot:
    return build_snapshot(
        Cluster.model_validate(fleet["cluster"]),
        [Host.model_validate(h) for h in fleet["hosts"]],
        services,
        [Upgrade.model_validate({**u, "engine": fleet["engine"]}) for u in fleet["upgrades"]],
        datetime(2026, 11, 24, 23, 30),
        RELEASES,
    )


def _derived(snapshot: ClusterSnapshot) -> dict[str, Any]:
    # The mappings compare with their order: tables list hosts and versions in it.
    return {
        name: list(value.items()) if isinstance(value, dict) else value
        for name in DERIVED
        for value in [getattr(snapshot, name)]
    } | {"host_versions": [(k, list(v.items())) for k, v in snapshot.host_versions.items()]}


@settings(max_examples=400, deadline=None)
@given(
    fleet=fleets,
    engine=ENGINES,
    moves=st.lists(st.tuples(st.integers(0, 7), versions), max_size=6),
    then=st.lists(st.tuples(st.integers(0, 7), versions), max_size=3),
)
def test_advancing_equals_deriving_from_nothing(
    fleet: dict[str, Any],
    engine: str | None,
    moves: list[tuple[int, str | None]],
    then: list[tuple[int, str | None]],
) -> None:
    fleet = {**fleet, "engine": engine}
    services = [Service.model_validate(s) for s in fleet["services"]]
    snapshot = _snapshot(fleet, services)
    # Two polls in a row, the second advancing the first's advanced snapshot.
    for batch in (moves, then):
        moved = [position for position, _ in batch if position < len(services)]
        for position, version in batch:
            if position < len(services):
                services[position] = services[position].model_copy(update={"version": version})
        advanced = advance_snapshot(snapshot, services, moved, datetime(2026, 11, 24, 23, 31))
        assert _derived(advanced) == _derived(_snapshot(fleet, services))
        assert advanced.services == tuple(services)
        snapshot = advanced


def test_a_snapshot_without_its_topology_is_not_advanced() -> None:
    fleet = {
        "cluster": {"id": "c1", "name": "lab"},
        "hosts": [],
        "services": [],
        "upgrades": [],
        "engine": None,
    }
    bare = replace(_snapshot(fleet, []), topology=None)
    with pytest.raises(ValueError, match="topology"):
        advance_snapshot(bare, [], [], datetime(2026, 11, 24, 23, 31))
