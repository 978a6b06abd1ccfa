"""What Kostyor knows about OpenStack itself: which project a service belongs to,
and the order in which projects are upgraded.

Shared by the client side (progress) and the embedded server (engine), which
must agree on the engine order; it imports nothing from either.
"""

from collections.abc import Iterable

# Controllers before computes before storage, in the project's own order.
PROJECT_ORDER: tuple[str, ...] = (
    "keystone",
    "glance",
    "nova",
    "neutron",
    "cinder",
    "horizon",
    "heat",
    "ceilometer",
    "aodh",
    "gnocchi",
    "swift",
    "ironic",
)

_RANK = {project: rank for rank, project in enumerate(PROJECT_ORDER)}
UNKNOWN_RANK = len(PROJECT_ORDER)

ENGINES: tuple[str, ...] = ("node-by-node", "service-by-service")
DEFAULT_ENGINE = "node-by-node"
DEFAULT_DRIVER = "noop"


def project_of(service_name: str) -> str:
    """The OpenStack project a service belongs to: `nova-compute` -> `nova`."""
    return service_name.split("-", 1)[0].split("_", 1)[0].lower()


def service_rank(service_name: str) -> int:
    """Position of a service's project in the upgrade order; unknown projects go last."""
    return _RANK.get(project_of(service_name), UNKNOWN_RANK)


def service_sort_key(service_name: str) -> tuple[int, str]:
    return (service_rank(service_name), service_name)


def host_rank(service_names: Iterable[str]) -> int:
    """A host ranks by the most important service it runs (lowest rank wins)."""
    return min((service_rank(name) for name in service_names), default=UNKNOWN_RANK + 1)
