"""Benchmark: OPC UA server start time, stock asyncua against vcommission's OpcUaServer.

Every measurement runs in a fresh Python process (imports and the address space are per
process), alternating the variants so that machine noise hits all alike; the printed figures
are medians of this run only.

* **stock**: ``asyncua.Server()``, ``init()``, ``start()`` on 127.0.0.1, port 0, with only the
  None security policy, then ``stop()``;
* **ours, cached**: :class:`vcommission.adapters.opcua.OpcUaServer` for the sorting line, with
  the standard address space cache in place (every start after the first on a machine);
* **ours, cold**: the same with an empty cache folder, so the start builds the cache (the
  first start on a machine, unless ``prepare_address_space_cache`` ran before).

``start`` is from constructing the server to listening; ``import`` is the time to import the
server module (mostly asyncua's generated protocol classes); ``stop`` the time ``stop()`` takes.

Usage: ``python3 tools/bench/opcua_start.py [--repeat 5]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VARIANTS = ("stock", "cached", "cold")


async def _stock() -> dict[str, float]:
    began = time.perf_counter()
    from asyncua import Server, ua

    imported = time.perf_counter()
    server = Server()
    await server.init()
    server.set_endpoint("opc.tcp://127.0.0.1:0/bench")
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    await server.start()
    started = time.perf_counter()
    await server.stop()
    return {
        "import": imported - began,
        "start": started - imported,
        "stop": time.perf_counter() - started,
    }


async def _ours(cache_dir: str) -> dict[str, float]:
    from vcommission.config.model import load_model
    from vcommission.signals import ProcessImage

    model = load_model(ROOT / "plant_models" / "sorting_line")
    image = ProcessImage(model.table)
    began = time.perf_counter()
    from vcommission.adapters.opcua import OpcUaServer

    imported = time.perf_counter()
    server = OpcUaServer(model, image, port=0, cache_dir=cache_dir)
    await server.start()
    started = time.perf_counter()
    await server.stop()
    return {
        "import": imported - began,
        "start": started - imported,
        "stop": time.perf_counter() - started,
    }


def _child(variant: str, cache_dir: str) -> None:
    figures = asyncio.run(_stock() if variant == "stock" else _ours(cache_dir))
    print(json.dumps(figures))


def _measure(variant: str, cache_dir: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", variant, "--cache-dir", cache_dir],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(done.stdout.splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="measurements per variant")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--cache-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.cache_dir)
        return 0
    results: dict[str, list[dict[str, float]]] = {v: [] for v in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="opcua-bench-") as scratch:
        cached = str(Path(scratch) / "cached")
        _measure("cached", cached)  # builds the cache the "cached" runs then load
        for run in range(args.repeat):
            for variant in VARIANTS:
                cache = str(Path(scratch) / f"cold-{run}") if variant == "cold" else cached
                results[variant].append(_measure(variant, cache))
    print(f"OPC UA server start, sorting_line, median of {args.repeat} fresh processes")
    print(f"{'variant':<14}{'import':>9}{'start':>9}{'import+start':>14}{'stop':>9}")
    for variant, runs in results.items():
        imp = statistics.median(r["import"] for r in runs)
        start = statistics.median(r["start"] for r in runs)
        total = statistics.median(r["import"] + r["start"] for r in runs)
        stop = statistics.median(r["stop"] for r in runs)
        label = {"stock": "stock asyncua", "cached": "ours, cached", "cold": "ours, cold"}[variant]
        print(f"{label:<14}{imp:>8.3f}s{start:>8.3f}s{total:>13.3f}s{stop:>8.3f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
