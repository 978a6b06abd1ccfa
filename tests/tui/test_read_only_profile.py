"""A profile with `read_only = true` makes the console read-only without --read-only: the
one guard refuses, naming the profile, and the refusal is in the audit trail. (The
headless side is tests/headless/test_audit.py.)"""

import json
from pathlib import Path

from kostyor_tui.app import KostyorApp
from kostyor_tui.config import load_settings
from kostyor_tui.errors import Refused
from tests.tui.conftest import TEST_POLL_INTERVAL, cluster_id_named, wait_for


async def test_a_read_only_profile_refuses_actions_in_the_console(
    server, tmp_path: Path, private_state_directory: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[profiles.prod]\napi_url = "{server.url}"\nread_only = true\n'
        f"poll_interval = {TEST_POLL_INTERVAL}\n"
    )
    app = KostyorApp(load_settings(config_path=config, profile="prod", environ={}))
    assert app.service.read_only
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.service.clusters, "the fleet")
        cluster_id = cluster_id_named(app, "home_lab")
        try:
            await app.service.command(
                "upgrade-cluster", {"cluster": cluster_id, "to_version": "newton"}
            )
        except Refused as refusal:
            line = refusal.one_line()
        else:
            raise AssertionError("a read-only profile started an upgrade")
    assert "read-only mode is on" in line
    assert "profile 'prod' is read-only" in line
    audit = private_state_directory / "kostyor-tui" / "audit.jsonl"
    (entry,) = [json.loads(text) for text in audit.read_text().splitlines()]
    assert (entry["profile"], entry["action"], entry["outcome"], entry["sent"]) == (
        "prod",
        "start-upgrade",
        "refused",
        False,
    )
