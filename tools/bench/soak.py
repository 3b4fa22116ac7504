"""Soak benchmark: a served line for N minutes under Modbus masters and OPC UA subscribers.

What ``vcommission serve`` does for days, measured: the sorting line in real time, driven by
``sorting.st`` on the built-in soft PLC (so parts flow, sort and retire the whole time), with
its Modbus TCP and OPC UA servers, and the served plant's bounded history. After a baseline
with no client (the same run's own floor), one child process starts ``--masters`` Modbus
masters polling every 10 ms as OpenPLC does (FC2 DI 0-9, FC1 coils 0-5, FC4 IR 0, FC3 HR 0;
reads only, since the soft PLC owns the outputs) and another ``--subscribers`` OPC UA clients
subscribed to every variable.

Printed, every ``--sample`` seconds and at the end: RSS of the serving process (from
/proc/self/statm), its slope after the first five minutes (a least-squares line, MB/min),
tick lateness p99 and the share of late ticks, with clients against the baseline (as a
ratio), Modbus requests and errors, OPC UA notifications, and the load average (these
machines are shared: a loaded one makes every tick later).

Usage: ``python3 tools/bench/soak.py [--minutes 60] [--baseline 30] [--masters 4]
[--subscribers 1] [--items N] [--sample 10] [--opcua-in-process] [--opcua-niceness N]
[--subscribers-niceness N] [--tracemalloc]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import struct
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "plant_models" / "sorting_line"
PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20
#: Reads an OpenPLC-style master makes per poll: (function code, address, count).
POLL = [(2, 0, 10), (1, 0, 6), (4, 0, 1), (3, 0, 1)]


def rss_mb(pid: int | str = "self") -> float:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_MB
    except FileNotFoundError:
        return 0.0


# -- the clients, in a child process ---------------------------------------------------------


async def _master(port: int, stop: float, stats: dict[str, int], latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    tid = 0
    next_poll = time.monotonic()
    while time.monotonic() < stop:
        for fc, address, count in POLL:
            tid = (tid + 1) & 0xFFFF
            sent = time.perf_counter()
            writer.write(struct.pack(">HHHBBHH", tid, 0, 6, 1, fc, address, count))
            await writer.drain()
            header = await reader.readexactly(7)
            answer = await reader.readexactly(struct.unpack(">H", header[4:6])[0] - 1)
            latencies.append(time.perf_counter() - sent)
            stats["requests"] += 1
            if answer[0] & 0x80 or struct.unpack(">H", header[:2])[0] != tid:
                stats["errors"] += 1
        next_poll += 0.01
        await asyncio.sleep(max(0.0, next_poll - time.monotonic()))
    writer.close()


async def _subscriber(endpoint: str, stop: float, stats: dict[str, int], items: int) -> None:
    from asyncua import Client

    class Counter:
        def datachange_notification(self, node: object, value: object, data: object) -> None:
            stats["notifications"] += 1

    async with Client(endpoint, timeout=30) as client:
        index = await client.get_namespace_index("urn:vcommission:sorting_line")
        folder = await client.nodes.objects.get_child(f"{index}:sorting_line")
        variables = []
        for component in await folder.get_children():
            variables += await component.get_children()
        if items:  # a client of N items: the variables again and again, as many HMIs do
            variables = [variables[i % len(variables)] for i in range(items)]
        subscription = await client.create_subscription(50, Counter())
        await subscription.subscribe_data_change(variables)
        while time.monotonic() < stop:
            await asyncio.sleep(0.5)


async def _clients(args: argparse.Namespace) -> None:
    stop = time.monotonic() + args.seconds
    stats = {"requests": 0, "errors": 0, "notifications": 0}
    latencies: list[float] = []
    tasks = [_master(args.port, stop, stats, latencies) for _ in range(args.masters)]
    tasks += [_subscriber(args.endpoint, stop, stats, args.items) for _ in range(args.subscribers)]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    stats["client_failures"] = sum(1 for r in results if isinstance(r, BaseException))
    stats["modbus_p50_ms"] = float(np.percentile(latencies, 50)) * 1e3 if latencies else 0.0
    stats["modbus_p99_ms"] = float(np.percentile(latencies, 99)) * 1e3 if latencies else 0.0
    print(json.dumps(stats), flush=True)


# -- the served line -------------------------------------------------------------------------


async def _soak(args: argparse.Namespace) -> int:
    from vcommission.clock import ClockMode
    from vcommission.config.model import load_model
    from vcommission.plc import compile_program
    from vcommission.serve import SERVED_HISTORY
    from vcommission.session import ServerProtocol, SessionBuilder

    model = load_model(MODEL)
    program = compile_program(MODEL / "plc" / "sorting.st", model)
    builder = (
        SessionBuilder(model)
        .clock(ClockMode.REALTIME)
        .plc(program)
        .recorder(None)
        .serve(ServerProtocol.MODBUS, "127.0.0.1", 0)
        .serve(ServerProtocol.OPCUA, "127.0.0.1", 0, process=not args.opcua_in_process)
    )
    with builder.build() as session:
        session.plant.bound_history(SERVED_HISTORY)
        sim = session.sim
        async with session:
            (_, modbus), (_, opcua) = session.served()
            run = asyncio.create_task(sim.run_async(None))
            await asyncio.sleep(0.3)
            session.link.operate("start_pb.pressed", True)
            await asyncio.sleep(0.2)
            session.link.operate("start_pb.pressed", False)
            await asyncio.sleep(args.baseline)
            pacer = sim.pacer
            assert pacer is not None
            baseline = pacer.summary()
            pacer_mark = (pacer.ticks, pacer.late_ticks)
            pacer.lateness_ns.clear()
            seconds = args.minutes * 60
            # The PLCs and the HMIs are different machines on a plant: the masters poll from
            # a process of their own, so the subscribers' notification decoding does not sit
            # in the masters' event loop and count as Modbus latency.
            groups = [(args.masters, 0), (0, args.subscribers)]
            children = []
            for masters, subscribers in groups:
                if not (masters or subscribers):
                    continue
                child = await asyncio.create_subprocess_exec(
                    sys.executable, __file__, "--clients", "--port", str(modbus.port),
                    "--endpoint", opcua.endpoint, "--seconds", str(seconds),
                    "--masters", str(masters), "--subscribers", str(subscribers),
                    "--items", str(args.items),
                    stdout=asyncio.subprocess.PIPE,
                )  # fmt: skip
                if subscribers and args.subscribers_niceness:
                    os.setpriority(os.PRIO_PROCESS, child.pid, args.subscribers_niceness)
                children.append(child)
            started = time.monotonic()
            samples: list[tuple[float, float]] = []
            # The OPC UA server's own process, when it has one, grows on its own.
            opcua_pid = getattr(opcua, "pid", None)
            if opcua_pid is not None and args.opcua_niceness is not None:
                os.setpriority(os.PRIO_PROCESS, opcua_pid, args.opcua_niceness)
            opcua_samples: list[tuple[float, float]] = []
            # A histogram of 10 us bins (the last one: 1 s and later), not a list: an hour of
            # ticks kept as Python ints grew this very process by 13 MB, 0.2 MB/min of the
            # slope it measures.
            lateness = np.zeros(100_001, dtype=np.int64)
            if args.tracemalloc:
                import tracemalloc

                tracemalloc.start(8)
                first_snapshot = None
            while (
                any(c.returncode is None for c in children)
                and time.monotonic() - started < seconds + 60
            ):
                await asyncio.sleep(args.sample)
                minute = (time.monotonic() - started) / 60
                late_10us = np.fromiter(pacer.lateness_ns, dtype=np.int64) // 10_000
                np.add.at(lateness, np.minimum(late_10us, len(lateness) - 1), 1)
                pacer.lateness_ns.clear()
                if args.tracemalloc and first_snapshot is None and minute >= 1.0:
                    first_snapshot = tracemalloc.take_snapshot()
                samples.append((minute, rss_mb()))
                if opcua_pid is not None:
                    opcua_samples.append((minute, rss_mb(opcua_pid)))
                print(
                    f"{minute:6.1f} min  RSS {samples[-1][1]:7.1f} MB  "
                    f"late ticks {pacer.late_ticks - pacer_mark[1]:6d} of "
                    f"{pacer.ticks - pacer_mark[0]:8d}  parts made {session.plant.parts.total:6d}"
                    f"  load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
                if all(c.stdout.at_eof() for c in children):
                    break
            outs = [(await c.communicate())[0] for c in children]
            run.cancel()
    stats = _merged([json.loads(out.decode().strip().splitlines()[-1]) for out in outs])
    ticks = pacer.ticks - pacer_mark[0]
    late = pacer.late_ticks - pacer_mark[1]
    slope = _slope_after_five(samples)
    counted = lateness.cumsum()
    p99 = float(np.searchsorted(counted, 0.99 * counted[-1])) / 100 if counted[-1] else 0.0
    print()
    print(f"minutes under load         {args.minutes:g} ({args.masters} masters at 10 ms, "
          f"{args.subscribers} OPC UA subscriber(s) of every variable)")  # fmt: skip
    where = "the serving process" if args.opcua_in_process else "a process of its own"
    print(f"OPC UA server              in {where}")
    print(f"RSS first / last sample    {samples[0][1]:.1f} / {samples[-1][1]:.1f} MB")
    print(f"RSS slope after 5 min      {'n/a' if slope is None else f'{slope:.3f} MB/min'}")
    if opcua_samples:
        child = _slope_after_five(opcua_samples)
        print(
            f"OPC UA process RSS         {opcua_samples[0][1]:.1f} / {opcua_samples[-1][1]:.1f} MB,"
            f" slope {'n/a' if child is None else f'{child:.3f} MB/min'} after 5 min"
        )
    print(f"Modbus requests / errors   {stats['requests']} / {stats['errors']}")
    print(
        f"Modbus latency p50 / p99   {stats['modbus_p50_ms']:.2f} / "
        f"{stats['modbus_p99_ms']:.2f} ms (request to answer, at the master)"
    )
    print(f"OPC UA notifications       {stats['notifications']}")
    print(f"client failures            {stats['client_failures']}")
    print(f"late ticks under load      {late} of {ticks} ({100 * late / max(ticks, 1):.2f}%)")
    print(
        f"lateness p99 load/baseline {p99:.3f} ms / {baseline['lateness_p99_ms']:.3f} ms "
        f"(ratio {p99 / max(baseline['lateness_p99_ms'], 1e-3):.2f})"
    )
    print(f"load average (1 min)       {os.getloadavg()[0]:.1f}")
    if args.tracemalloc and first_snapshot is not None:
        print("\nPython allocations grown since minute 1 (tracemalloc, top 15):")
        growth = tracemalloc.take_snapshot().compare_to(first_snapshot, "traceback")
        for stat in growth[:15]:
            print(f"  {stat.size_diff / 2**20:+8.2f} MB {stat.count_diff:+8d} blocks")
            for line in stat.traceback.format()[-6:]:
                print(f"      {line}")
    return 0 if stats["errors"] == 0 and stats["client_failures"] == 0 else 1


#: What each client process counts; the latencies come from the one that polled.
_COUNTS = ("requests", "errors", "notifications", "client_failures")


def _merged(reports: list[dict[str, float]]) -> dict[str, float]:
    """The client processes' figures as one: counts added, the masters' latencies kept."""
    merged = {key: sum(report[key] for report in reports) for key in _COUNTS}
    merged |= {"modbus_p50_ms": 0.0, "modbus_p99_ms": 0.0}
    for report in reports:
        if report["requests"]:
            merged["modbus_p50_ms"] = report["modbus_p50_ms"]
            merged["modbus_p99_ms"] = report["modbus_p99_ms"]
    return merged


def _slope_after_five(samples: list[tuple[float, float]]) -> float | None:
    """MB per minute of a least-squares line through the samples after minute 5."""
    after_five = np.array([(m, r) for m, r in samples if m >= 5.0])
    if len(after_five) <= 2:
        return None
    return float(np.polyfit(after_five[:, 0], after_five[:, 1], 1)[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--baseline", type=float, default=30.0, help="s with no client first")
    parser.add_argument("--masters", type=int, default=4)
    parser.add_argument("--subscribers", type=int, default=1)
    parser.add_argument(
        "--items",
        type=int,
        default=0,
        help="monitored items per subscriber (0: every variable once)",
    )
    parser.add_argument("--sample", type=float, default=10.0, help="s between samples")
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="trace Python allocations and print what grew since minute 1",
    )
    parser.add_argument(
        "--opcua-in-process",
        action="store_true",
        help="the OPC UA server in the serving process (default: its own, as serve runs it)",
    )
    parser.add_argument(
        "--opcua-niceness",
        type=int,
        help="set the OPC UA process's niceness to N (default: as serve starts it)",
    )
    parser.add_argument(
        "--subscribers-niceness",
        type=int,
        default=0,
        help="run the subscribers' process at niceness N (HMIs on machines of their own)",
    )
    parser.add_argument("--clients", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.clients:
        asyncio.run(_clients(args))
        return 0
    return asyncio.run(_soak(args))


if __name__ == "__main__":
    sys.exit(main())
