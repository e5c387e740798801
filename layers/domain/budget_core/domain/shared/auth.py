"""Who is calling and what they may do. The tenant comes from verified token claims only."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from budget_core.domain.shared.errors import Forbidden

TENANT_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Role(StrEnum):
    ADMIN = "admin"
    VIEWER = "viewer"
    SERVICE = "service"


class Action(StrEnum):
    READ = "read"  # policies, status, alerts, usage summaries
    WRITE_POLICY = "write_policy"  # create, patch, delete, configure alerts
    SPEND = "spend"  # budget checks, reservations, usage writes
    READ_API_DOCS = "read_api_docs"
    WRITE_PRICES = "write_prices"  # the tenant's price overrides


_ROLES_FOR_ACTION: dict[Action, frozenset[Role]] = {
    Action.READ: frozenset({Role.ADMIN, Role.VIEWER}),
    Action.WRITE_POLICY: frozenset({Role.ADMIN}),
    Action.SPEND: frozenset({Role.ADMIN, Role.SERVICE}),
    Action.READ_API_DOCS: frozenset(Role),
    Action.WRITE_PRICES: frozenset({Role.ADMIN}),
}


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    roles: frozenset[Role]
    subject: str | None = None

    def require(self, action: Action) -> None:
        if not self.roles & _ROLES_FOR_ACTION[action]:
            allowed = ", ".join(sorted(_ROLES_FOR_ACTION[action]))
            raise Forbidden(f"this operation needs one of the roles: {allowed}")


def parse_roles(raw: Any) -> frozenset[Role]:
    """Roles claim as a JSON list, or a space- or comma-separated string.

    API Gateway's JWT authorizer flattens list claims into ``"[admin service]"``, so brackets and
    quotes are stripped before splitting. Unknown role names are ignored, not trusted.
    """
    names: Iterable[Any]
    if isinstance(raw, str):
        names = re.split(r"[\s,]+", raw.strip().strip("[]"))
    elif isinstance(raw, list | tuple):
        names = raw
    else:
        return frozenset()
    known = {role.value: role for role in Role}
    return frozenset(known[n] for n in (str(x).strip().strip("\"'") for x in names) if n in known)


# A null claim reaches a function as one of these once a gateway has turned claims into strings:
# never a tenant (all tenants whose token lost its claim would share it).
NULL_SPELLINGS = frozenset({"null", "none", "undefined", "nil"})


def principal_from_claims(claims: Mapping[str, Any], tenant_claim: str, roles_claim: str) -> Principal:
    """A request without a usable tenant or any known role is refused (403), as docs/contracts.md
    ("Auth") says."""
    tenant = claims.get(tenant_claim)
    if not isinstance(tenant, str) or not TENANT_ID_PATTERN.match(tenant) or tenant.lower() in NULL_SPELLINGS:
        raise Forbidden(f"the token has no valid '{tenant_claim}' claim")
    roles = parse_roles(claims.get(roles_claim))
    if not roles:
        raise Forbidden(f"the token's '{roles_claim}' claim grants no role (admin, viewer or service)")
    subject = claims.get("sub")
    return Principal(tenant_id=tenant, roles=roles, subject=subject if isinstance(subject, str) else None)
