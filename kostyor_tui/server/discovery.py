"""Discovery methods: turn `parameters` (strings, from key=value) into hosts and services.

`simulated` generates a role-based topology; `openstack-ansible` reads an
OpenStack-Ansible dynamic inventory JSON file on the server's host, only from the
directories the server was told to allow (`serve --inventory-dir`).

Every parameter is checked before the disk is touched. A path outside the allowed
directories is refused with one message whatever is there (nothing, a directory, a
device, a secret), so that discovery cannot be used to probe the server's files.
"""

import json
import os
import re
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kostyor_tui.domain.lifecycle import UNKNOWN_VERSION
from kostyor_tui.server import releases
from kostyor_tui.server.errors import BadRequest
from kostyor_tui.server.topology import (
    COMPUTE_SERVICES,
    CONTROLLER_SERVICES,
    STORAGE_SERVICES,
    HostSpec,
    role_based_hosts,
)

# Enough for the 2,000-host, 30,000-instance benchmark fleet.
DEFAULT_MAX_INSTANCES = 50_000
# A 500-host OpenStack-Ansible inventory is a few megabytes.
MAX_INVENTORY_BYTES = 16 * 1024 * 1024
INVENTORY_READ_SECONDS = 5.0
_READ_CHUNK_BYTES = 1024 * 1024
# What a host name in an inventory may look like (OpenStack-Ansible's container names
# have underscores); anything else is refused, never stored.
_HOST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,252}")

_OUT_OF_BOUNDS = (
    "not a file this server reads inventories from (regular files inside the directories"
    " given to serve --inventory-dir)"
)


@dataclass(frozen=True)
class Limits:
    """What discovery may read and how big a cluster it may make."""

    inventory_dirs: tuple[Path, ...] = ()
    max_instances: int = DEFAULT_MAX_INSTANCES


@dataclass(frozen=True)
class Discovered:
    version: str
    hosts: list[HostSpec]

    @property
    def instances(self) -> int:
        return sum(len(host.services) for host in self.hosts)


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


def _check_instances(count: int, limits: Limits, name: str) -> None:
    if count > limits.max_instances:
        raise _parameter_error(
            name,
            f"{count} service instances, more than this server's limit of"
            f" {limits.max_instances} (serve --max-instances)",
        )


def discover_simulated(parameters: Mapping[str, str], limits: Limits) -> Discovered:
    _reject_unknown(parameters, {"controllers", "computes", "storage", "version"})
    controllers = _count(parameters, "controllers", 3)
    computes = _count(parameters, "computes", 20)
    storage = _count(parameters, "storage", 2)
    version = _version(parameters, "mitaka")
    # Counted before anything is built: a few bytes of request must not make millions.
    instances = (
        controllers * len(CONTROLLER_SERVICES)
        + computes * len(COMPUTE_SERVICES)
        + storage * len(STORAGE_SERVICES)
    )
    _check_instances(instances, limits, "controllers, computes, storage")
    return Discovered(version=version, hosts=role_based_hosts(controllers, computes, storage))


def _swift(prefix: str, daemons: str) -> tuple[str, ...]:
    return tuple(f"swift-{prefix}-{daemon}" for daemon in daemons.split())


# OpenStack-Ansible inventory group -> the services it stands for
# (docs/kostyor-api.md#osa-inventory).
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


def _group_hosts(inventory: dict[str, Any], group: str) -> set[str]:
    """Hosts of a group, including those of its children, however deep (a loop, not
    recursion: the file may hold a chain of any length); cycles are ignored."""
    hosts: set[str] = set()
    seen: set[str] = set()
    groups = [group]
    while groups:
        name = groups.pop()
        if name in seen:
            continue
        seen.add(name)
        entry = inventory.get(name)
        if isinstance(entry, list):  # the short form: a group that is just a list of hosts
            hosts.update(host for host in entry if isinstance(host, str))
        elif isinstance(entry, dict):
            hosts.update(host for host in _members(entry.get("hosts")) if isinstance(host, str))
            groups.extend(
                child for child in _members(entry.get("children")) if isinstance(child, str)
            )
    return hosts


def _members(value: Any) -> list[Any]:
    """A group's hosts or children: a list, or the keys of an object (YAML's form)."""
    return list(value) if isinstance(value, list | dict) else []


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
        for host in _group_hosts(inventory, group):
            names = services_by_machine.setdefault(machine_of(host), [])
            names.extend(service for service in services if service not in names)
    return [
        HostSpec(machine, tuple(services))
        for machine, services in sorted(services_by_machine.items())
    ]


def _inventory_path(parameters: Mapping[str, str], limits: Limits) -> Path:
    """The file `inventory=` names, if it lies inside an allowed directory (else a 400)."""
    text = parameters.get("inventory", "").strip()
    if not text:
        raise BadRequest(
            "The openstack-ansible method needs inventory=PATH (a dynamic inventory JSON file)",
            {"parameters": ["inventory: required field"]},
        )
    return allowed_inventory_path(text, limits)


def allowed_inventory_path(text: str, limits: Limits) -> Path:
    """`text` as the path of an inventory file, if it lies inside an allowed directory
    (else a 400 about the `inventory` parameter)."""
    if not limits.inventory_dirs:
        raise _parameter_error(
            "inventory", "this server reads no inventory files (start it with --inventory-dir)"
        )
    if not os.path.isabs(text):
        raise _parameter_error("inventory", "must be an absolute path")
    # First by the name alone, so that a path outside is refused without touching the
    # disk; then with links resolved, so that no link leads outside.
    lexical = os.path.normpath(text)
    if not any(_inside(lexical, directory) for directory in limits.inventory_dirs):
        raise _parameter_error("inventory", _OUT_OF_BOUNDS)
    resolved = os.path.realpath(lexical)
    if not any(_inside(resolved, os.path.realpath(d)) for d in limits.inventory_dirs):
        raise _parameter_error("inventory", _OUT_OF_BOUNDS)
    return Path(resolved)


def _inside(path: str, directory: Path | str) -> bool:
    """Whether absolute `path` is `directory` or below it (both absolute)."""
    return os.path.commonpath([path, directory]) == os.path.normpath(directory)


def read_inventory_file(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_INVENTORY_BYTES, read within
    INVENTORY_READ_SECONDS; a 400 otherwise. Never blocks on a FIFO or reads a device."""
    try:
        # Looked at before opening: opening some devices has effects of its own.
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise _parameter_error("inventory", "not a regular file")
        # What is opened is checked again. O_NONBLOCK: opening a FIFO put there meanwhile
        # does not wait for a writer; O_NOFOLLOW: nor is a link put there followed.
        descriptor = os.open(
            path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_NOFOLLOW | os.O_CLOEXEC
        )
    except FileNotFoundError:
        raise _parameter_error("inventory", "no such file") from None
    except OSError as error:
        raise _parameter_error("inventory", f"cannot be opened: {error.strerror}") from None
    try:
        found = os.fstat(descriptor)
        if not stat.S_ISREG(found.st_mode):
            raise _parameter_error("inventory", "not a regular file")
        if found.st_size > MAX_INVENTORY_BYTES:
            raise _parameter_error("inventory", f"larger than {MAX_INVENTORY_BYTES} bytes")
        chunks: list[bytes] = []
        size = 0
        deadline = time.monotonic() + INVENTORY_READ_SECONDS
        # One byte more than allowed: a file that grew since fstat is caught too.
        while size <= MAX_INVENTORY_BYTES:
            if time.monotonic() > deadline:
                raise _parameter_error(
                    "inventory", f"not read within {INVENTORY_READ_SECONDS:g} seconds"
                )
            chunk = os.read(descriptor, min(_READ_CHUNK_BYTES, MAX_INVENTORY_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_INVENTORY_BYTES:
            raise _parameter_error("inventory", f"larger than {MAX_INVENTORY_BYTES} bytes")
        return b"".join(chunks)
    except OSError as error:
        raise _parameter_error("inventory", f"cannot be read: {error.strerror}") from None
    finally:
        os.close(descriptor)


def discover_openstack_ansible(parameters: Mapping[str, str], limits: Limits) -> Discovered:
    _reject_unknown(parameters, {"inventory", "version"})
    version = _version(parameters, UNKNOWN_VERSION)
    path = _inventory_path(parameters, limits)
    return Discovered(version=version, hosts=inventory_hosts(path, limits))


def inventory_hosts(path: Path, limits: Limits) -> list[HostSpec]:
    """The machines and services of the inventory file at `path`, an allowed path (see
    `allowed_inventory_path`); a 400 about the `inventory` parameter if it cannot be used."""
    try:
        inventory = json.loads(read_inventory_file(path))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _parameter_error("inventory", "not a JSON inventory") from None
    except RecursionError:
        raise _parameter_error("inventory", "nested too deeply") from None
    except ValueError:  # Python reads no integer of over 4,300 digits
        raise _parameter_error("inventory", "holds a number too long to read") from None
    if not isinstance(inventory, dict):
        raise _parameter_error("inventory", "not a JSON inventory (an object of groups)")
    hosts = osa_hosts(inventory)
    misnamed = sum(not _HOST_NAME.fullmatch(host.hostname) for host in hosts)
    if misnamed:
        # The names are not repeated: the file may hold anything, secrets included.
        raise _parameter_error(
            "inventory",
            f"{misnamed} host name(s) are not host names (letters, digits, '.', '-', '_')",
        )
    _check_instances(sum(len(host.services) for host in hosts), limits, "inventory")
    return hosts


METHODS: dict[str, Callable[[Mapping[str, str], Limits], Discovered]] = {
    "simulated": discover_simulated,
    "openstack-ansible": discover_openstack_ansible,
}
