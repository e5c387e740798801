"""Which policies a usage event (or a coming call) falls under. Pure and in memory: the policy set
of a tenant is loaded once per batch, never once per event."""

from __future__ import annotations

from collections.abc import Iterable

from budget_core.domain.policies.policy import Policy, ScopeType, UsageKind

# The scope attributes of a usage event, and the scope type that names each: the one registry the
# matching, the rollup dimensions and the commit plan's grouping derive from. Ordered from the
# widest (one commit's events share their team and project far more often than their user).
SCOPE_ATTRIBUTE: dict[ScopeType, str] = {
    ScopeType.TEAM: "team_id",
    ScopeType.PROJECT: "project_id",
    ScopeType.USER: "user_id",
    ScopeType.API_KEY: "api_key_id",
}


def applies(
    policy: Policy,
    attributes: dict[str, str | None],
    provider: str | None,
    model: str | None,
    kind: UsageKind | None,
) -> bool:
    scope = policy.scope
    if scope.type is not ScopeType.TENANT and attributes.get(SCOPE_ATTRIBUTE[scope.type]) != scope.id:
        return False
    f = policy.filters
    if f.provider is not None and f.provider != provider:
        return False
    if f.model is not None and f.model != model:
        return False
    return not (f.kind is not None and f.kind != kind)


def matching_policies(
    policies: Iterable[Policy],
    attributes: dict[str, str | None],
    provider: str | None,
    model: str | None,
    kind: UsageKind | None,
) -> list[Policy]:
    return [p for p in policies if applies(p, attributes, provider, model, kind)]
