"""Tokens for the local API: RS256 JWTs signed with a key kept in the state dir, verified the way
API Gateway's JWT authorizer verifies them (signature, issuer, audience, expiry)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

LOCAL_ISSUER = "https://budget-service.local/"
KEY_FILE = "jwt-signing-key.pem"
DEFAULT_STATE_DIR = Path(".budget-local")


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
        temporary = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
        temporary.write_bytes(pem)
        temporary.chmod(0o600)
        temporary.replace(path)  # two first uses at once: one key wins, both read it back
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
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
    return jwt.encode(claims, signing_key(state_dir), algorithm="RS256")


class TokenVerifier:
    def __init__(self, state_dir: Path, audiences: Sequence[str], issuer: str = LOCAL_ISSUER) -> None:
        self._public_key = signing_key(state_dir).public_key()
        self._audiences = list(audiences)
        self._issuer = issuer

    def claims(self, authorization: str | None) -> dict[str, Any]:
        """The verified claims of ``Authorization: Bearer <jwt>``; InvalidToken otherwise."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise InvalidToken("no bearer token")
        token = authorization[7:].strip()
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._public_key,
                algorithms=["RS256"],  # "none" and HMAC-with-the-public-key are refused
                audience=self._audiences,
                issuer=self._issuer,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from None
        return claims


def gateway_claims(claims: dict[str, Any]) -> dict[str, str]:
    """Claims as API Gateway hands them to the function: strings, lists flattened to ``[a b]``."""
    flat = {}
    for name, value in claims.items():
        if isinstance(value, list):
            flat[name] = "[" + " ".join(str(v) for v in value) + "]"
        else:
            flat[name] = str(value)
    return flat
