"""The rehearsal's tests run `kostyor-tui rehearse` in-process, as the headless tests run
commands (their `cli` fixture, and a config file of their own)."""

from pathlib import Path

from kostyor_tui.domain.order import Instance, engine_order
from kostyor_tui.server.topology import HostSpec
from tests.headless.conftest import cli, config_file

__all__ = ["cli", "config_file"]

# A copy of the shared fixture: a real OpenStack-Ansible all-in-one dynamic inventory.
AIO_INVENTORY = Path(__file__).parent.parent / "server" / "fixtures" / "osa-inventory-aio.json"


def expected_order(hosts: list[HostSpec], engine: str) -> list[tuple[str, str]]:
    """(host, service) of every instance in the engine's order, from domain.order alone."""
    instances = [
        Instance(f"{host.hostname}/{name}", name, host.hostname, host.hostname, "mitaka")
        for host in hosts
        for name in host.services
    ]
    return [(i.hostname, i.name) for i in engine_order(instances, engine)]


def forward_steps(plan: dict) -> list[tuple[str, str]]:
    return [(s["host"], s["service"]) for s in plan["steps"] if s["direction"] == "upgrade"]
