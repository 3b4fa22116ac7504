"""The web HMI: trainee and instructor pages over HTTP and WebSockets (aiohttp), one event loop.

:class:`WebServer` is a :class:`~vcommission.adapters.base.PlantServer` attached to a session
through :meth:`SessionBuilder.attach <vcommission.session.SessionBuilder.attach>`; it serves a
:class:`~vcommission.training.TrainingSession`:

``GET /``                 the trainee page (3D view, operator panel, alarms, tag table)
``GET /instructor``       the instructor page; ``?token=`` required (403 without)
``GET /static/...``       the pages' scripts, styles and the 3D view's files (package data)
``GET /api/scene``        the static scene (``vcommission.plant.scene.describe``)
``GET /mesh/<n>``         a mesh file the scene names
``WS  /ws``               trainee: ``scene`` first, then ``hello``, ``poses``, ``tags``,
                          ``alarms``, ``control``, ``status``; takes ``press``,
                          ``take_control``, ``take_off``, ``ping``
``WS  /ws/instructor``    the same plus ``timeline``, ``faults``, ``result``; takes ``pause``,
                          ``resume``, ``speed``, ``reset``, ``inject``, ``clear``, ``finish``

Every request a page sends is one JSON object with a ``type`` (and an optional ``id``, echoed
in the ``ok`` or ``error`` reply). A message that is not JSON, too long, of an unknown type or
not allowed on that socket gets an ``error`` reply and the connection stays open. Several
browsers may watch; one holds the panel at a time (:meth:`TrainingSession.take_control`).

Frames go out at most :data:`FRAME_HZ` times a second of wall time, each with only what
changed since the last (poses, tags), so an idle plant costs nearly nothing. A frame is made
just after a tick (the first one past the frame period), not on a timer of its own: making
one takes about 1.5 ms of the loop the plant ticks in, and made at a random moment it could
sit across the next tick's deadline; right after a tick it has most of the 10 ms. (Ticks still
come late now and then with a browser watching, from another cause: ``tools/bench/web.py`` and
the README.) While the plant does not tick (paused), frames go by the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import json
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from vcommission.errors import VcommissionError
from vcommission.training.session import TrainingError, TrainingSession

if TYPE_CHECKING:
    from vcommission.session import Session

__all__ = ["FRAME_HZ", "MAX_MESSAGE", "STATIC", "WebServer", "web_server"]

logger = logging.getLogger(__name__)

#: The pages' files (package data).
STATIC = Path(__file__).resolve().parent / "static"
#: Frames per second of wall time, at most.
FRAME_HZ = 30
#: Seconds past a frame period that a frame waits for a tick before going by the clock.
_TICK_GRACE_S = 0.02
#: Longest request a page may send, characters; a longer one is answered with an error.
MAX_MESSAGE = 16_384
#: What aiohttp itself accepts before it closes the socket (1009): far above our own cap, so a
#: long message is answered, not fatal.
_TRANSPORT_LIMIT = 1 << 20
#: Status (time, speed, pause) is sent this often even when nothing else changed, seconds.
_STATUS_PERIOD_S = 0.25

_TRAINEE_REQUESTS = frozenset({"press", "take_control", "take_off", "ping"})
_INSTRUCTOR_REQUESTS = frozenset({"pause", "resume", "speed", "reset", "inject", "clear", "finish"})
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # the instructor URL carries the token
}


def _scene_module() -> Any:
    """``vcommission.plant.scene`` (the 3D view's server side), or None before it exists."""
    try:
        from vcommission.plant import scene
    except ImportError:
        return None
    return scene


class _Client:
    """One WebSocket: a trainee's or the instructor's page."""

    def __init__(self, ws: web.WebSocketResponse, name: str, instructor: bool) -> None:
        self.ws = ws
        self.name = name
        self.instructor = instructor


class WebServer:
    """See the module docstring.

    Args:
        training: The session the pages show and steer.
        host: Interface to bind (127.0.0.1 by default: a plant is nobody else's business).
        port: TCP port; 0 picks a free one.
        token: The instructor's secret (``secrets.token_urlsafe``).
        frame_hz: Frames per second of wall time, at most.
    """

    def __init__(
        self,
        training: TrainingSession,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str,
        frame_hz: float = FRAME_HZ,
        on_connect: Callable[[bool], None] | None = None,
    ) -> None:
        if not token:
            raise ValueError("the instructor token must not be empty")
        self.training = training
        self.host = host
        self.port = port
        self.token = token
        self.frame_s = 1.0 / frame_hz
        self.on_connect = on_connect
        self._clients: list[_Client] = []
        self._names = itertools.count(1)
        self._changed: set[int] = set()
        #: Set by the first tick past :attr:`_frame_at`: the stream makes a frame.
        self._frame_due = asyncio.Event()
        self._frame_at = 0.0
        self._runner: web.AppRunner | None = None
        self._streamer: asyncio.Task[None] | None = None
        scene = _scene_module()
        self._scene_module = scene
        self._scene: dict[str, Any] | None = None
        self._meshes: dict[str, str] = {}
        self._poses: Any = None
        self._resets = -1
        #: Frames sent, the wall time spent making and sending them, and the CPU time of making
        #: them (poses, JSON; the loop's own thread, awaits excluded), for benchmarks.
        self.frames = 0
        self.stream_s = 0.0
        self.stream_cpu_s = 0.0

    # -- PlantServer

    @property
    def endpoint(self) -> str:
        return f"http://{_url_host(self.host)}:{self.port}/"

    @property
    def instructor_url(self) -> str:
        return f"{self.endpoint}instructor?token={self.token}"

    @property
    def connections(self) -> int:
        return len(self._clients)

    def on_commit(self, now_ns: int, changed: list[int]) -> None:
        self._changed.update(changed)

    def _ticked(self, now_ns: int, changed: list[int]) -> None:
        """A simulator monitor: the first tick past the frame period makes a frame due."""
        if not self._frame_due.is_set() and time.monotonic() >= self._frame_at:
            self._frame_due.set()

    async def _next_frame(self) -> None:
        """Wait until a frame is due: after a tick, or by the clock while none comes."""
        self._frame_due.clear()
        self._frame_at = time.monotonic() + self.frame_s
        # A tick after the period sets the event; without ticks the timeout ends the wait a
        # period (plus a tick's grace) later.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._frame_due.wait(), self.frame_s + _TICK_GRACE_S)

    async def __aenter__(self) -> Self:
        app = web.Application(middlewares=[_headers])
        app.add_routes(
            [
                web.get("/", self._trainee_page),
                web.get("/instructor", self._instructor_page),
                web.get("/api/scene", self._api_scene),
                web.get("/api/panel", self._api_panel),
                web.get("/mesh/{name}", self._mesh),
                web.get("/ws", self._trainee_ws),
                web.get("/ws/instructor", self._instructor_ws),
                web.static("/static", STATIC, follow_symlinks=False),
            ]
        )
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
            await site.start()
            server = site._server  # aiohttp keeps the bound sockets only there
            assert server is not None
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.training.sim.monitors.append(self._ticked)
        self._streamer = asyncio.create_task(self._stream())
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(ValueError):  # never entered, or entered and left already
            self.training.sim.monitors.remove(self._ticked)
        if self._streamer is not None:
            self._streamer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._streamer
            self._streamer = None
        for client in list(self._clients):
            with contextlib.suppress(Exception):
                await client.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- pages

    def _authorised(self, request: web.Request) -> bool:
        given = request.query.get("token", "")
        return hmac.compare_digest(given.encode(), self.token.encode())

    @staticmethod
    def _refuse() -> web.Response:
        return web.Response(
            status=403, text="403: forbidden: the instructor pages need their token\n"
        )

    async def _trainee_page(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "trainee.html")

    async def _instructor_page(self, request: web.Request) -> web.StreamResponse:
        if not self._authorised(request):
            return self._refuse()
        return web.FileResponse(STATIC / "instructor.html")

    def scene(self) -> dict[str, Any] | None:
        """The static scene for the browser (``describe(plant)`` without the mesh files' paths).

        None until the 3D view's module exists.
        """
        if self._scene is None and self._scene_module is not None:
            described = self._scene_module.describe(self.training.plant)
            self._meshes = described.get("meshes", {})
            # The server's paths are the server's business: the browser gets the URLs only.
            self._scene = {k: v for k, v in described.items() if k != "meshes"}
        return self._scene

    async def _api_scene(self, request: web.Request) -> web.Response:
        return _json_response({"scene": self.scene()})

    async def _api_panel(self, request: web.Request) -> web.Response:
        return _json_response(self.training.panel.to_json())

    async def _mesh(self, request: web.Request) -> web.StreamResponse:
        self.scene()
        # Looked up in the scene's table, never joined onto a folder: no path escapes it.
        path = self._meshes.get(f"/mesh/{request.match_info['name']}")
        if path is None:
            raise web.HTTPNotFound(text="no such mesh\n")
        return web.FileResponse(path)

    # -- sockets

    async def _trainee_ws(self, request: web.Request) -> web.StreamResponse:
        return await self._socket(request, instructor=False)

    async def _instructor_ws(self, request: web.Request) -> web.StreamResponse:
        if not self._authorised(request):
            return self._refuse()
        return await self._socket(request, instructor=True)

    async def _socket(self, request: web.Request, instructor: bool) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != request.host:
            # Another site's page in the trainee's browser must not drive the plant.
            return web.Response(status=403, text="403: forbidden: cross-origin WebSocket\n")
        ws = web.WebSocketResponse(max_msg_size=_TRANSPORT_LIMIT, heartbeat=20)
        await ws.prepare(request)
        name = f"{'instructor' if instructor else 'trainee'}-{next(self._names)}"
        client = _Client(ws, name, instructor)
        self._clients.append(client)
        if self.on_connect is not None:
            self.on_connect(True)
        try:
            await self._greet(client)
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await self._handle(client, message.data)
                elif message.type is WSMsgType.BINARY:
                    await self._error(client, None, "send text frames of JSON, not binary")
                elif message.type is WSMsgType.ERROR:
                    break
        finally:
            self._clients.remove(client)
            if not instructor:
                self.training.disconnect(name)
            if self.on_connect is not None:
                self.on_connect(False)
        return ws

    async def _greet(self, client: _Client) -> None:
        training = self.training
        await _send(client.ws, {"type": "scene", "scene": self.scene()})
        image = training.plant.image
        committed = image.committed
        tags = [
            {
                "name": s.name,
                "direction": s.direction.value,
                "type": s.type.value,
                "unit": s.unit,
                "description": s.description,
                "value": _plain(committed[i]),
            }
            for i, s in enumerate(image.table.signals)
        ]
        hello: dict[str, Any] = {
            "type": "hello",
            "client": client.name,
            "model": training.session.model.name,
            "exercise": training.exercise.name if training.exercise else None,
            "panel": training.panel.to_json(),
            "tags": tags,
        }
        if client.instructor:
            hello["instructor"] = self._catalogue()
        await _send(client.ws, hello)
        for message in self._state(client, greeting=True):
            await _send(client.ws, message)

    def _catalogue(self) -> dict[str, Any]:
        """What the instructor's fault form offers: kinds with their keys, tags, components."""
        from vcommission.scenario.registry import FAULTS

        kinds = []
        for name in FAULTS.names():
            kind = FAULTS.load(name)
            kinds.append({"kind": name, "needs": list(getattr(kind, "needs", ()))})
        plant = self.training.plant
        return {
            "fault_kinds": kinds,
            "components": [c.name for c in plant.components],
            "tags": [s.name for s in plant.image.table.signals],
        }

    def _state(self, client: _Client, greeting: bool = False) -> list[dict[str, Any]]:
        training = self.training
        messages = [
            self._status(),
            {"type": "alarms", "alarms": training.alarm_list()},
            {
                "type": "control",
                "holder": training.controller,
                "you": training.controller == client.name,
            },
        ]
        if client.instructor and greeting:
            entries = [e.to_json() for e in training.timeline]
            messages.append({"type": "timeline", "entries": entries, "all": True})
        if client.instructor:
            messages.append({"type": "faults", "active": training.active_faults()})
        return messages

    def _status(self) -> dict[str, Any]:
        training = self.training
        return {
            "type": "status",
            "t": round(training.now_s, 3),
            "paused": training.paused,
            "speed": training.speed,
            "exercise": training.exercise.name if training.exercise else None,
            "finished": training.finished,
            "clients": len(self._clients),
        }

    async def _handle(self, client: _Client, text: str) -> None:
        if len(text) > MAX_MESSAGE:
            await self._error(
                client, None, f"message of {len(text):,} characters; the limit is {MAX_MESSAGE:,}"
            )
            return
        try:
            request = json.loads(text)
        except ValueError as exc:
            await self._error(client, None, f"not JSON: {exc}")
            return
        if not isinstance(request, dict) or not isinstance(request.get("type"), str):
            await self._error(client, None, 'send a JSON object with a "type"')
            return
        kind = request["type"]
        ident = request.get("id")
        allowed = (
            _INSTRUCTOR_REQUESTS | _TRAINEE_REQUESTS if client.instructor else _TRAINEE_REQUESTS
        )
        if kind not in allowed:
            if kind in _INSTRUCTOR_REQUESTS:
                message = f"{kind!r} is the instructor's: the trainee page only operates the panel"
            else:
                message = f"unknown request type {kind!r} (one of: {', '.join(sorted(allowed))})"
            await self._error(client, ident, message, kind)
            return
        try:
            reply = self._do(client, kind, request)
        except (TrainingError, VcommissionError) as exc:
            await self._error(client, ident, str(exc), kind)
            return
        except (KeyError, TypeError, ValueError) as exc:
            await self._error(client, ident, f"bad {kind} request: {exc}", kind)
            return
        await _send(client.ws, {"type": "ok", "request": kind, "id": ident, **(reply or {})})
        # Answer at once what the request changed (the frame loop sends the rest).
        for message in self._state(client):
            await _send(client.ws, message)

    def _do(self, client: _Client, kind: str, request: dict[str, Any]) -> dict[str, Any] | None:
        training = self.training
        name = client.name
        if kind == "ping":
            return None
        if kind == "press":
            training.press(name, _field(request, "tag", str), request.get("value"))
        elif kind == "take_control":
            training.take_control(name)
        elif kind == "take_off":
            return {"removed": training.take_off(name, _field(request, "beam", str))}
        elif kind == "pause":
            training.pause()
        elif kind == "resume":
            training.resume()
        elif kind == "speed":
            training.set_speed(request.get("speed"))
        elif kind == "reset":
            training.reset()
        elif kind == "inject":
            hidden = request.get("hidden", False)
            if not isinstance(hidden, bool):
                raise TrainingError("hidden must be true or false")
            return {"name": training.inject(_field(request, "fault", str), hidden)}
        elif kind == "clear":
            training.clear(_field(request, "name", str))
        elif kind == "finish":
            result = training.finish()
            written = getattr(training, "written", None)
            return {"result": result.to_json(), "file": str(written) if written else None}
        return None

    async def _error(
        self, client: _Client, ident: object, message: str, request: str | None = None
    ) -> None:
        await _send(
            client.ws, {"type": "error", "request": request, "id": ident, "message": message}
        )

    # -- the frame loop

    async def _stream(self) -> None:
        sent_version = -1
        sent_logged = self.training.logged
        sent_status = 0.0
        sent_alarms: list[dict[str, Any]] = []
        while True:
            await self._next_frame()
            if not self._clients:
                self._changed.clear()
                continue
            started = time.perf_counter()
            cpu = time.thread_time()
            training = self.training
            common: list[dict[str, Any]] = []
            instructor: list[dict[str, Any]] = []
            if training.resets != self._resets:
                # A reset rebuilds every body: the pages start from a fresh scene.
                first = self._resets == -1
                self._resets = training.resets
                self._scene = None
                scene = self._scene_module
                self._poses = scene.PoseStream(training.plant) if scene is not None else None
                if not first:
                    common.append({"type": "scene", "scene": self.scene()})
            if self._poses is not None:
                frame = self._poses.frame(training.now_s)
                if frame is not None:
                    common.append(frame)
            if self._changed:
                image = training.plant.image
                committed, signals = image.committed, image.table.signals
                values = {signals[i].name: _plain(committed[i]) for i in sorted(self._changed)}
                self._changed.clear()
                common.append({"type": "tags", "t": round(training.now_s, 3), "values": values})
            now = time.monotonic()
            version_changed = training.version != sent_version
            if version_changed or now - sent_status >= _STATUS_PERIOD_S:
                common.append(self._status())
                sent_status = now
            if version_changed:
                sent_version = training.version
                alarms = training.alarm_list()
                if alarms != sent_alarms:
                    common.append({"type": "alarms", "alarms": alarms})
                    sent_alarms = alarms
                entries = [e.to_json() for e in training.since(sent_logged)]
                sent_logged = training.logged
                if entries:
                    instructor.append({"type": "timeline", "entries": entries, "all": False})
                instructor.append({"type": "faults", "active": training.active_faults()})
            if common or instructor:
                texts = [json.dumps(m, separators=(",", ":")) for m in common]
                extra = [json.dumps(m, separators=(",", ":")) for m in instructor]
                self.stream_cpu_s += time.thread_time() - cpu
                await asyncio.gather(
                    *(
                        self._frame(c, texts + (extra if c.instructor else []), version_changed)
                        for c in list(self._clients)
                    )
                )
                self.frames += 1
            else:
                self.stream_cpu_s += time.thread_time() - cpu
            self.stream_s += time.perf_counter() - started

    async def _frame(self, client: _Client, texts: list[str], version_changed: bool) -> None:
        ws = client.ws
        try:
            for text in texts:
                await ws.send_str(text)
            if version_changed:
                holder = self.training.controller
                await ws.send_str(
                    json.dumps({"type": "control", "holder": holder, "you": holder == client.name})
                )
        except (ConnectionError, RuntimeError):
            logger.debug("web client %s went away mid-frame", client.name)


def web_server(
    training_of: Callable[[Session], TrainingSession], **options: Any
) -> Callable[[Session], WebServer]:
    """A factory for :meth:`SessionBuilder.attach`: the web server of ``training_of(session)``."""

    def factory(session: Session) -> WebServer:
        return WebServer(training_of(session), **options)

    return factory


@web.middleware
async def _headers(request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
    response = await handler(request)
    if not isinstance(response, web.WebSocketResponse):
        for key, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        # Scripts and three.js may be kept but are revalidated (a new version is seen at once);
        # pages and API answers are never stored (the instructor's carries its token).
        static = request.path.startswith("/static/")
        response.headers.setdefault("Cache-Control", "no-cache" if static else "no-store")
    return response


def _field(request: dict[str, Any], key: str, kind: type) -> Any:
    value = request.get(key)
    if not isinstance(value, kind):
        raise TrainingError(f"{request['type']} needs {key!r} ({kind.__name__})")
    return value


def _plain(value: object) -> object:
    """A signal value as JSON: non-finite REALs as null (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json_response(data: Any) -> web.Response:
    return web.json_response(data, dumps=lambda d: json.dumps(d, separators=(",", ":")))


async def _send(ws: web.WebSocketResponse, message: dict[str, Any]) -> None:
    with contextlib.suppress(ConnectionError, RuntimeError):
        await ws.send_str(json.dumps(message, separators=(",", ":")))


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
