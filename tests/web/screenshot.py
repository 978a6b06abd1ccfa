"""The README's screenshot of the console in a browser (docs/console-in-a-browser.png):

    python -m tests.web.screenshot docs/console-in-a-browser.png

An embedded server with the demo fleet and an upgrade of home_lab under way,
`kostyor-tui web` in front of it, and a headless Chromium on the upgrade view.
"""

import asyncio
import sys
import tempfile
from pathlib import Path

from kostyor_tui.domain.order import NODE_BY_NODE
from tests.support.servers import running_server
from tests.web.browser import Page, headless_chromium
from tests.web.conftest import WebProcess


async def _press(page: Page, key: str) -> None:
    for kind in ("keyDown", "keyUp"):
        await page.send(
            "Input.dispatchKeyEvent", type=kind, key=key, text=key if kind == "keyDown" else ""
        )


async def _click(page: Page, x: int, y: int) -> None:
    for kind in ("mousePressed", "mouseReleased"):
        await page.send(
            "Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1
        )


async def shoot(target: Path, directory: Path) -> None:
    with running_server(directory / "kostyor.sqlite3", step_seconds=1.5) as server:
        home_lab = next(c for c in server.store.list_clusters() if c["name"] == "home_lab")
        server.store.create_upgrade(
            home_lab["id"], "newton", engine=NODE_BY_NODE, driver="noop", parameters={}
        )
        served = WebProcess(["--api-url", server.url, "--port", "0"], directory / "web.log")
        try:
            async with headless_chromium(directory / "chromium", 1280, 720) as page:
                await page.send("Page.navigate", url=served.url)
                await page.wait_for_received("home_lab", timeout=60)
                # A script, not a test: pauses for the picture, not for correctness.
                await asyncio.sleep(2)
                await _click(page, 70, 80)  # home_lab in the sidebar
                await asyncio.sleep(2)
                await _press(page, "o")  # its upgrade view
                await asyncio.sleep(8)  # a few steps into it, for the picture
                target.write_bytes(await page.screenshot())
        finally:
            served.stop()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as scratch:
        asyncio.run(shoot(Path(sys.argv[1]), Path(scratch)))
