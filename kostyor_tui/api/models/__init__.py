"""Pydantic models of the Kostyor API objects, each created when first used.

Every field may be null on the wire, and unknown fields are ignored. Ids are
kept as strings whatever JSON type the server used. `status` is normalised to
`Status`; the server's own spelling stays in `raw_status`.

Creating a model class is most of what pydantic costs a short command (several
milliseconds each), so each lives in a module of its own, imported on first
use: `list-clusters` creates `Cluster` only. `adapter(list[Host])` is the
validator of a whole answer, also created on first use. kostyor-tui's models
take no pydantic plugin: pydantic's scan of the installed packages for plugins
is skipped while they are created (`PYDANTIC_DISABLE_PLUGINS`, pydantic >= 2.6).
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from pydantic import TypeAdapter

    from kostyor_tui.api.models.cluster import Cluster
    from kostyor_tui.api.models.host import Host
    from kostyor_tui.api.models.service import Service
    from kostyor_tui.api.models.step import Step
    from kostyor_tui.api.models.upgrade import Upgrade

__all__ = ["Cluster", "Host", "Service", "Step", "Upgrade", "adapter"]

T = TypeVar("T")

_MODULES = {
    "Cluster": "cluster",
    "Host": "host",
    "Service": "service",
    "Step": "step",
    "Upgrade": "upgrade",
}
_PLUGINS_VARIABLE = "PYDANTIC_DISABLE_PLUGINS"
_creating = threading.RLock()
_adapters: dict[object, Any] = {}


@contextmanager
def _without_plugin_scan() -> Iterator[None]:
    """Pydantic looks for plugins (entry points of every installed package) when it
    creates a validator; none is wanted here. Set only while creating, and only when
    the user did not set it: child processes and other code see the environment as it was."""
    with _creating:
        if _PLUGINS_VARIABLE in os.environ:
            yield
            return
        os.environ[_PLUGINS_VARIABLE] = "__all__"
        try:
            yield
        finally:
            os.environ.pop(_PLUGINS_VARIABLE, None)


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _without_plugin_scan():
        model = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = model
    return model


def adapter(shape: type[T]) -> TypeAdapter[T]:
    """The validator of `shape` (a model, or e.g. `list[Host]`), created once."""
    found = _adapters.get(shape)
    if found is None:
        from pydantic import TypeAdapter

        with _without_plugin_scan():
            found = _adapters.setdefault(shape, TypeAdapter(shape))
    return cast("TypeAdapter[T]", found)
