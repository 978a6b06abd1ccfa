"""The poller and the garbage collector: paused while a poll reads and derives, what is
alive frozen after it, and a full pass once memory has grown by `FULL_PASS_GROWTH`
(so that cyclic garbage frozen meanwhile is collected after all)."""

import gc
import sys
import weakref
from collections.abc import Iterator

import pytest

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.errors import KostyorTuiError
from kostyor_tui.service import poller
from tests.tui.conftest import wait_for


@pytest.fixture(autouse=True)
def _unfrozen_after() -> Iterator[None]:
    poller.collect_if_due()  # none due from an earlier test
    yield
    poller.collect_if_due()
    gc.unfreeze()
    gc.enable()


class Cyclic:
    def __init__(self) -> None:
        self.me = self


def _garbage() -> weakref.ref[Cyclic]:
    """A reference cycle nothing else refers to: only the collector can free it."""
    return weakref.ref(Cyclic())


def test_what_a_poll_leaves_alive_is_frozen_out_of_the_collectors_reach(server, monkeypatch):
    monkeypatch.setattr(poller, "FULL_PASS_GROWTH", 100.0)
    with KostyorClient(server.url) as client:
        poller.poll(client, [], {}, (), everything=True)
        alive = _garbage()
        poller.poll(client, [], {}, (), everything=True)
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
        gc.collect()
        assert alive() is not None  # frozen: no collection pays for it


def test_frozen_garbage_is_collected_by_the_pass_due_once_memory_grew(server, monkeypatch):
    monkeypatch.setattr(poller, "FULL_PASS_GROWTH", 0.0)  # any growth at all
    with KostyorClient(server.url) as client:
        poller.poll(client, [], {}, (), everything=True)
        gc.disable()  # nothing collects the garbage but the pass
        alive = _garbage()
        poller.poll(client, [], {}, (), everything=True)
        # Found due, but left to the caller: a poll's result is shown before the pass.
        assert poller.collection_due()
        assert alive() is not None
        poller.collect_if_due()
        assert alive() is None
        assert not poller.collection_due()


def test_the_pass_is_due_after_growth_by_a_quarter_and_not_before(server, monkeypatch):
    with KostyorClient(server.url) as client:
        # A pass due whatever the growth (after a second poll, if this is the first), run:
        # memory is counted from there.
        monkeypatch.setattr(poller, "FULL_PASS_GROWTH", 0.0)
        poller.poll(client, [], {}, (), everything=True)
        poller.poll(client, [], {}, (), everything=True)
        assert poller.collection_due()
        poller.collect_if_due()
        monkeypatch.setattr(poller, "FULL_PASS_GROWTH", 1.25)
        baseline = sys.getallocatedblocks()
        poller.poll(client, [], {}, (), everything=True)
        assert not poller.collection_due()  # a poll's own churn is no growth
        # Kept alive, as a newly opened big cluster's snapshot is (one block each).
        grown = [object() for _ in range(baseline * 15 // 100)]
        poller.poll(client, [], {}, (), everything=True)
        assert not poller.collection_due()  # 15%: not yet
        grown += [object() for _ in range(baseline * 20 // 100)]
        poller.poll(client, [], {}, (), everything=True)
        assert poller.collection_due()  # 35%
        del grown


async def test_the_console_runs_the_pass_a_poll_found_due(server, make_app, monkeypatch):
    monkeypatch.setattr(poller, "FULL_PASS_GROWTH", 0.0)
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.service.clusters, "a first poll")
        gc.disable()  # (the poll thread may be allocating: no collection in between)
        alive = _garbage()
        gc.freeze()  # out of every collection's reach but the full pass
        gc.enable()
        assert alive() is not None
        await wait_for(pilot, lambda: alive() is None, "the pass after a later poll")


def test_a_failed_poll_leaves_the_collector_enabled():
    client = KostyorClient("http://127.0.0.1:9/", timeout=2)
    with client, pytest.raises(KostyorTuiError):
        poller.poll(client, [], {}, (), everything=True)
    assert gc.isenabled()


def test_a_collector_disabled_by_someone_else_stays_disabled(server):
    gc.disable()
    with KostyorClient(server.url) as client:
        poller.poll(client, [], {}, (), everything=True)
    assert not gc.isenabled()
