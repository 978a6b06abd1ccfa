"""The console re-reads lists of tens of thousands of instances at every poll: an answer
the same, byte for byte, as the last one to that request is not validated again, and
gives the same (frozen) objects back."""

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.service.poller import poll
from tests.support.waiting import wait_until


def test_an_unchanged_answer_gives_the_same_objects_without_validating_again(server):
    with KostyorClient(server.url) as client:
        cluster = next(c for c in client.list_clusters() if c.name == "home_lab")
        assert cluster.id is not None
        hosts = client.list_hosts(cluster.id)
        validated = client.validations
        again = client.list_hosts(cluster.id)
        assert client.validations == validated
        assert again == hosts
        assert all(a is b for a, b in zip(again, hosts, strict=True))
        again.clear()  # each caller gets a list of its own
        assert client.list_hosts(cluster.id) == hosts


def test_a_changed_answer_is_validated_again(server):
    with KostyorClient(server.url) as client:
        cluster = next(c for c in client.list_clusters() if c.name == "home_lab")
        assert cluster.id is not None
        before = client.list_services(cluster.id)
        client.create_upgrade(cluster.id, "newton")
        validated = client.validations

        def moved() -> bool:
            return client.list_services(cluster.id) != before

        wait_until(moved, "a service upgraded")
        assert client.validations > validated
        assert any(service.version == "newton" for service in client.list_services(cluster.id))


def test_polls_of_unchanged_answers_keep_the_snapshot_and_validate_nothing(server):
    with KostyorClient(server.url) as client:
        cluster = next(c for c in client.list_clusters() if c.name == "home_lab")
        assert cluster.id is not None
        first = poll(client, [cluster.id], {}, (), everything=True)
        snapshot = first.watched[cluster.id]
        assert snapshot is not None and snapshot.hosts
        validated = client.validations
        # Everything re-read (as after `r`): the answers come back the same.
        second = poll(client, [cluster.id], {cluster.id: snapshot}, first.releases, everything=True)
        assert second.watched[cluster.id] is snapshot
        assert client.validations == validated
