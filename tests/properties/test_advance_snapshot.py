"""A poll that follows an upgrade through its step log re-derives only what the steps moved
(`snapshots.advance_snapshot`): for any fleet data, however inconsistent, and any
instances moved to any versions, the result is what deriving the new data from
nothing (`build_snapshot`) gives, field for field the screens read; and the hosts
tab, redrawing only the hosts it says moved, shows what it would drawing them all."""

from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kostyor_tui.api.models import Cluster, Host, Service, Upgrade
from kostyor_tui.service.snapshots import ClusterSnapshot, advance_snapshot, build_snapshot
from kostyor_tui.widgets.cluster_detail import HostRowCache, host_table_rows, moved_host_rows
from tests.properties.test_fleet_data_properties import RELEASES, _styled, fleets, versions

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
        advanced = advance_snapshot(
            snapshot, services, moved, datetime(2026, 11, 24, 23, 31), snapshot.upgrades
        )
        assert _derived(advanced) == _derived(_snapshot(fleet, services))
        assert advanced.services == tuple(services)
        assert _hosts_tab_after(snapshot, advanced) == _styled(host_table_rows(advanced))
        snapshot = advanced


def _hosts_tab_after(shown: ClusterSnapshot, advanced: ClusterSnapshot) -> list[object]:
    """The hosts tab's rows once it showed `shown` and then `advanced` came, as
    ClusterDetail updates it: only the hosts `advanced` says moved, when it can say."""
    known: HostRowCache = {}
    table = dict(host_table_rows(shown, known))
    moved = advanced.hosts_moved_since(shown)
    if moved is None:
        table = dict(host_table_rows(advanced, known))
    else:
        assert moved <= table.keys()
        table.update(moved_host_rows(advanced, moved, known))
    return _styled(list(table.items()))


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
        advance_snapshot(bare, [], [], datetime(2026, 11, 24, 23, 31), ())
