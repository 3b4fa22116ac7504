"""The Modbus TCP server under hostile and careless clients, over raw sockets on loopback.

Fuzzed, truncated and fragmented MBAP frames, wrong lengths, unknown function codes,
connection storms, idle connections and a client that never reads its answers: the server
never crashes, answers protocol errors where the Modbus application protocol spec
(V1.1b3, sections 6 and 7) orders them, and keeps serving a well-behaved master correctly.

The server runs the sorting line (DI 0-9, IR 0, coils 0-5, HR 0 with range 0..1000) in a
thread with its own event loop, as under ``vcommission serve``, so that a test's blocking
socket or hypothesis between examples never stalls it; its loop's unhandled exceptions and
the adapter's error log are checked after every test. The load tests (storms, a slow reader)
run their clients in a child process: sharing the server's GIL, their time bounds would
measure the interpreter rather than the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import ROOT, SORTING_LINE
from vcommission.adapters.modbus import ModbusServer
from vcommission.clock import ClockMode
from vcommission.config.model import load_model
from vcommission.plant.plant import Plant
from vcommission.simulator import Simulator

# Every test talks to a server over real loopback sockets.
pytestmark = pytest.mark.wire

MBAP = struct.Struct(">HHHB")
#: Discrete inputs 0..9 of the sorting line at rest: stop_pb_nc, estop_ok, pusher_retracted.
DI_AT_REST = [False, True, False, True, False, False, False, False, True, False]
#: Table sizes of the sorting line, per read/write function code.
SIZE = {1: 6, 2: 10, 3: 1, 4: 1, 5: 6, 6: 1, 15: 6, 16: 1, 22: 1, 23: 1}
SERVED = sorted(SIZE)
HR0_MAX = 1000
TIMEOUT_S = 5.0

FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    print_blob=True,
)


# -- the server under test -------------------------------------------------------------------


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class ServerThread:
    """The sorting line's Modbus server in its own thread and event loop.

    With ``run_plant`` the simulator runs in real time in the same loop, as under ``serve``.
    """

    def __init__(self, run_plant: bool = False, unit_id: int | None = None) -> None:
        self.run_plant = run_plant
        self.unit_id = unit_id
        self.port = 0
        self.server: ModbusServer | None = None
        self.loop_errors: list[dict[str, Any]] = []
        self.log = _Errors()
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._plant_task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._main, name="modbus-server", daemon=True)

    def __enter__(self) -> ServerThread:
        logging.getLogger("vcommission.adapters.modbus").addHandler(self.log)
        self._thread.start()
        if not self._ready.wait(30) or self._failure is not None:
            raise RuntimeError(f"server thread did not start: {self._failure!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        logging.getLogger("vcommission.adapters.modbus").removeHandler(self.log)
        assert not self._thread.is_alive(), "server thread did not stop"

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._failure = exc
            self._ready.set()

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, context: self.loop_errors.append(context))
        self._loop = loop
        self._stop = asyncio.Event()
        model = load_model(SORTING_LINE)
        with Plant(model) as plant:
            mode = ClockMode.REALTIME if self.run_plant else ClockMode.FAST
            sim = Simulator(plant, mode)
            async with ModbusServer(model, plant.image, port=0, unit_id=self.unit_id) as server:
                sim.listeners.append(server.store.on_commit)
                self.server, self.port = server, server.port
                if self.run_plant:
                    self._plant_task = asyncio.create_task(sim.run_async())
                self._ready.set()
                await self._stop.wait()
                if self._plant_task is not None:
                    self._plant_task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await self._plant_task

    def call(self, function: Callable[[], Any]) -> Any:
        """Run ``function`` in the server's loop (the only safe place to look at it)."""
        assert self._loop is not None

        async def run() -> Any:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(TIMEOUT_S)

    def connections(self) -> int:
        assert self.server is not None
        return self.call(lambda: self.server.connections)

    def assert_healthy(self) -> None:
        assert self._thread.is_alive(), "the server thread died"
        assert not self.loop_errors, f"unhandled in the server loop: {self.loop_errors}"
        assert not self.log.records, [r.getMessage() for r in self.log.records]
        if self._plant_task is not None:
            assert not self._plant_task.done(), "the plant task stopped"


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    with ServerThread() as thread:
        yield thread


@pytest.fixture(autouse=True)
def _server_stays_healthy(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "server" in request.fixturenames:
        request.getfixturevalue("server").assert_healthy()


# -- clients ---------------------------------------------------------------------------------


def frame(
    tid: int, pdu: bytes, unit: int = 1, protocol: int = 0, length: int | None = None
) -> bytes:
    """An MBAP frame; ``length`` overrides the header's length field."""
    return MBAP.pack(tid, protocol, len(pdu) + 1 if length is None else length, unit) + pdu


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def split_answers(stream: bytes) -> list[tuple[int, int, bytes]]:
    """(transaction id, unit id, PDU) of each answer; asserts the stream is well-framed."""
    answers = []
    at = 0
    while at < len(stream):
        assert len(stream) - at >= 9, f"short answer {stream[at:].hex()}"
        tid, protocol, length, unit = MBAP.unpack_from(stream, at)
        assert protocol == 0 and 3 <= length <= 254, stream[at:].hex()
        assert len(stream) - at >= 6 + length, f"truncated answer {stream[at:].hex()}"
        answers.append((tid, unit, stream[at + 7 : at + 6 + length]))
        at += 6 + length
    return answers


def send_and_drain(port: int, data: bytes, chunks: list[int] | None = None) -> bytes:
    """Send ``data`` (in pieces at ``chunks`` offsets), end our side, return all answers.

    Half-closing makes the server finish with what it has and close: no timeouts to wait.
    """
    with connect(port) as sock:
        cuts = [0, *sorted(set(chunks or [])), len(data)]
        for start, end in itertools.pairwise(cuts):
            if end > start:
                sock.sendall(data[start:end])
                if chunks:
                    time.sleep(0.001)  # let the server see a fragment, not one coalesced write
        sock.shutdown(socket.SHUT_WR)
        with contextlib.suppress(ConnectionResetError):
            return read_all(sock)
    return b""


class Master:
    """A well-behaved Modbus master on one long-lived connection."""

    def __init__(self, port: int) -> None:
        self.sock = connect(port)
        self.tid = 0

    def close(self) -> None:
        self.sock.close()

    def _recv_exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            assert chunk, "the server closed the master's connection"
            data += chunk
        return data

    def request(self, pdu: bytes, unit: int = 1) -> bytes:
        self.tid = (self.tid + 1) & 0xFFFF
        self.sock.sendall(frame(self.tid, pdu, unit))
        tid, protocol, length, answer_unit = MBAP.unpack(self._recv_exactly(7))
        assert (tid, protocol, answer_unit) == (self.tid, 0, unit)
        return self._recv_exactly(length - 1)

    def read_bits(self, function_code: int, address: int, count: int) -> list[bool]:
        answer = self.request(struct.pack(">BHH", function_code, address, count))
        assert answer[0] == function_code and answer[1] == (count + 7) // 8, answer.hex()
        bits = int.from_bytes(answer[2:], "little")
        return [bool(bits >> i & 1) for i in range(count)]

    def read_registers(self, function_code: int, address: int, count: int) -> list[int]:
        answer = self.request(struct.pack(">BHH", function_code, address, count))
        assert answer[0] == function_code and answer[1] == 2 * count, answer.hex()
        return list(struct.unpack(f">{count}H", answer[2:]))

    def check_plant(self) -> None:
        """The plant's tables answer correctly; puts HR 0 back to its power-on 400."""
        echo = struct.pack(">BHH", 6, 0, 400)
        assert self.request(echo) == echo
        assert self.read_registers(3, 0, 1) == [400]
        assert self.read_bits(2, 0, 10) == DI_AT_REST
        assert self.read_registers(4, 0, 1) == [0]


@pytest.fixture
def master(server: ServerThread) -> Iterator[Master]:
    client = Master(server.port)
    client.check_plant()
    yield client
    client.check_plant()
    client.close()


# -- what the spec orders, independently of the server ---------------------------------------


def word(pdu: bytes, at: int) -> int:
    return int.from_bytes(pdu[at : at + 2], "big")


def spec_answer(pdu: bytes) -> set[int | None]:
    """Acceptable outcomes of a request on the sorting line: None (a normal answer) or an
    exception code. Checks in the spec's order: function code (01), structure (03),
    address (02), then the value the plant accepts (03)."""
    fc, size = pdu[0], len(pdu)
    if fc not in SIZE:
        return {1}
    table = SIZE[fc]
    if fc in (1, 2, 3, 4):
        if size != 5 or not 1 <= word(pdu, 3) <= (2000 if fc < 3 else 125):
            return {3}
        return {None} if word(pdu, 1) + word(pdu, 3) <= table else {2}
    if fc == 5:
        if size != 5 or word(pdu, 3) not in (0, 0xFF00):
            return {3}
        return {None} if word(pdu, 1) < table else {2}
    if fc == 6:
        if size != 5:
            return {3}
        if word(pdu, 1) >= table:
            return {2}
        return {None} if word(pdu, 3) <= HR0_MAX else {3}
    if fc in (15, 16):
        if size < 6:
            return {3}
        count, byte_count = word(pdu, 3), pdu[5]
        most, needed = (0x7B0, (count + 7) // 8) if fc == 15 else (0x7B, 2 * count)
        if not 1 <= count <= most or byte_count != needed or size != 6 + byte_count:
            return {3}
        if word(pdu, 1) + count > table:
            return {2}
        return {None} if fc == 15 or word(pdu, 6) <= HR0_MAX else {3}
    if fc == 22:
        if size != 7:
            return {3}
        # The result depends on what HR 0 holds: in range or not.
        return {None, 3} if word(pdu, 1) == 0 else {2}
    # 23: read/write multiple registers; both ranges are checked before the write.
    if size < 10:
        return {3}
    reads, writes, byte_count = word(pdu, 3), word(pdu, 7), pdu[9]
    if not (1 <= reads <= 125 and 1 <= writes <= 121) or byte_count != 2 * writes:
        return {3}
    if size != 10 + byte_count:
        return {3}
    if word(pdu, 5) + writes > table or word(pdu, 1) + reads > table:
        return {2}
    return {None} if word(pdu, 10) <= HR0_MAX else {3}


def check_answer(pdu: bytes, answer: bytes) -> None:
    expected = spec_answer(pdu)
    fc = pdu[0]
    if answer[0] == fc | 0x80 and len(answer) == 2:
        assert answer[1] in expected, f"{pdu.hex()} -> {answer.hex()}, spec: {expected}"
    else:
        assert None in expected and answer[0] == fc, f"{pdu.hex()} -> {answer.hex()}, {expected}"


# -- strategies ------------------------------------------------------------------------------

#: Near the mapped addresses (most requests), or anywhere.
addresses = st.one_of(st.integers(0, 3), st.integers(0, 12), st.integers(0, 0xFFFF))
#: Small quantities (most requests), around the spec's limits, or anything.
counts = st.one_of(
    st.integers(1, 3), st.integers(0, 12), st.integers(0, 2100), st.integers(0, 0xFFFF)
)
#: Register and coil values: in HR 0's range, out of it, the coil values and their neighbours.
values = st.one_of(st.integers(0, 1100), st.sampled_from([0, 0xFF00, 0xFFFF, 0x8000, 1, 0x1234]))


@st.composite
def well_formed_requests(draw: st.DrawFn) -> bytes:
    """Requests of the served function codes with the structure right, near the map."""
    fc = draw(st.sampled_from(SERVED))
    address = draw(st.integers(0, SIZE[fc]))
    if fc in (1, 2, 3, 4):
        return struct.pack(">BHH", fc, address, draw(st.integers(1, SIZE[fc] + 1)))
    if fc == 5:
        return struct.pack(">BHH", fc, address, draw(st.sampled_from([0, 0xFF00])))
    if fc == 6:
        return struct.pack(">BHH", fc, address, draw(values))
    if fc == 15:
        count = draw(st.integers(1, 8))
        bits = draw(st.binary(min_size=(count + 7) // 8, max_size=(count + 7) // 8))
        return struct.pack(">BHHB", fc, address, count, len(bits)) + bits
    if fc == 16:
        registers = draw(st.lists(values, min_size=1, max_size=2))
        count = len(registers)
        return struct.pack(f">BHHB{count}H", fc, address, count, 2 * count, *registers)
    if fc == 22:
        return struct.pack(">BHHH", fc, address, draw(values), draw(values))
    registers = draw(st.lists(values, min_size=1, max_size=2))
    count = len(registers)
    reads = draw(st.integers(1, 2))
    write_address = draw(st.integers(0, 1))
    return struct.pack(
        f">BHHHHB{count}H", fc, address, reads, write_address, count, 2 * count, *registers
    )


@st.composite
def malformed_requests(draw: st.DrawFn) -> bytes:
    """Requests of the served function codes with quantities, counts or lengths likely off."""
    fc = draw(st.sampled_from(SERVED))
    head = struct.pack(">BH", fc, draw(addresses))
    if fc in (1, 2, 3, 4, 5, 6):
        body = head + struct.pack(">H", draw(counts if fc < 5 else values))
    elif fc in (15, 16):
        count = draw(counts)
        byte_count = draw(st.integers(0, 255))
        payload = draw(st.binary(max_size=40))
        body = head + struct.pack(">HB", count, byte_count) + payload
    elif fc == 22:
        body = head + draw(st.binary(max_size=6))
    else:
        body = head + struct.pack(
            ">HHHB", draw(counts), draw(addresses), draw(counts), draw(st.integers(0, 255))
        )
        body += draw(st.binary(max_size=40))
    return body[:253]


@st.composite
def served_requests(draw: st.DrawFn) -> bytes:
    """Requests of the served function codes: well-formed, malformed, or one byte off."""
    body = draw(st.one_of(well_formed_requests(), well_formed_requests(), malformed_requests()))
    # Now and then a byte too many or too few: the implied length is then wrong.
    trim = draw(st.sampled_from([0, 0, 0, 0, -1, 1]))
    if trim < 0 and len(body) > 1:
        return body[:-1]
    if trim > 0 and len(body) < 253:
        return body + b"\x00"
    return body


any_requests = st.one_of(
    served_requests(),
    st.binary(min_size=1, max_size=253),
    st.builds(lambda fc, tail: bytes([fc]) + tail, st.integers(0, 255), st.binary(max_size=12)),
)


# -- fuzzing: one frame, many frames, fragments, garbage -------------------------------------


@FUZZ
@given(pdu=any_requests, tid=st.integers(0, 0xFFFF), unit=st.integers(0, 255))
def test_every_well_framed_request_gets_the_answer_the_spec_orders(server, master, pdu, tid, unit):
    answers = split_answers(send_and_drain(server.port, frame(tid, pdu, unit)))
    assert len(answers) == 1
    answer_tid, answer_unit, answer = answers[0]
    assert (answer_tid, answer_unit) == (tid, unit)
    check_answer(pdu, answer)
    master.check_plant()


@FUZZ
@given(pdus=st.lists(served_requests(), min_size=1, max_size=8), data=st.data())
def test_fragmented_and_pipelined_requests_are_answered_in_order(server, master, pdus, data):
    stream = b"".join(frame(i, pdu) for i, pdu in enumerate(pdus))
    cuts = data.draw(st.lists(st.integers(1, len(stream) - 1), max_size=6))
    answers = split_answers(send_and_drain(server.port, stream, cuts))
    assert [tid for tid, _, _ in answers] == list(range(len(pdus)))
    for pdu, (_, _, answer) in zip(pdus, answers, strict=True):
        check_answer(pdu, answer)
    master.check_plant()


@st.composite
def mangled_streams(draw: st.DrawFn) -> bytes:
    """Valid frames, then truncated, cut short, given a wrong length or protocol id, or junk."""
    frames = [
        frame(draw(st.integers(0, 0xFFFF)), pdu) for pdu in draw(st.lists(any_requests, max_size=4))
    ]
    stream = bytearray(b"".join(frames))
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["truncate", "length", "protocol", "flip", "junk"]))
        if how == "truncate" and stream:
            del stream[draw(st.integers(0, len(stream) - 1)) :]
        elif how == "length" and len(stream) >= 6:
            stream[4:6] = draw(st.integers(0, 0xFFFF)).to_bytes(2, "big")
        elif how == "protocol" and len(stream) >= 4:
            stream[2:4] = draw(st.integers(1, 0xFFFF)).to_bytes(2, "big")
        elif how == "flip" and stream:
            stream[draw(st.integers(0, len(stream) - 1))] ^= 1 << draw(st.integers(0, 7))
        else:
            stream += draw(st.binary(max_size=300))
    return bytes(stream)


@FUZZ
@given(stream=st.one_of(mangled_streams(), st.binary(max_size=1200)))
def test_garbage_never_crashes_the_server_and_others_keep_being_served(server, master, stream):
    answers = split_answers(send_and_drain(server.port, stream))
    assert len(answers) <= len(stream) // 8  # at most one answer per (shortest) request
    for _, _, answer in answers:
        if answer[0] & 0x80:
            assert len(answer) == 2 and answer[1] in (1, 2, 3), answer.hex()
    master.check_plant()


# -- what the spec orders, case by case ------------------------------------------------------


def ask(port: int, pdu: bytes) -> bytes:
    (answer,) = split_answers(send_and_drain(port, frame(7, pdu)))
    return answer[2]


@pytest.mark.parametrize("fc", [0, 7, 8, 11, 17, 20, 24, 43, 0x41, 0x64, 0x7F, 0x83, 0xFF])
def test_unknown_function_codes_answer_01_with_their_own_code(server, master, fc):
    assert ask(server.port, bytes([fc, 0, 0, 0, 1])) == bytes([fc | 0x80, 1])


@pytest.mark.parametrize(
    ("pdu", "code"),
    [
        (struct.pack(">BHH", 3, 0, 0), 3),  # FC3 count 0
        (struct.pack(">BHH", 3, 0, 126), 3),  # FC3 count > 125
        (struct.pack(">BHH", 4, 0, 0x7D1), 3),
        (struct.pack(">BHH", 1, 0, 2001), 3),  # FC1 count > 2000
        (struct.pack(">BHH", 2, 0, 0), 3),
        (struct.pack(">BHHBH", 16, 0, 1, 4, 400), 3),  # byte count 4 for one register
        (struct.pack(">BHHBHH", 16, 0, 2, 2, 400, 400), 3),  # byte count 2 for two
        (struct.pack(">BHHB", 16, 0, 0, 0), 3),  # FC16 count 0
        (struct.pack(">BHHBB", 15, 0, 6, 2, 1), 3),  # byte count 2 for six coils
        (struct.pack(">BHH", 5, 0, 0x1234), 3),  # FC5 value neither 0x0000 nor 0xFF00
        (struct.pack(">BHH", 3, 0, 1) + b"\x00", 3),  # implied length wrong
        (struct.pack(">BH", 3, 0), 3),
        (struct.pack(">BHH", 3, 5, 1), 2),  # HR 5 is unmapped
        (struct.pack(">BHH", 2, 8, 4), 2),  # DI 10, 11 are unmapped
        (struct.pack(">BHH", 4, 0xFFFF, 1), 2),
        (struct.pack(">BHH", 5, 6, 0xFF00), 2),
        (struct.pack(">BHH", 6, 0, 5000), 3),  # HR 0 range is 0..1000
        (struct.pack(">BHHBH", 16, 0, 1, 2, 0xFFFF), 3),  # -1 as INT
    ],
)
def test_protocol_errors_the_spec_orders(server, master, pdu, code):
    assert ask(server.port, pdu) == bytes([pdu[0] | 0x80, code])


def test_a_refused_coil_value_is_not_staged(server, master):
    off = struct.pack(">BHHBB", 15, 0, 6, 1, 0)
    assert master.request(off) == off[:5]
    assert ask(server.port, struct.pack(">BHH", 5, 0, 0x1234)) == bytes([0x85, 3])
    assert master.read_bits(1, 0, 6) == [False] * 6


@pytest.mark.parametrize(
    ("read_at", "write_value"),
    [(5, 777), (0xFFFF, 777), (5, 5000)],  # read range unmapped; with a refused value too
)
def test_fc23_with_an_unmapped_read_range_answers_02_and_writes_nothing(
    server, master, read_at, write_value
):
    write_hr0 = struct.pack(">BHHBH", 16, 0, 1, 2, 400)
    assert master.request(write_hr0) == write_hr0[:5]
    read_write = struct.pack(">BHHHHBH", 23, read_at, 1, 0, 1, 2, write_value)
    assert ask(server.port, read_write) == bytes([0x97, 2])
    assert master.request(struct.pack(">BHH", 3, 0, 1)) == bytes([3, 2]) + struct.pack(">H", 400)


def test_a_frame_of_another_protocol_is_skipped_and_the_next_answered(server, master):
    other = frame(1, struct.pack(">BHH", 3, 0, 1), protocol=7)
    answers = split_answers(send_and_drain(server.port, other + frame(2, b"\x03\x00\x00\x00\x01")))
    assert answers == [(2, 1, b"\x03\x02\x01\x90")]


@pytest.mark.parametrize("length", [0, 1, 255, 0xFFFF])
def test_an_impossible_length_closes_only_that_connection(server, master, length):
    good = frame(1, b"\x03\x00\x00\x00\x01")
    with connect(server.port) as sock:
        sock.sendall(good + frame(2, b"\x03\x00\x00\x00\x01", length=length) + good)
        # No half-close here: the server itself must end the connection.
        assert split_answers(read_all(sock)) == [(1, 1, b"\x03\x02\x01\x90")]
    master.check_plant()


def test_a_unit_id_filter_answers_other_units_0b_whatever_they_ask():
    with ServerThread(unit_id=3) as unit3:
        read = struct.pack(">BHH", 3, 0, 1)
        stream = frame(1, read, unit=3) + frame(2, read, unit=1) + frame(3, b"\x41", unit=0)
        assert split_answers(send_and_drain(unit3.port, stream)) == [
            (1, 3, b"\x03\x02\x01\x90"),
            (2, 1, b"\x83\x0b"),
            (3, 0, b"\xc1\x0b"),
        ]
        unit3.assert_healthy()


def test_a_truncated_frame_waits_and_a_closed_one_is_dropped(server, master):
    with connect(server.port) as sock:
        request = frame(3, b"\x02\x00\x00\x00\x0a")
        sock.sendall(request[:5])
        sock.settimeout(0.2)
        with pytest.raises(TimeoutError):
            sock.recv(100)  # half a header: nothing to answer yet
        sock.settimeout(TIMEOUT_S)
        sock.sendall(request[5:])
        assert split_answers(sock.recv(100)) == [(3, 1, b"\x02\x02\x0a\x01")]
        sock.sendall(request[:9])
    master.check_plant()


# -- load: storms, idle connections, a slow reader -------------------------------------------


@pytest.fixture
def live_server() -> Iterator[ServerThread]:
    """A fresh server with the plant running in real time (10 ms ticks), as under serve."""
    with ServerThread(run_plant=True) as thread:
        yield thread
        thread.assert_healthy()


class Poller:
    """An OpenPLC-like master in the test's loop: FC2, FC15, FC4, FC3, FC16 every 10 ms."""

    REQUESTS = [
        (frame(1, struct.pack(">BHH", 2, 0, 10)), b"\x02\x02\x0a\x01"),
        (frame(2, struct.pack(">BHHBB", 15, 0, 6, 1, 0)), b"\x0f\x00\x00\x00\x06"),
        (frame(3, struct.pack(">BHH", 4, 0, 1)), b"\x04\x02\x00\x00"),
        (frame(4, struct.pack(">BHH", 3, 0, 1)), b"\x03\x02\x01\x90"),
        (frame(5, struct.pack(">BHHBH", 16, 0, 1, 2, 400)), b"\x10\x00\x00\x00\x01"),
    ]

    def __init__(self, port: int) -> None:
        self.port = port
        #: (start, duration) of every poll, monotonic seconds.
        self.polls: list[tuple[float, float]] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Poller:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._task is not None
        await self._task  # raises what the master saw: a wrong answer, a timeout

    async def _run(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            while not self._stop.is_set():
                started = time.monotonic()
                for request, expected in self.REQUESTS:
                    writer.write(request)
                    header = await asyncio.wait_for(reader.readexactly(7), TIMEOUT_S)
                    answer = await reader.readexactly(MBAP.unpack(header)[2] - 1)
                    assert (header[:2], answer) == (request[:2], expected)
                self.polls.append((started, time.monotonic() - started))
                await asyncio.sleep(0.01)
        finally:
            writer.close()

    def during(self, start: float, end: float) -> list[float]:
        """Durations of the polls that started between ``start`` and ``end``."""
        return [duration for begun, duration in self.polls if start <= begun <= end]


def wait_for_connections(server: ServerThread, count: int) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while server.connections() != count:
        assert time.monotonic() < deadline, f"{server.connections()} connections, not {count}"
        time.sleep(0.02)


#: Slowest acceptable poll (five transactions) while the server is under load.
POLL_BOUND_S = 0.25


class LoadClient:
    """One of the load functions below, run in a child process.

    The clients must not share the server's interpreter: the GIL would make them wait for
    the server thread (and it for them), and the poll times would measure that. The child
    prints one JSON line with its findings; lines before it are steps the test answers.
    """

    def __init__(self, name: str, port: int) -> None:
        code = (
            "import asyncio, json, sys\n"
            "from tests.adapters import test_modbus_robustness as t\n"
            "print(json.dumps(asyncio.run(getattr(t, sys.argv[1])(int(sys.argv[2])))))\n"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, name, str(port)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def reached(self, expected: str) -> None:
        """Wait for the child to report ``expected``; it waits for :meth:`go` then."""
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == expected

    def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def result(self) -> dict[str, Any]:
        out, _ = self.process.communicate(timeout=60)
        assert self.process.returncode == 0, out
        return json.loads(out.splitlines()[-1])


async def _step(name: str) -> None:
    """In a load child: tell the test we reached ``name`` and wait until it has looked."""
    print(name, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


async def storm_while_polling(port: int) -> dict[str, Any]:
    """200 connect/close cycles and 50 idle connections while a master polls."""

    async def hit_and_run(i: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        if i % 4 == 1:
            writer.write(frame(i, b"\x03\x00\x00\x00\x01")[:9])  # leaves half a request
        elif i % 4 == 2:
            writer.write(frame(i, b"\x03\x00\x00\x00\x01"))
            await reader.readexactly(11)
        elif i % 4 == 3:  # reset instead of a clean close
            writer.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
        writer.close()
        await writer.wait_closed()

    async with Poller(port) as poller:
        await asyncio.sleep(0.1)
        start = time.monotonic()
        idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(50)]
        await _step("idle connections open")
        for batch in range(20):  # 10 at a time
            await asyncio.gather(*(hit_and_run(10 * batch + i) for i in range(10)))
        for i, (reader, writer) in enumerate(idle):  # still there, and served
            writer.write(frame(i, b"\x04\x00\x00\x00\x01"))
            assert await asyncio.wait_for(reader.readexactly(11), TIMEOUT_S) == frame(
                i, b"\x04\x02\x00\x00"
            )
            writer.close()
        end = time.monotonic()
        await asyncio.sleep(0.1)
    return {"during": poller.during(start, end), "after": poller.during(end, end + 1)}


async def slow_reader_while_polling(port: int) -> dict[str, Any]:
    """A client sends requests and never reads an answer, while a master polls."""
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # its answers pile up soon
    slow.connect(("127.0.0.1", port))
    slow.setblocking(False)
    batch = frame(9, struct.pack(">BHH", 2, 0, 10)) * 4096
    sent = 0  # a send may take part of the batch: go on from there, frames stay whole
    last_progress = time.monotonic()

    async def push() -> None:
        nonlocal sent, last_progress
        while True:
            try:
                sent += slow.send(batch[sent % len(batch) :])
                last_progress = time.monotonic()
            except BlockingIOError:
                await asyncio.sleep(0.005)

    async with Poller(port) as poller:
        await asyncio.sleep(0.1)
        start = time.monotonic()
        pusher = asyncio.create_task(push())
        await _step("sending")  # the test watches the server's queue for this client
        # The server has stopped reading: the kernel's buffers fill up, then nothing moves.
        while time.monotonic() - last_progress < 0.5 and time.monotonic() - start < 30:
            await asyncio.sleep(0.05)
        stuck = time.monotonic() - last_progress >= 0.5
        await asyncio.sleep(0.2)  # the master keeps polling
        end = time.monotonic()
        pusher.cancel()
    slow.close()
    return {"stuck": stuck, "sent": sent, "during": poller.during(start, end)}


@pytest.mark.realtime
def test_connection_storm_and_idle_connections_while_a_master_polls(live_server):
    load = LoadClient("storm_while_polling", live_server.port)
    load.reached("idle connections open")
    wait_for_connections(live_server, 51)
    load.go()
    found = load.result()
    wait_for_connections(live_server, 0)  # none left behind
    during = found["during"]
    assert during, "no poll completed during the storm"
    assert max(during) < POLL_BOUND_S, f"slowest poll {max(during) * 1000:.0f} ms"
    assert found["after"], "the master was not served after the storm"


#: asyncio's default high-water mark of a transport's write buffer.
HIGH_WATER = 64 * 1024


@pytest.mark.realtime
def test_a_client_that_never_reads_does_not_block_others(live_server):
    load = LoadClient("slow_reader_while_polling", live_server.port)
    try:
        load.reached("sending")
        # The server's queue for the slow client reaches the high-water mark, then stays
        # there: reading that client stops instead of queueing answers without end.
        deadline = time.monotonic() + 30
        while (backlog := live_server.call(live_server.server.write_backlog)) < HIGH_WATER:
            assert time.monotonic() < deadline, f"queue still {backlog} bytes"
            time.sleep(0.05)
        backlogs = []
        for _ in range(10):
            backlogs.append(live_server.call(live_server.server.write_backlog))
            time.sleep(0.05)
    finally:
        load.go()
        found = load.result()
    wait_for_connections(live_server, 0)
    assert max(backlogs) < HIGH_WATER + 4096, f"answers queued for the slow client: {backlogs}"
    assert found["stuck"], f"the server took {found['sent']} bytes and still reads"
    during = found["during"]
    assert len(during) >= 10, f"{len(during)} polls"
    assert max(during) < POLL_BOUND_S, f"slowest poll {max(during) * 1000:.0f} ms"
