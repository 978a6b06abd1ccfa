"""Discovery methods: turn `parameters` (strings, from key=value) into hosts and services.

`simulated` generates a role-based topology; `openstack-ansible` reads an
OpenStack-Ansible dynamic inventory JSON file on the server's host.
"""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kostyor_tui.domain.lifecycle import UNKNOWN_VERSION
from kostyor_tui.server import releases
from kostyor_tui.server.errors import BadRequest
from kostyor_tui.server.topology import HostSpec, role_based_hosts

# Enough for the 2,000-host benchmark fleet with room to spare.
MAX_SIMULATED_HOSTS = 20_000


@dataclass(frozen=True)
class Discovered:
    version: str
    hosts: list[HostSpec]


def _parameter_error(name: str, problem: str) -> BadRequest:
    return BadRequest(
        f"Invalid discovery parameter {name!r}: {problem}", {"parameters": [f"{name}: {problem}"]}
    )


def _reject_unknown(parameters: Mapping[str, str], known: set[str]) -> None:
    for name in parameters:
        if name not in known:
            allowed = ", ".join(sorted(known))
            raise _parameter_error(name, f"unknown parameter (known: {allowed})")


def _version(parameters: Mapping[str, str], default: str) -> str:
    version = parameters.get("version", default).strip().lower()
    if version != UNKNOWN_VERSION and not releases.is_known(version):
        raise _parameter_error("version", f"unallowed value {version}")
    return version


def _count(parameters: Mapping[str, str], name: str, default: int) -> int:
    raw = parameters.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _parameter_error(name, "must be a non-negative integer") from None
    if value < 0:
        raise _parameter_error(name, "must be a non-negative integer")
    return value


def discover_simulated(parameters: Mapping[str, str]) -> Discovered:
    _reject_unknown(parameters, {"controllers", "computes", "storage", "version"})
    controllers = _count(parameters, "controllers", 3)
    computes = _count(parameters, "computes", 20)
    storage = _count(parameters, "storage", 2)
    if controllers + computes + storage > MAX_SIMULATED_HOSTS:
        raise _parameter_error("computes", f"at most {MAX_SIMULATED_HOSTS} hosts in all")
    return Discovered(
        version=_version(parameters, "mitaka"),
        hosts=role_based_hosts(controllers, computes, storage),
    )


def _swift(prefix: str, daemons: str) -> tuple[str, ...]:
    return tuple(f"swift-{prefix}-{daemon}" for daemon in daemons.split())


# OpenStack-Ansible inventory group -> the services it stands for (contract section 4).
OSA_GROUP_SERVICES: dict[str, tuple[str, ...]] = {
    "keystone": ("keystone-wsgi-admin", "keystone-wsgi-public"),
    "glance_api": ("glance-api",),
    "glance_registry": ("glance-registry",),
    "nova_conductor": ("nova-conductor",),
    "nova_scheduler": ("nova-scheduler",),
    "nova_cert": ("nova-cert",),
    "nova_console": ("nova-spicehtml5proxy", "nova-consoleauth"),
    "nova_api_metadata": ("nova-api-metadata",),
    "nova_api_os_compute": ("nova-api-os-compute",),
    "nova_compute": ("nova-compute",),
    "neutron_server": ("neutron-server",),
    **{
        group: (group.replace("_", "-"),)
        for group in (
            "neutron_openvswitch_agent",
            "neutron_linuxbridge_agent",
            "neutron_l3_agent",
            "neutron_dhcp_agent",
            "neutron_metering_agent",
            "neutron_metadata_agent",
            "cinder_api",
            "cinder_scheduler",
            "cinder_volume",
            "heat_api",
            "heat_api_cfn",
            "heat_api_cloudwatch",
            "heat_engine",
        )
    },
    "horizon": ("horizon-wsgi",),
    "swift_proxy": ("swift-proxy-server",),
    "swift_acc": _swift("account", "auditor reaper replicator server"),
    "swift_cont": _swift("container", "auditor reconciler replicator server sync updater"),
    "swift_obj": _swift("object", "auditor expirer reconstructor replicator server updater"),
}


def _group_hosts(inventory: dict[str, Any], group: str, seen: set[str]) -> set[str]:
    """Hosts of a group, including those of its children (cycles are ignored)."""
    if group in seen:
        return set()
    seen.add(group)
    entry = inventory.get(group)
    if isinstance(entry, list):  # the short form: a group that is just a list of hosts
        return {host for host in entry if isinstance(host, str)}
    if not isinstance(entry, dict):
        return set()
    hosts = {host for host in entry.get("hosts") or [] if isinstance(host, str)}
    for child in entry.get("children") or []:
        if isinstance(child, str):
            hosts |= _group_hosts(inventory, child, seen)
    return hosts


def osa_hosts(inventory: dict[str, Any]) -> list[HostSpec]:
    """Machines (containers rolled up to their `physical_host`) and their services."""
    meta = inventory.get("_meta")
    hostvars = meta.get("hostvars") if isinstance(meta, dict) else None
    if not isinstance(hostvars, dict):
        hostvars = {}

    def machine_of(host: str) -> str:
        variables = hostvars.get(host)
        physical = variables.get("physical_host") if isinstance(variables, dict) else None
        return physical if isinstance(physical, str) and physical else host

    services_by_machine: dict[str, list[str]] = {}
    for group, services in OSA_GROUP_SERVICES.items():
        for host in _group_hosts(inventory, group, set()):
            names = services_by_machine.setdefault(machine_of(host), [])
            names.extend(service for service in services if service not in names)
    return [
        HostSpec(machine, tuple(services))
        for machine, services in sorted(services_by_machine.items())
    ]


def discover_openstack_ansible(parameters: Mapping[str, str]) -> Discovered:
    _reject_unknown(parameters, {"inventory", "version"})
    path_text = parameters.get("inventory", "").strip()
    if not path_text:
        raise BadRequest(
            "The openstack-ansible method needs inventory=PATH (a dynamic inventory JSON file)",
            {"parameters": ["inventory: required field"]},
        )
    path = Path(path_text).expanduser()
    try:
        inventory = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise _parameter_error("inventory", f"cannot read {path}: {error.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _parameter_error("inventory", f"{path} is not a JSON inventory") from None
    if not isinstance(inventory, dict):
        raise _parameter_error("inventory", f"{path} is not a JSON inventory")
    return Discovered(version=_version(parameters, UNKNOWN_VERSION), hosts=osa_hosts(inventory))


METHODS: dict[str, Callable[[Mapping[str, str]], Discovered]] = {
    "simulated": discover_simulated,
    "openstack-ansible": discover_openstack_ansible,
}
