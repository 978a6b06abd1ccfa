"""Seeds that fill an empty database: `demo` (a fleet to show) or `empty`."""

import uuid

from kostyor_tui.domain.lifecycle import UNKNOWN_VERSION
from kostyor_tui.domain.order import NODE_BY_NODE
from kostyor_tui.domain.statuses import Status
from kostyor_tui.server.store import FORWARD, Store
from kostyor_tui.server.topology import role_based_hosts

SEEDS: tuple[str, ...] = ("demo", "empty")

# Seeded ids are derived from names, so every demo database has the same ids.
_DEMO_NAMESPACE = uuid.UUID("5d1e0c7a-6f0b-4b39-9d2a-6b6f7374796f")


def _seed_demo(store: Store) -> None:
    store.add_cluster("home_lab", "mitaka", role_based_hosts(3, 8, 2), id_namespace=_DEMO_NAMESPACE)
    # staging went through one upgrade already, so that the history is not empty.
    staging = store.add_cluster(
        "staging",
        "mitaka",
        role_based_hosts(1, 1, 0, prefix="staging-"),
        id_namespace=_DEMO_NAMESPACE,
    )
    upgrade = store.create_upgrade(
        staging["id"], "newton", engine=NODE_BY_NODE, driver="noop", parameters={}
    )
    while store.apply_step(upgrade["id"], FORWARD) == Status.IN_PROGRESS:
        pass
    store.add_cluster("legacy", UNKNOWN_VERSION, [], id_namespace=_DEMO_NAMESPACE)
    store.add_cluster(
        "datacenter_east",
        "mitaka",
        role_based_hosts(8, 500, 12, prefix="east-"),
        id_namespace=_DEMO_NAMESPACE,
    )


def apply_seed(store: Store, seed: str) -> bool:
    """Fill a new database with `seed` (inside `Store.initialize`'s transaction, so all or
    nothing); return whether anything was added."""
    if seed not in SEEDS:
        raise ValueError(f"unknown seed {seed!r} (known: {', '.join(SEEDS)})")
    if seed == "empty":
        return False
    _seed_demo(store)
    return True
