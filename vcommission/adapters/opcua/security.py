"""Security of an OPC UA server: endpoints, server certificate, users and who may write.

No security by default (meant for 127.0.0.1); :class:`OpcUaSecurity` adds Basic256Sha256 Sign
/ SignAndEncrypt endpoints with a generated self-signed certificate and username/password
users. With users configured, anonymous sessions may browse, read and subscribe but not
write.
"""

from __future__ import annotations

import hmac
import logging
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from asyncua import Server, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import PermissionRuleset, User, UserRole
from cryptography.x509.oid import ExtendedKeyUsageOID

from vcommission.adapters.opcua import _asyncua_internals as internals
from vcommission.errors import ConfigError, VcommissionError

__all__ = ["OpcUaSecurity", "SecurityPolicy", "Users", "setup_security"]

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

    @property
    def signs(self) -> bool:
        """True when an endpoint other than None is offered (a certificate is needed)."""
        return any(p is not SecurityPolicy.NONE for p in self.policies)


class Users:
    """asyncua user manager: configured users log in, everybody else is anonymous.

    Never hands out asyncua's admin role, which would bypass the nodes' access levels.
    """

    def __init__(self, users: Mapping[str, str]) -> None:
        self.users = dict(users)

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
        if expected is None or not hmac.compare_digest(
            expected.encode(), (password or "").encode()
        ):
            log.info("OPC UA login refused for %r", username)
            return None  # asyncua answers BadUserAccessDenied
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
