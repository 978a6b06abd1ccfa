"""A command creates only the models it reads (creating a pydantic model class costs
milliseconds), without pydantic's scan for plugins, and leaves the environment as it was."""

import os
import subprocess
import sys
import textwrap

import pytest

from kostyor_tui.api import models


def _run(code: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return done.stdout.strip()


def test_listing_clusters_creates_the_cluster_model_only(server):
    out = _run(
        f"""
        import sys
        from kostyor_tui.api.client import KostyorClient
        with KostyorClient({server.url!r}) as client:
            assert client.list_clusters()
        print(sorted(m.rsplit(".", 1)[1] for m in sys.modules
                     if m.startswith("kostyor_tui.api.models.")))
        """
    )
    assert out == "['_base', 'cluster']"


def test_models_are_created_without_the_plugin_scan_and_the_environment_is_restored():
    out = _run(
        """
        import os
        import pydantic.plugin._loader as loader
        from kostyor_tui.api import models
        from kostyor_tui.api.models import Host
        models.adapter(list[Host])
        # pydantic keeps what its scan found; it never scanned.
        print(loader._plugins is None, "PYDANTIC_DISABLE_PLUGINS" in os.environ)
        """,
        env={k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"},
    )
    assert out == "True False"


def test_a_plugin_setting_of_the_user_is_left_alone():
    out = _run(
        """
        import os
        from kostyor_tui.api.models import Step
        print(os.environ["PYDANTIC_DISABLE_PLUGINS"])
        """,
        env={**os.environ, "PYDANTIC_DISABLE_PLUGINS": "someplugin"},
    )
    assert out == "someplugin"


def test_an_adapter_is_created_once_and_an_unknown_name_is_an_attribute_error():
    assert models.adapter(list[models.Cluster]) is models.adapter(list[models.Cluster])
    with pytest.raises(AttributeError):
        _ = models.Nothing  # type: ignore[attr-defined]
