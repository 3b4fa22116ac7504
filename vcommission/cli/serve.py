"""``vcommission serve``: run a model in real time and serve its I/O over Modbus and OPC UA."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from vcommission.adapters.limits import ServerLimits
from vcommission.cli._common import (
    Subparsers,
    add_rt_priority_option,
    at_least,
    endpoint,
    model_path,
    non_negative_float,
    positive_float,
)
from vcommission.cli.exitcodes import ExitCode
from vcommission.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["handle", "register"]


def register(commands: Subparsers) -> None:
    serve = commands.add_parser("serve", help="run a model in real time and serve its I/O")
    serve.add_argument(
        "model", type=model_path, metavar="MODEL", help="model file or folder, or a bundled name"
    )
    serve.add_argument(
        "--modbus",
        type=endpoint(502),
        default=("127.0.0.1", 502),
        metavar="HOST:PORT",
        help="Modbus TCP endpoint (default 127.0.0.1:502; port 0 picks a free one; 'off')",
    )
    serve.add_argument(
        "--opcua",
        type=endpoint(4840),
        default=("127.0.0.1", 4840),
        metavar="HOST:PORT",
        help="OPC UA endpoint (default 127.0.0.1:4840; port 0 picks a free one; 'off')",
    )
    serve.add_argument(
        "--opcua-in-process",
        action="store_true",
        help="run the OPC UA server in the serving process (default: a process of its own, "
        "so many subscribers cannot make the plant's ticks late)",
    )
    serve.add_argument(
        "--web",
        type=endpoint(8080),
        default=None,
        metavar="HOST:PORT",
        help="also serve the training pages (3D view, panel, instructor with the printed "
        "token) here, e.g. 127.0.0.1:8080; needs the web extra",
    )
    serve.add_argument(
        "--modbus-client",
        type=endpoint(502),
        default=None,
        metavar="HOST:PORT",
        help="client mode: poll this PLC's Modbus server (Factory I/O's 'Modbus client')",
    )
    serve.add_argument(
        "--client-map",
        type=Path,
        default=None,
        metavar="FILE",
        help="YAML map of tags to the PLC server's addresses (default: see README)",
    )
    serve.add_argument("--unit-id", type=int, default=None, help="answer only this unit id")
    serve.add_argument(
        "--speed", type=positive_float, default=1.0, metavar="FACTOR",
        help="times real time (default 1)",
    )  # fmt: skip
    add_rt_priority_option(serve)
    serve.add_argument(
        "--duration", type=positive_float, default=None, metavar="SECONDS",
        help="stop after this many virtual seconds (default: until Ctrl-C)",
    )  # fmt: skip
    serve.add_argument(
        "--watchdog",
        type=non_negative_float,
        default=None,
        metavar="SECONDS",
        help="PLC write timeout before the safe state (default: the model's; 0 disables)",
    )
    serve.add_argument(
        "--max-connections",
        type=at_least(0),
        default=ServerLimits.max_connections,
        metavar="N",
        help="clients each server serves at once; one more is closed at once "
        f"(default {ServerLimits.max_connections}; 0: no limit)",
    )
    serve.add_argument(
        "--idle-timeout",
        type=non_negative_float,
        default=ServerLimits.idle_timeout_s,
        metavar="SECONDS",
        help="close a Modbus connection silent this long, and an OPC UA connection with no "
        f"activated session (default {ServerLimits.idle_timeout_s:g}; 0: never)",
    )
    serve.add_argument(
        "--keepalive",
        type=non_negative_float,
        default=ServerLimits.keepalive_s,
        metavar="SECONDS",
        help=f"TCP keepalive idle time (default {ServerLimits.keepalive_s:g}; 0: off)",
    )
    serve.add_argument(
        "--users",
        type=Path,
        default=None,
        metavar="FILE",
        help="OPC UA users (YAML: users: {name: password or pbkdf2 hash}); only they may "
        "write, anonymous sessions only read",
    )
    serve.add_argument(
        "--security",
        default="None",
        metavar="POLICIES",
        help="OPC UA endpoints, comma-separated: None, Basic256Sha256_Sign, "
        "Basic256Sha256_SignAndEncrypt (default None)",
    )
    serve.add_argument(
        "--cert-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder of the OPC UA server key and certificate (made there when missing); "
        "needed by the Basic256Sha256 endpoints",
    )
    serve.add_argument(
        "--operator-script",
        type=Path,
        default=None,
        metavar="FILE",
        help="play timed operator actions from the start: a YAML file of scenario steps "
        "(hold, pulse, set, wait, spawn, fault, ...), e.g. press Start after 2 s",
    )
    serve.set_defaults(handler=handle)


def handle(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    import asyncio

    from vcommission.serve import ServeOptions, serve

    if args.unit_id is not None and not 0 <= args.unit_id <= 255:
        err.print(f"--unit-id {args.unit_id} must be 0..255", markup=False)
        return ExitCode.USAGE
    from vcommission.adapters.opcua import OpcUaSecurity, load_users

    try:
        security = OpcUaSecurity(
            policies=tuple(p.strip() for p in args.security.split(",")),
            cert_dir=args.cert_dir,
            users=load_users(args.users) if args.users is not None else {},
        )
    except ConfigError as exc:
        err.print(str(exc), markup=False)
        # A bad users file is input found wrong (1); a bad --security list is usage (3).
        return ExitCode.USAGE if args.users is None else ExitCode.FAILED
    options = ServeOptions(
        modbus=args.modbus,
        opcua=args.opcua,
        unit_id=args.unit_id,
        speed=args.speed,
        rt_priority=args.rt_priority,
        duration=args.duration,
        watchdog=args.watchdog,
        modbus_client=args.modbus_client,
        client_map=args.client_map,
        limits=ServerLimits(args.max_connections, args.idle_timeout, args.keepalive),
        opcua_security=security,
        opcua_process=not args.opcua_in_process,
        operator_script=args.operator_script,
        web=args.web,
    )
    asyncio.run(serve(args.model, options, out))
    return ExitCode.OK
