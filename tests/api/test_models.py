"""The API models and status normalisation: nulls, extra fields, every spelling."""

from datetime import datetime

import pytest

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.api.models import Cluster, Host, Service, Step, Upgrade
from kostyor_tui.domain.statuses import Status, normalize_status
from tests.support.canned import Answer, canned_server, json_answer


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("UPGRADE IN PROGRESS", Status.IN_PROGRESS),
        ("UPGRADE_IN_PROGRESS", Status.IN_PROGRESS),
        ("upgrade in progress", Status.IN_PROGRESS),
        ("  Upgrade   In_Progress ", Status.IN_PROGRESS),
        ("ROLLBACK_IN_PROGRESS", Status.ROLLBACK_IN_PROGRESS),
        ("UPGRADE ROLLBACK IN PROGRESS", Status.ROLLBACK_IN_PROGRESS),
        ("READY FOR UPGRADE", Status.READY),
        ("NOT READY FOR UPGRADE", Status.NOT_READY),
        ("UPGRADE SUCCEED", Status.SUCCEEDED),
        ("pending", Status.IN_PROGRESS),
        ("running", Status.IN_PROGRESS),
        ("ready", Status.SUCCEEDED),
        ("error", Status.ERROR),
        ("EXPLODED", Status.UNKNOWN),
        ("", Status.UNKNOWN),
        (None, Status.UNKNOWN),
        (42, Status.UNKNOWN),
    ],
)
def test_normalize_status(raw: object, status: Status) -> None:
    assert normalize_status(raw) is status


def test_models_accept_nulls_extra_fields_and_numeric_ids() -> None:
    cluster = Cluster.model_validate(
        {"id": 7, "name": None, "status": "UPGRADE_PAUSED", "version": None, "region": "x"}
    )
    assert (cluster.id, cluster.name, cluster.status) == ("7", None, Status.PAUSED)
    assert cluster.raw_status == "UPGRADE_PAUSED"
    host = Host.model_validate({"id": 1, "hostname": None, "services": [3, "4"]})
    assert host.services == ["3", "4"]
    assert Service.model_validate({"id": "s", "hosts": None}).hosts == []
    upgrade = Upgrade.model_validate(
        {
            "id": "u",
            "status": None,
            "upgrade_start_time": "2026-11-24T23:08:16.123011",
            "upgrade_end_time": "not a time",
            "engine": "node-by-node",
        }
    )
    assert upgrade.status is Status.UNKNOWN and upgrade.raw_status is None
    assert upgrade.upgrade_start_time == datetime(2026, 11, 24, 23, 8, 16, 123011)
    assert upgrade.upgrade_end_time is None


def test_step_accepts_nulls_and_an_unparsable_time() -> None:
    step = Step.model_validate({"position": 3, "service_id": 9, "at": "yesterday", "x": 1})
    assert (step.position, step.service_id, step.at, step.outcome) == (3, "9", None, None)


def test_ids_are_one_path_segment() -> None:
    """docs/kostyor-api.md#resources: an id is one path segment, whatever it contains."""

    def handler(method, path, query, headers, body) -> Answer:
        return json_answer(200, {"id": "a/b?c", "name": "odd"})

    with canned_server(handler) as server:
        with KostyorClient(server.url + "/api/") as client:
            assert client.get_cluster("a/b?c").name == "odd"
            assert client.get_upgrade("x/../y").id == "a/b?c"
        paths = [request.path for request in server.requests]
    assert paths == ["/api/clusters/a%2Fb%3Fc", "/api/upgrades/x%2F..%2Fy"]
