from __future__ import annotations

import pytest

from budget_core.domain.shared.auth import Action, Principal, Role, parse_roles, principal_from_claims
from budget_core.domain.shared.errors import Forbidden


@pytest.mark.parametrize(
    "raw",
    [
        "[admin service]",
        "admin service",
        "admin,service",
        ["admin", "service"],
        '["admin","service"]',
        "admin, service, superuser",
    ],
)
def test_roles_claim_in_every_shape_api_gateway_or_an_idp_sends(raw: object) -> None:
    assert parse_roles(raw) == {Role.ADMIN, Role.SERVICE}


def test_unknown_or_missing_roles_grant_nothing() -> None:
    assert parse_roles("root superuser") == frozenset()
    assert parse_roles(None) == frozenset()
    assert parse_roles(42) == frozenset()


def test_the_tenant_comes_from_the_configured_claim() -> None:
    principal = principal_from_claims({"org": "acme", "perms": "[viewer]", "sub": "u1"}, "org", "perms")
    assert principal == Principal("acme", frozenset({Role.VIEWER}), "u1")


@pytest.mark.parametrize(
    "claims",
    [
        {"roles": "[admin]"},
        {"tenant_id": "", "roles": "[admin]"},
        {"tenant_id": "acme/../other", "roles": "[admin]"},
        {"tenant_id": "acme"},
        {"tenant_id": "acme", "roles": "[owner]"},
        # a null claim, as a gateway that turns claims into strings hands it over
        {"tenant_id": None, "roles": "[admin]"},
        {"tenant_id": "None", "roles": "[admin]"},
        {"tenant_id": "null", "roles": "[admin]"},
    ],
)
def test_a_token_without_a_valid_tenant_or_role_is_refused(claims: dict[str, str | None]) -> None:
    with pytest.raises(Forbidden):
        principal_from_claims(claims, "tenant_id", "roles")


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (
            Role.ADMIN,
            {Action.READ, Action.WRITE_POLICY, Action.WRITE_PRICES, Action.SPEND, Action.READ_API_DOCS},
        ),
        (Role.VIEWER, {Action.READ, Action.READ_API_DOCS}),
        (Role.SERVICE, {Action.SPEND, Action.READ_API_DOCS}),
    ],
)
def test_each_role_may_do_exactly_its_actions(role: Role, allowed: set[Action]) -> None:
    principal = Principal("acme", frozenset({role}))
    for action in Action:
        if action in allowed:
            principal.require(action)
        else:
            with pytest.raises(Forbidden):
                principal.require(action)
