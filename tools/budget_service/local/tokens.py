"""Tokens for the local API: RS256 JWTs signed with a key kept in the state dir, verified the way
API Gateway's JWT authorizer verifies them (signature, issuer, audience, expiry)."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

LOCAL_ISSUER = "https://budget-service.local/"
KEY_FILE = "jwt-signing-key.pem"
KEY_ID = "budget-local-1"  # API Gateway picks the issuer's key by the token's kid
DEFAULT_STATE_DIR = Path(".budget-local")


@dataclass(frozen=True)
class AuthorizerSettings:
    """What the template's JWT authorizer and function expect of a token (its parameter values)."""

    audiences: list[str]
    tenant_claim: str
    roles_claim: str

    @classmethod
    def of(cls, params: Mapping[str, Any]) -> AuthorizerSettings:
        return cls(
            audiences=str(params.get("JwtAudience") or "budget-service").split(","),
            tenant_claim=str(params.get("TenantClaim") or "tenant_id"),
            roles_claim=str(params.get("RolesClaim") or "roles"),
        )


class InvalidToken(Exception):
    """API Gateway answers 401 ``{"message": "Unauthorized"}``."""


def signing_key(state_dir: Path) -> rsa.RSAPrivateKey:
    """The state dir's key, made on first use (readable by its owner only)."""
    path = state_dir / KEY_FILE
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            # created owner-only and exclusively: of two first uses at once, the first key stays
            # and both read it back
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(pem)
    for _ in range(50):  # the winner may still be writing it
        text = path.read_bytes()
        if text.rstrip().endswith(b"-----END PRIVATE KEY-----"):
            break
        time.sleep(0.02)
    loaded = serialization.load_pem_private_key(text, password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise InvalidToken(f"{path} is not an RSA key")
    return loaded


def make_token(
    state_dir: Path,
    tenant: str,
    roles: Sequence[str],
    audience: str,
    ttl_seconds: int = 3600,
    subject: str = "local-user",
    tenant_claim: str = "tenant_id",
    roles_claim: str = "roles",
) -> str:
    now = int(time.time())
    claims = {
        "iss": LOCAL_ISSUER,
        "aud": audience,
        "sub": subject,
        "iat": now,
        "exp": now + ttl_seconds,
        tenant_claim: tenant,
        roles_claim: list(roles),
    }
    return jwt.encode(claims, signing_key(state_dir), algorithm="RS256", headers={"kid": KEY_ID})


class TokenVerifier:
    def __init__(self, state_dir: Path, audiences: Sequence[str], issuer: str = LOCAL_ISSUER) -> None:
        self._public_key = signing_key(state_dir).public_key()
        self._audiences = list(audiences)
        self._issuer = issuer

    def claims(self, authorization: str | None) -> dict[str, Any]:
        """The verified claims of ``Authorization: Bearer <jwt>``; InvalidToken otherwise."""
        if not authorization or not authorization.strip():
            raise InvalidToken("no token")
        # API Gateway takes the header's value with or without the "Bearer " prefix
        token = authorization.strip()
        if token.lower().startswith("bearer "):
            token = token[7:].strip()
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._public_key,
                algorithms=["RS256"],  # "none" and HMAC-with-the-public-key are refused
                issuer=self._issuer,
                options={"require": ["exp", "iss"], "verify_aud": False},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from None
        # the audience is "aud", or "client_id" when there is no "aud" (access tokens), as in API Gateway
        audience = claims.get("aud", claims.get("client_id"))
        audiences = audience if isinstance(audience, list) else [audience]
        if not set(map(str, audiences)) & set(self._audiences):
            raise InvalidToken("the token is for another audience")
        return claims


def gateway_claims(claims: dict[str, Any]) -> dict[str, str]:
    """Claims as API Gateway hands them to the function: strings, lists flattened to ``[a b]``."""
    flat = {}
    for name, value in claims.items():
        if value is None:
            continue  # a null claim is no claim
        if isinstance(value, list):
            flat[name] = "[" + " ".join(str(v) for v in value) + "]"
        elif isinstance(value, bool):
            flat[name] = "true" if value else "false"
        else:
            flat[name] = str(value)
    return flat
