"""Helpers for the view of every profile: two real embedded servers, and a config file of
its own whose profiles point at them."""

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
import tomli_w

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.config import ENV_VARIABLES, Settings, load_settings
from kostyor_tui.server.runner import BackgroundServer

# The headless tests' `cli` fixture, for the headless side of every profile.
from tests.headless.conftest import cli  # noqa: F401

# The cluster only one endpoint knows: two hosts.
SMALL_CLUSTER = {"controllers": "1", "computes": "1", "storage": "0"}
# Polls fast enough that a test sees several within a second.
POLL_INTERVAL = 0.2


def write_profiles(path: Path, profiles: Mapping[str, Mapping[str, object]]) -> Path:
    """A config file (mode 0600) with these profiles, the first one the default."""
    document = {"default_profile": next(iter(profiles)), "profiles": dict(profiles)}
    path.write_text(tomli_w.dumps(document))
    path.chmod(0o600)
    return path


@pytest.fixture(autouse=True)
def _no_outer_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No KOSTYOR_* variable of the machine leaks into a test."""
    for name in ENV_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def east_and_west(
    server_factory: Callable[..., BackgroundServer],
) -> Iterator[tuple[BackgroundServer, BackgroundServer]]:
    """Two embedded servers with the demo fleet (the same names and ids on both), told apart
    by a small cluster only each one knows: `east_only`, `west_only`."""
    east, west = server_factory(), server_factory()
    for server, name in ((east, "east_only"), (west, "west_only")):
        with KostyorClient(api_url=server.url) as client:
            client.discover_cluster("simulated", name, SMALL_CLUSTER)
    yield east, west


def profiles_for(
    east: BackgroundServer | str, west: BackgroundServer | str, **west_keys: object
) -> dict[str, dict[str, object]]:
    """The profiles `east` and `west` (in that order) on these servers (or URLs)."""

    def url(server: BackgroundServer | str) -> str:
        return server if isinstance(server, str) else server.url

    return {
        "east": {
            "api_url": url(east),
            "region": "RegionEast",
            "poll_interval": POLL_INTERVAL,
            "timeout": 5,
        },
        "west": {
            "api_url": url(west),
            "region": "RegionWest",
            "poll_interval": POLL_INTERVAL,
            "timeout": 5,
            **west_keys,
        },
    }


def every_profile(config: Path) -> list[Settings]:
    """The settings of each profile of `config`, as `--all-profiles` loads them."""
    first = load_settings(config_path=config, environ={})
    return [first.with_profile(name) for name in first.profile_names]
