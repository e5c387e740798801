"""BudgetClient against the local stack: real tokens, the real API, the real ledger."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from budget_sdk import BudgetClient, BudgetExceeded
from tests.e2e.conftest import LocalStack


def _tenant() -> str:
    return f"sdk-{uuid.uuid4().hex[:8]}"  # each test its own tenant: the stack is shared


def test_check_reserve_settle_and_release_keep_a_hard_budget(local_stack: LocalStack) -> None:
    # Given a $1 daily hard budget for team research, and a client with a service token
    tenant = _tenant()
    admin = BudgetClient(local_stack.ready["api_url"], token=local_stack.token(tenant, "admin"))
    budget = BudgetClient(local_stack.ready["api_url"], token=local_stack.token(tenant, "service"))
    created = local_stack.api(tenant).post(
        "/v1/policies",
        {"name": "research", "scope": {"type": "team", "id": "research"}, "period": "day", "limit_usd": "1"},
    )
    assert created.status == 201, created.body
    policy_id = created.body["policy_id"]
    # When a $0.60 call is checked and held
    assert budget.check("0.60", team_id="research").allowed is True
    hold = budget.reserve("0.60", team_id="research", ttl_seconds=120)
    # Then a second $0.60 is refused before anything is held, naming the budget and what remains
    with pytest.raises(BudgetExceeded) as refused:
        budget.reserve("0.60", team_id="research")
    assert refused.value.blocking_policy_ids == [policy_id]
    assert refused.value.blocking[0].remaining_usd == Decimal("0.40")
    assert budget.check("0.60", team_id="research").blocking_policy_ids == [policy_id]
    # When the first call settles at its actual $0.25
    assert hold.reservation_id is not None
    settled = budget.settle(hold.reservation_id, kind="custom", cost_usd="0.25", team_id="research")
    # Then the spend is real at once, and the next $0.60 fits
    assert (settled.cost_usd, settled.unpriced) == (Decimal("0.25"), False)
    status = admin.status(policy_id)
    assert (status["spent_usd"], status["reserved_usd"]) == ("0.25", "0.00")
    second = budget.reserve("0.60", team_id="research")
    assert second.reservation_id is not None
    budget.release(second.reservation_id)
    assert admin.status(policy_id)["reserved_usd"] == "0.00"
    assert [p["policy_id"] for p in admin.policies()] == [policy_id]


def test_a_refused_token_is_replaced_by_the_providers_next_one(local_stack: LocalStack) -> None:
    tenant = _tenant()
    tokens = iter(["not-a-token", local_stack.token(tenant, "service")])
    budget = BudgetClient(local_stack.ready["api_url"], token_provider=lambda: next(tokens))
    assert budget.check("0.01", user_id="alice").decision == "allow"
    assert budget.stats.token_refreshes == 1
