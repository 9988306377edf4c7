"""A small WebDriver BiDi client: what the Firefox run needs of Firefox's built-in remote agent.

Commands are matched to their answers by id; ``log.entryAdded`` events are kept in arrival
order for the caller to wait on (``wait_for``), each with a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import time
from collections.abc import Callable
from typing import Any

import websockets

from tests.support import servers

LISTENING = re.compile(r"WebDriver BiDi listening on (ws://[\d.]+:\d+)")


class BiDiError(RuntimeError):
    pass


def bidi_address(firefox: servers.Process, deadline: float) -> str:
    """The websocket address Firefox prints once its remote agent listens."""
    while True:
        if found := LISTENING.search(firefox.log_path.read_text(errors="replace")):
            return found.group(1)
        if time.monotonic() > deadline:
            raise RuntimeError(f"Firefox printed no BiDi address:\n{firefox.log_tail()}")
        try:
            code = firefox.popen.wait(timeout=0.05)  # the poll interval; at once if it died
        except subprocess.TimeoutExpired:
            continue
        raise RuntimeError(f"Firefox exited with {code}:\n{firefox.log_tail()}")


class BiDi:
    """One BiDi session over a websocket to ``address``/session."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._next_id = 0
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.log_entries: list[dict[str, Any]] = []
        self._log_arrived = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, address: str) -> BiDi:
        connection = await websockets.connect(f"{address}/session", max_size=None)
        client = cls(connection)
        await client.command("session.new", {"capabilities": {}})
        await client.command("session.subscribe", {"events": ["log.entryAdded"]})
        return client

    async def _read(self) -> None:
        async for raw in self._connection:
            message = json.loads(raw)
            if "id" in message and (future := self._pending.pop(message["id"], None)):
                if not future.done():
                    future.set_result(message)
            elif message.get("method") == "log.entryAdded":
                self.log_entries.append(message["params"])
                self._log_arrived.set()

    async def command(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._next_id += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[self._next_id] = future
        await self._connection.send(
            json.dumps({"id": self._next_id, "method": method, "params": params})
        )
        message = await future
        if message.get("type") == "error":
            raise BiDiError(f"{method}: {message.get('error')}: {message.get('message')}")
        return message["result"]

    async def top_context(self) -> str:
        tree = await self.command("browsingContext.getTree", {"maxDepth": 0})
        return tree["contexts"][0]["context"]

    async def navigate(self, context: str, url: str) -> None:
        await self.command(
            "browsingContext.navigate", {"context": context, "url": url, "wait": "complete"}
        )

    async def evaluate_json(self, context: str, expression: str) -> Any:
        """Await ``expression`` (a promise of a JSON string) in the page; its parsed value."""
        result = await self.command(
            "script.evaluate",
            {
                "expression": expression,
                "target": {"context": context},
                "awaitPromise": True,
                "resultOwnership": "none",
            },
        )
        if result.get("type") != "success":
            raise BiDiError(f"script.evaluate: {result.get('exceptionDetails')}")
        return json.loads(result["result"]["value"])

    async def wait_for(
        self, found: Callable[[list[dict[str, Any]]], bool], deadline: float
    ) -> bool:
        """Wait until ``found(log_entries)`` holds, or the deadline passes: whether it held."""
        while not found(self.log_entries):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._log_arrived.clear()
            try:
                await asyncio.wait_for(self._log_arrived.wait(), left)
            except TimeoutError:
                return found(self.log_entries)
        return True

    async def close(self) -> None:
        with contextlib.suppress(BiDiError, TimeoutError, websockets.ConnectionClosed):
            await asyncio.wait_for(self.command("session.end", {}), 5)
        await self._connection.close()
        self._reader.cancel()
