"""The console in a real headless Chromium (Debian's `chromium`), served by
`kostyor-tui web` against an embedded server."""

import asyncio
import subprocess
from pathlib import Path

import pytest

from tests.support.waiting import wait_until
from tests.web.browser import chromium_path, headless_chromium

pytestmark = pytest.mark.skipif(
    chromium_path() is None,
    reason="needs Chromium (Debian: apt-get install chromium); none is installed",
)


def _write_config(path: Path, api_url: str) -> Path:
    path.write_text(
        'default_profile = "other"\n'
        '[profiles.other]\napi_url = "http://127.0.0.1:9"\n'
        f'[profiles.websuite]\napi_url = "{api_url}"\npoll_interval = 0.5\n'
    )
    path.chmod(0o600)
    return path


async def test_the_fleet_appears_in_the_browser(web, server, tmp_path: Path) -> None:
    # The profile given to `web` names the server: the fleet can only appear if each
    # browser's console is started with it.
    config = _write_config(tmp_path / "web-config.toml", server.url)
    served = web("--config", str(config), "--profile", "websuite")
    async with headless_chromium(tmp_path / "chromium") as page:
        await page.send("Page.navigate", url=served.url)
        # What the console draws reaches the page over its websocket: the profile's name
        # in the header, the demo fleet's clusters in the sidebar.
        await page.wait_for_received("websuite", timeout=60)
        for cluster in ("home_lab", "staging", "datacenter_east"):
            await page.wait_for_received(cluster, timeout=60)
        # The page drew it: xterm.js got its first bytes.
        assert await page.evaluate("document.body.classList.contains('-first-byte')")
        # The token went into a cookie and out of the address bar.
        assert await page.evaluate("location.search") == ""
        png = await page.screenshot()
        assert png.startswith(b"\x89PNG")
    assert served.stop() == 0
    # Each browser's console ended with the server (none is left behind).
    wait_until(lambda: not _running(str(config)), "the browser's console to end")


async def test_the_api_url_reaches_each_console(web, server, tmp_path: Path) -> None:
    # The config's default profile names nothing that listens: the fleet can only appear
    # if --api-url reached the browser's console (by its environment).
    config = _write_config(tmp_path / "web-config.toml", "http://127.0.0.1:9")
    served = web("--config", str(config), "--api-url", server.url)
    async with headless_chromium(tmp_path / "chromium") as page:
        await page.send("Page.navigate", url=served.url)
        await page.wait_for_received("home_lab", timeout=60)
    assert server.url not in (tmp_path / "web-0.log").read_text()


async def test_without_the_token_the_browser_gets_nothing(web, server, tmp_path: Path) -> None:
    served = web("--api-url", server.url)
    async with headless_chromium(tmp_path / "chromium") as page:
        await page.send("Page.navigate", url=served.base + "/")
        text = await _until_loaded(page)
        assert "403" in text
        assert page.received == b""


async def _until_loaded(page) -> str:
    for _ in range(600):
        text = await page.evaluate("document.body ? document.body.innerText : ''")
        if text:
            return text
        await asyncio.sleep(0.05)
    raise AssertionError("the page did not load")


def _running(pattern: str) -> bool:
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return bool(found.stdout.strip())
