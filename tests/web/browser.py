"""A real headless Chromium driven through the DevTools protocol (Debian's `chromium`).

textual-serve draws the terminal on a canvas (xterm.js), so the page's DOM holds no
text to read: what the browser receives on the console's websocket is read instead
(the DevTools protocol reports every frame), with the page's own state and a
screenshot. Only aiohttp (textual-serve's own dependency) is used to talk to it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from kostyor_tui.server.process import stop_process

_LISTENING = re.compile(r"DevTools listening on (ws://\S+)")


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Page:
    """One browser tab: navigate, evaluate, screenshot, and the websocket frames it got."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self._socket = socket
        self._next_id = 0
        self._answers: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.received = bytearray()  # every websocket frame the page received, in order
        self.frame_arrived = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self._socket:
            data = json.loads(message.data)
            if "id" in data:
                future = self._answers.pop(data["id"], None)
                if future is not None and not future.done():
                    future.set_result(data)
            elif data.get("method") == "Network.webSocketFrameReceived":
                response = data["params"]["response"]
                payload = response["payloadData"]
                if response.get("opcode") == 2:
                    self.received += base64.b64decode(payload)
                else:
                    self.received += payload.encode()
                self.frame_arrived.set()

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._answers[self._next_id] = future
        await self._socket.send_str(
            json.dumps({"id": self._next_id, "method": method, "params": params})
        )
        answer = await asyncio.wait_for(future, 30)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def screenshot(self) -> bytes:
        result = await self.send("Page.captureScreenshot", format="png")
        return base64.b64decode(result["data"])

    async def wait_for_received(self, text: str, timeout: float) -> None:
        """Until `text` has arrived on the page's websocket (else TimeoutError)."""
        wanted = text.encode()

        async def arrived() -> None:
            while wanted not in self.received:
                self.frame_arrived.clear()
                await self.frame_arrived.wait()

        await asyncio.wait_for(arrived(), timeout)

    async def close(self) -> None:
        self._reader.cancel()
        await self._socket.close()


@asynccontextmanager
async def headless_chromium(
    profile_dir: Path, width: int = 1280, height: int = 800
) -> AsyncIterator[Page]:
    """A headless Chromium with one blank tab, its websocket traffic reported."""
    executable = chromium_path()
    assert executable is not None
    # Its own temporary files (the singleton socket's directory, which a terminated
    # Chromium leaves behind) go to a directory removed afterwards; a short path, as a
    # socket's must be.
    with tempfile.TemporaryDirectory(prefix="kostyor-chromium-") as temporary:
        process = subprocess.Popen(
            [
                executable,
                "--headless=new",
                "--no-sandbox",  # tests run as root in CI
                "--disable-gpu",
                "--no-first-run",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile_dir}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "LANG": "C.UTF-8", "TMPDIR": temporary},
        )
        try:
            assert process.stderr is not None
            browser_url = await asyncio.wait_for(
                asyncio.to_thread(_listening_url, process.stderr), 60
            )
            port = browser_url.split("//", 1)[1].split("/", 1)[0]
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://{port}/json/list") as answer:
                    targets = await answer.json()
                page_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
                socket = await session.ws_connect(page_url, max_msg_size=0)
                page = Page(socket)
                try:
                    await page.send("Network.enable")
                    await page.send("Page.enable")
                    yield page
                finally:
                    await page.close()
        finally:
            stop_process(process, 15)


def _listening_url(stream: Any) -> str:
    for raw in stream:
        line = raw.decode(errors="replace")
        match = _LISTENING.search(line)
        if match:
            return match.group(1)
    raise RuntimeError("chromium exited before it listened for DevTools")
