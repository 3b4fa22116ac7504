"""A TCP proxy between an external PLC and the plant's server, for link faults.

The PLC connects to the proxy, which forwards bytes both ways to the real server. Faults
act on the wire, whatever the protocol: :attr:`LinkProxy.down` cuts every connection and
refuses new ones (a pulled cable, a switch that died); :attr:`LinkProxy.delay_s` holds the
bytes the PLC sends for that long before they reach the plant (a slow network or gateway).
Bytes keep their order: each connection forwards through one queue per direction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from vcommission.errors import VcommissionError

__all__ = ["LinkProxy"]

log = logging.getLogger(__name__)

_CHUNK = 65536


class LinkProxy:
    """Forward ``host:port`` (``port=0``: a free one) to ``target``; an async context manager."""

    def __init__(self, target_host: str, target_port: int, host: str = "127.0.0.1", port: int = 0):
        self.target = (target_host, target_port)
        self.host = host
        self.port = port
        #: Seconds the PLC's bytes wait before they reach the plant.
        self.delay_s = 0.0
        #: Connections cut or refused because the link was down, and chunks the PLC sent
        #: that were held back by ``delay_s``: how link faults see that they acted.
        self.cut = 0
        self.delayed = 0
        self._down = False
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    @property
    def down(self) -> bool:
        return self._down

    @down.setter
    def down(self, value: bool) -> None:
        """Cut the link (every connection closed, new ones refused) or restore it."""
        self._down = value
        if value:
            for pipe in list(self._pipes):
                self.cut += 1
                pipe.cancel()

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(
                self._accept, self.host, self.port, reuse_address=True
            )
        except OSError as exc:
            raise VcommissionError(
                f"the PLC link's proxy cannot listen on {self.host}:{self.port}: {exc}"
            ) from exc
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for pipe in list(self._pipes):
            pipe.cancel()
        if self._pipes:
            await asyncio.gather(*self._pipes, return_exceptions=True)

    async def __aenter__(self) -> LinkProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._down:
            self.cut += 1
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._pipes.add(task)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError as exc:
            log.warning("link proxy: the plant's server does not answer: %s", exc)
            writer.close()
            self._pipes.discard(task)
            return
        try:
            await asyncio.gather(
                self._forward(reader, upstream_writer, delayed=True),
                self._forward(upstream_reader, writer, delayed=False),
            )
        except (asyncio.CancelledError, ConnectionError, OSError):
            pass
        finally:
            for stream in (writer, upstream_writer):
                stream.close()
                with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
                    await stream.wait_closed()
            self._pipes.discard(task)

    async def _forward(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delayed: bool
    ) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
                queue.task_done()

        sender = asyncio.create_task(deliver())
        try:
            while data := await reader.read(_CHUNK):
                delay = self.delay_s if delayed else 0.0
                self.delayed += delay > 0
                queue.put_nowait((loop.time() + delay, data))
            await queue.join()  # what was read before the end still arrives, in order
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            # The other direction ends with this one: a half-open link is no link.
            writer.close()
