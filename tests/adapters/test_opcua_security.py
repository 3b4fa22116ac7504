"""OPC UA security from files and the command line: users, hashed passwords, login throttling.

Real asyncua servers and clients on loopback, and ``vcommission serve`` as a process; the
throttle's own arithmetic is driven by a hand-stepped clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

import pytest
from asyncua import Client, ua

from tests.helpers import SORTING_LINE, run_cli, serving
from vcommission.adapters.opcua import OpcUaSecurity, OpcUaServer, hash_password, load_users
from vcommission.adapters.opcua.security import LoginThrottle, Users, verify_password
from vcommission.config.model import load_model
from vcommission.errors import ConfigError
from vcommission.signals import ProcessImage

WAIT = 10.0


def test_a_hashed_password_verifies_and_a_wrong_one_does_not():
    stored = hash_password("s3cret", iterations=1000)
    assert stored.startswith("pbkdf2_sha256$1000$")
    assert verify_password(stored, "s3cret")
    assert not verify_password(stored, "s3cret ")
    assert hash_password("s3cret", iterations=1000) != stored  # a fresh salt each time
    assert verify_password("plain", "plain") and not verify_password("plain", "Plain")


def test_a_malformed_hash_is_refused_when_the_users_are_given():
    with pytest.raises(ConfigError, match="'operator': salt and hash must be hexadecimal"):
        OpcUaSecurity(users={"operator": "pbkdf2_sha256$1000$zz$zz"})


def test_a_users_file_loads_hashes_and_plain_passwords(tmp_path, caplog):
    hashed = hash_password("s3cret", iterations=1000)
    path = tmp_path / "users.yaml"
    path.write_text(f"users:\n  operator: '{hashed}'\n  bench: test\n")
    assert load_users(path) == {"operator": hashed, "bench": "test"}
    assert "password of 'bench' is stored in clear" in caplog.text


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("users:\n  operator: ''\n", 2, "'operator' needs a name and a password"),
        ("users:\n  a: x\n  operator: pbkdf2_sha256$x$00$00\n", 3, "password hash of 'operator'"),
        ("users: {}\n", 1, "no users"),
        ("user:\n  a: b\n", 1, "user"),
        ("users:\n  a: [b]\n", 2, "a"),
    ],
)
def test_a_bad_users_file_is_a_located_error(tmp_path, text, line, message):
    path = tmp_path / "users.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_users(path)
    assert f"{path}:{line}" in str(raised.value) and message in str(raised.value)


def test_the_throttle_locks_a_name_out_for_a_doubling_time_and_a_good_login_resets_it():
    now = [0.0]
    throttle = LoginThrottle(free_failures=3, base_s=1.0, max_s=4.0, clock=lambda: now[0])
    for _ in range(2):
        throttle.failed("operator")
    assert not throttle.locked("operator")
    throttle.failed("operator")  # the third: locked for 1 s
    assert throttle.locked("operator") and not throttle.locked("other")
    now[0] = 1.0
    assert not throttle.locked("operator")
    throttle.failed("operator")  # the fourth: 2 s
    now[0] = 2.9
    assert throttle.locked("operator")
    for _ in range(5):
        throttle.failed("operator")  # capped at max_s
    now[0] += 4.0
    assert not throttle.locked("operator")
    throttle.succeeded("operator")
    throttle.failed("operator")
    assert not throttle.locked("operator")  # counting from zero again


def test_unknown_names_share_one_tally_so_guessing_names_is_throttled_too():
    users = Users({"operator": "s3cret"}, LoginThrottle(clock=lambda: 0.0))
    for name in ("root", "admin", "guest"):
        assert users.get_user(None, name, "x") is None
    assert users.throttle.locked("<unknown user>")
    assert users.get_user(None, "operator", "s3cret") is not None  # a real user is not locked


async def login(endpoint: str, password: str) -> bool:
    client = Client(endpoint, timeout=WAIT)
    client.set_user("operator")
    client.set_password(password)
    try:
        await client.connect()
    except ua.uaerrors.BadUserAccessDenied:
        return False
    finally:
        with contextlib.suppress(Exception):
            await client.disconnect()
    return True


async def test_after_three_wrong_passwords_even_the_right_one_waits_for_the_lockout(tmp_path):
    model = load_model(SORTING_LINE)
    security = OpcUaSecurity(users={"operator": hash_password("s3cret", iterations=1000)})
    async with OpcUaServer(model, ProcessImage(model.table), port=0, security=security) as server:
        for guess in ("a", "b", "c"):
            assert not await login(server.endpoint, guess)
        assert not await login(server.endpoint, "s3cret")  # locked for 1 s
        await asyncio.sleep(1.1)
        assert await login(server.endpoint, "s3cret")


@pytest.mark.wire
def test_serve_takes_users_from_a_file_and_only_they_may_write(tmp_path):
    users = tmp_path / "users.yaml"
    users.write_text(f"users:\n  operator: '{hash_password('s3cret', iterations=1000)}'\n")
    with serving("--modbus", "off", "--opcua", "127.0.0.1:0", "--users", str(users)) as process:
        first = process.stdout.readline()
        assert first.startswith("opcua listening on "), first + process.stderr.read()
        endpoint = first.split(" on ", 1)[1].strip()
        anonymous, operator = asyncio.run(_write_start(endpoint))
        assert anonymous == "BadUserAccessDenied" and operator == "Good"
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)
        assert process.returncode == 0, err


async def _write_start(endpoint: str) -> tuple[str, str]:
    """Press start anonymously, then as the operator; the status name of each write."""
    outcomes = []
    for user in (None, "operator"):
        client = Client(endpoint, timeout=WAIT)
        if user is not None:
            client.set_user(user)
            client.set_password("s3cret")
        async with client:
            index = await client.get_namespace_index("urn:vcommission:sorting_line")
            node = client.get_node(ua.NodeId("start_pb.pressed", index))
            try:
                await node.write_value(ua.DataValue(ua.Variant(True, ua.VariantType.Boolean)))
                outcomes.append("Good")
            except ua.UaStatusCodeError as exc:
                outcomes.append(type(exc).__name__)
    return outcomes[0], outcomes[1]


def test_serve_reports_a_bad_users_file_with_its_line_and_a_bad_policy_as_usage(tmp_path):
    users = tmp_path / "users.yaml"
    users.write_text("users:\n  operator: ''\n")
    result = run_cli("serve", "plant_models/sorting_line", "--users", str(users))
    assert result.returncode == 1 and f"{users}:2" in result.stderr
    result = run_cli("serve", "plant_models/sorting_line", "--security", "Basic128Rsa15")
    assert result.returncode == 3 and "Basic128Rsa15" in result.stderr
    result = run_cli("serve", "plant_models/sorting_line", "--security", "Basic256Sha256_Sign")
    assert result.returncode == 3 and "cert_dir" in result.stderr
