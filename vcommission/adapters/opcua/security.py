"""Security of an OPC UA server: endpoints, server certificate, users and who may write.

No security by default (meant for 127.0.0.1); :class:`OpcUaSecurity` adds Basic256Sha256 Sign
/ SignAndEncrypt endpoints with a generated self-signed certificate and username/password
users. With users configured, anonymous sessions may browse, read and subscribe but not
write. Users come from a YAML file (:func:`load_users`) whose passwords are PBKDF2 hashes
(:func:`hash_password`) or, for a test bench, plain text; repeated failed logins lock the
name out for a growing time (:class:`LoginThrottle`), so that guessing is slow.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from asyncua import Server, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import PermissionRuleset, User, UserRole
from cryptography.x509.oid import ExtendedKeyUsageOID

from vcommission.adapters.limits import RateLimitedLog
from vcommission.adapters.opcua import _asyncua_internals as internals
from vcommission.config.yamlload import build, load_document
from vcommission.errors import ConfigError, VcommissionError

__all__ = [
    "LoginThrottle",
    "OpcUaSecurity",
    "SecurityPolicy",
    "Users",
    "hash_password",
    "load_users",
    "setup_security",
    "verify_password",
]

log = logging.getLogger(__name__)


class SecurityPolicy(str, Enum):
    """Endpoints an :class:`OpcUaServer` offers."""

    #: No signing, no encryption: for 127.0.0.1 and closed test networks.
    NONE = "None"
    #: Basic256Sha256, messages signed.
    BASIC256SHA256_SIGN = "Basic256Sha256_Sign"
    #: Basic256Sha256, messages signed and encrypted.
    BASIC256SHA256_SIGN_AND_ENCRYPT = "Basic256Sha256_SignAndEncrypt"


_POLICY_TYPES: dict[SecurityPolicy, ua.SecurityPolicyType] = {
    SecurityPolicy.NONE: ua.SecurityPolicyType.NoSecurity,
    SecurityPolicy.BASIC256SHA256_SIGN: ua.SecurityPolicyType.Basic256Sha256_Sign,
    SecurityPolicy.BASIC256SHA256_SIGN_AND_ENCRYPT: (
        ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt
    ),
}


@dataclass(frozen=True)
class OpcUaSecurity:
    """Endpoints, server certificate and users of an :class:`OpcUaServer`.

    Client certificates are not validated (a self-signed one is accepted): the secure
    endpoints protect the channel, :attr:`users` decide who may write.
    """

    #: Security policies offered, one endpoint each.
    policies: tuple[SecurityPolicy, ...] = (SecurityPolicy.NONE,)
    #: Folder of the server's key (``server_key.pem``) and certificate (``server_cert.der``),
    #: generated there (self-signed, RSA 2048) when missing; needed by the signing policies.
    cert_dir: Path | None = None
    #: Username -> password. When given, only these users may write; anonymous sessions may
    #: still browse, read and subscribe.
    users: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            policies = tuple(SecurityPolicy(p) for p in self.policies)
        except ValueError as exc:
            choices = ", ".join(p.value for p in SecurityPolicy)
            raise ConfigError(
                f"opcua security: policies={self.policies!r}: {exc} ({choices})"
            ) from None
        if not policies:
            raise ConfigError("opcua security: policies=() offers no endpoint")
        object.__setattr__(self, "policies", policies)
        if self.cert_dir is not None:
            object.__setattr__(self, "cert_dir", Path(self.cert_dir))
        elif self.signs:
            raise ConfigError(
                f"opcua security: policies={[p.value for p in policies]} need a cert_dir "
                "for the server certificate"
            )
        for name, password in self.users.items():
            if not name or not password:
                raise ConfigError(f"opcua security: users: {name!r} needs a name and a password")
            try:
                _parse_hash(password)
            except ValueError as exc:
                raise ConfigError(f"opcua security: users: {name!r}: {exc}") from None

    @property
    def signs(self) -> bool:
        """True when an endpoint other than None is offered (a certificate is needed)."""
        return any(p is not SecurityPolicy.NONE for p in self.policies)


#: ``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>``, as :func:`hash_password` writes.
_HASH_SCHEME = "pbkdf2_sha256"
_HASH_ITERATIONS = 200_000


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = 0) -> str:
    """A PBKDF2-SHA256 hash of ``password`` for a users file (random salt by default)."""
    salt = os.urandom(16) if salt is None else salt
    iterations = iterations or _HASH_ITERATIONS
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"{_HASH_SCHEME}${iterations}${salt.hex()}${digest.hex()}"


def _parse_hash(stored: str) -> tuple[int, bytes, bytes] | None:
    """(iterations, salt, digest) of a stored hash; None for a plain password."""
    if not stored.startswith(_HASH_SCHEME + "$"):
        return None
    parts = stored.split("$")
    if len(parts) != 4 or not parts[1].isdigit() or int(parts[1]) < 1:
        raise ValueError(f"not {_HASH_SCHEME}$<iterations>$<salt hex>$<hash hex>")
    try:
        return int(parts[1]), bytes.fromhex(parts[2]), bytes.fromhex(parts[3])
    except ValueError:
        raise ValueError("salt and hash must be hexadecimal") from None


def verify_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (a hash, or a plain password), in constant time."""
    parsed = _parse_hash(stored)
    if parsed is None:
        return hmac.compare_digest(stored.encode(), password.encode())
    iterations, salt, digest = parsed
    candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return hmac.compare_digest(digest, candidate)


@dataclass
class _UsersFile:
    """A users file: ``users: {name: password or pbkdf2_sha256$... hash}``."""

    users: dict[str, str]


def load_users(path: str | Path) -> dict[str, str]:
    """Load a users file strictly; names and passwords checked, errors located.

    Raises:
        ConfigError: The file is missing, not YAML, or an entry is empty or a bad hash.
    """
    doc = load_document(path)
    loaded = build(doc, _UsersFile)
    if loaded is not None:
        if not loaded.users:
            doc.issue(("users",), "no users: give at least one name: password")
        for name, stored in loaded.users.items():
            if not name or not stored:
                doc.issue(("users", name), f"{name!r} needs a name and a password")
                continue
            try:
                if _parse_hash(stored) is None:
                    log.warning("%s: the password of %r is stored in clear", path, name)
            except ValueError as exc:
                doc.issue(("users", name), f"password hash of {name!r}: {exc}")
    doc.raise_if_issues()
    assert loaded is not None
    return loaded.users


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0


@dataclass
class LoginThrottle:
    """Failed logins lock a name out for a time that doubles with every further failure.

    After ``free_failures`` wrong passwords in a row a name is refused, whatever password
    comes, for ``base_s``, then twice that after the next failure, up to ``max_s``; a good
    login resets it. Names that are not users share one tally, so that guessing names is
    throttled too. The clock is the wall clock: this paces people and scripts, never a
    simulation.
    """

    free_failures: int = 3
    base_s: float = 1.0
    max_s: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, _Failures] = field(default_factory=dict)

    def locked(self, key: str) -> bool:
        """Whether ``key`` is locked out now."""
        entry = self._failures.get(key)
        return entry is not None and self.clock() < entry.locked_until

    def failed(self, key: str) -> None:
        """Count a failed login of ``key``; lock it once past the free failures."""
        entry = self._failures.setdefault(key, _Failures())
        entry.count += 1
        beyond = entry.count - self.free_failures
        if beyond >= 0:
            entry.locked_until = self.clock() + min(self.max_s, self.base_s * 2**beyond)

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)


#: The throttle's tally of every name that is not a user.
_UNKNOWN_USER = "<unknown user>"


class Users:
    """asyncua user manager: configured users log in, everybody else is anonymous.

    Never hands out asyncua's admin role, which would bypass the nodes' access levels.
    Passwords are plain or PBKDF2 hashes (:func:`verify_password`); failed logins are
    throttled (:class:`LoginThrottle`).
    """

    def __init__(self, users: Mapping[str, str], throttle: LoginThrottle | None = None) -> None:
        self.users = dict(users)
        self.throttle = throttle if throttle is not None else LoginThrottle()
        self._events = RateLimitedLog(log, level=logging.WARNING)

    def get_user(
        self,
        iserver: Any,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> User | None:
        if not self.users:
            return User(role=UserRole.User, name=username)
        if not username:
            return User(role=UserRole.Anonymous)
        expected = self.users.get(username)
        key = username if expected is not None else _UNKNOWN_USER
        if self.throttle.locked(key):
            self._events.event("locked", "OPC UA login of %r refused: locked out", username)
            return None  # asyncua answers BadUserAccessDenied
        if expected is None or not verify_password(expected, password or ""):
            self.throttle.failed(key)
            self._events.event("refused", "OPC UA login refused for %r", username)
            return None
        self.throttle.succeeded(key)
        return User(role=UserRole.User, name=username)


class _AnonymousReadOnly(PermissionRuleset):
    """Services per role: users all that asyncua allows a user, anonymous the same but writes."""

    def __init__(self) -> None:
        user = internals.user_request_types()
        write = ua.NodeId(ua.ObjectIds.WriteRequest_Encoding_DefaultBinary)
        call = ua.NodeId(ua.ObjectIds.CallRequest_Encoding_DefaultBinary)
        self._allowed = {
            UserRole.Admin: user,
            UserRole.User: user,
            UserRole.Anonymous: user - {write, call},
        }

    def check_validity(self, user: User, action_type_id: ua.NodeId, body: Any) -> bool:
        return action_type_id in self._allowed[user.role]


async def setup_security(
    server: Server, security: OpcUaSecurity, application_uri: str, model_name: str
) -> None:
    """Certificate, identity tokens, endpoints and permission rules of ``server``.

    Raises:
        VcommissionError: The certificate cannot be made or written.
    """
    if security.signs:
        folder = security.cert_dir
        assert folder is not None  # OpcUaSecurity checks it
        key, cert = folder / "server_key.pem", folder / "server_cert.der"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            await setup_self_signed_certificate(
                key,
                cert,
                application_uri,
                socket.gethostname(),
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
                {"commonName": f"vcommission {model_name}"},
            )
        except OSError as exc:
            raise VcommissionError(f"OPC UA server certificate in {folder}: {exc}") from exc
        await server.load_certificate(cert)
        await server.load_private_key(key)
    tokens: list[type] = [ua.AnonymousIdentityToken]
    if security.users:
        tokens.append(ua.UserNameIdentityToken)
        if SecurityPolicy.BASIC256SHA256_SIGN_AND_ENCRYPT not in security.policies:
            log.warning("OPC UA users but no encrypting endpoint: passwords may travel clear")
    server.set_identity_tokens(tokens)
    server.set_security_policy(
        [_POLICY_TYPES[p] for p in security.policies],
        permission_ruleset=_AnonymousReadOnly() if security.users else None,
    )
