"""The largest set of policies one event can match together (what a commit must count at once)."""

from __future__ import annotations

from typing import Any

from budget_core.domain.policies.overlap import largest_overlap
from tests.support.fakes import stored_policy


def _policy(index: int, **fields: Any) -> Any:
    return stored_policy("t", f"pol_{index:028x}", **fields)


def test_policies_pinning_one_attribute_to_different_values_never_meet() -> None:
    # Given 200 user policies (each its own user) and a team policy
    users = [_policy(i, scope={"type": "user", "id": f"u{i}"}) for i in range(200)]
    team = _policy(999, scope={"type": "team", "id": "ml"})
    # Then a team-wide event meets the team policy and at most one user policy
    assert len(largest_overlap(team, users)) == 1
    assert len(largest_overlap(users[0], [*users[1:], team])) == 1


def test_every_compatible_scope_and_filter_is_counted() -> None:
    others = [
        _policy(1, scope={"type": "tenant"}),
        _policy(2, scope={"type": "team", "id": "ml"}, filters={"provider": "openai"}),
        _policy(3, scope={"type": "team", "id": "ml"}, filters={"provider": "anthropic"}),
        _policy(4, scope={"type": "user", "id": "ada"}, filters={"model": "gpt-4o"}),
        _policy(5, scope={"type": "user", "id": "bob"}),
    ]
    candidate = _policy(6, scope={"type": "project", "id": "p1"}, filters={"kind": "llm"})
    overlap = {p.policy_id[-1] for p in largest_overlap(candidate, others)}
    # tenant + one of the team's provider policies + ada's gpt-4o: an event (ml, ada, openai,
    # gpt-4o, llm, p1) meets them all; no event meets both team policies, nor bob's and ada's
    assert overlap in ({"1", "2", "4"}, {"1", "3", "4"})


def test_a_candidate_pinned_elsewhere_meets_nothing_pinned_otherwise() -> None:
    others = [_policy(1, scope={"type": "user", "id": "ada"}), _policy(2, filters={"kind": "image"})]
    candidate = _policy(3, scope={"type": "user", "id": "bob"}, filters={"kind": "llm"})
    assert largest_overlap(candidate, others) == []
