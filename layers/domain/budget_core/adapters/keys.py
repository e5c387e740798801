"""The BudgetTable key design: every item's keys are made here and nowhere else.

Every partition key starts with the tenant (invariant 4). See docs/data_model.md for the access
pattern each key serves.
"""

from __future__ import annotations

POLICY_PREFIX = "POLICY#"
SLOT_PREFIX = "SLOT#"


def tenant_pk(tenant_id: str) -> str:
    return f"T#{tenant_id}"


def policy_key(tenant_id: str, policy_id: str) -> dict[str, str]:
    return {"pk": tenant_pk(tenant_id), "sk": f"{POLICY_PREFIX}{policy_id}"}


def policy_slot_key(tenant_id: str, uniqueness_key: str) -> dict[str, str]:
    """The guard item that holds a (scope, period, filters) slot for exactly one policy."""
    return {"pk": tenant_pk(tenant_id), "sk": f"{SLOT_PREFIX}{uniqueness_key}"}


PRICE_PREFIX = "PRICE#"
COUNTER_PREFIX = "C#"
HOLD_PREFIX = "hold#"
COUNTER_ENTITY = "counter"  # the "entity" attribute of counter items, which the table stream filters on


def usage_event_key(tenant_id: str, event_id: str) -> dict[str, str]:
    return {"pk": f"T#{tenant_id}#E#{event_id}", "sk": "E"}


def policy_partition(tenant_id: str, policy_id: str) -> str:
    """A policy's spend counters and alert claims share one partition."""
    return f"T#{tenant_id}#P#{policy_id}"


def policy_counter_key(tenant_id: str, policy_id: str, period_key: str) -> dict[str, str]:
    return {"pk": policy_partition(tenant_id, policy_id), "sk": f"{COUNTER_PREFIX}{period_key}"}


ALERT_PREFIX = "A#"


def alert_claim_key(
    tenant_id: str, policy_id: str, period_key: str, kind: str, threshold: int
) -> dict[str, str]:
    """One item per (policy, period, kind, threshold): the claim that makes an alert fire once."""
    return {
        "pk": policy_partition(tenant_id, policy_id),
        "sk": f"{ALERT_PREFIX}{period_key}#{kind}#{threshold:04d}",
    }


# The one partition that is not a tenant's: an internal work queue of claimed alerts not yet
# delivered (sparse gsi2), read only by the scheduled sweep, never on a request path.
PENDING_ALERTS_PARTITION = "ALERTS#PENDING"


def alert_history_partition(tenant_id: str) -> str:
    """gsi1 partition of a tenant's alert history (sort key: crossed_at#alert_id)."""
    return f"T#{tenant_id}#ALERTS"


def rollup_key(
    tenant_id: str, dimension: str, value: str, granularity_prefix: str, bucket: str
) -> dict[str, str]:
    """``granularity_prefix`` is ``D`` (UTC day) or ``H`` (UTC hour)."""
    return {"pk": f"T#{tenant_id}#R#{dimension}#{value}", "sk": f"{granularity_prefix}#{bucket}"}


def price_override_key(tenant_id: str, provider: str, model: str) -> dict[str, str]:
    return {"pk": tenant_pk(tenant_id), "sk": f"{PRICE_PREFIX}{provider}#{model}"}


def hold_attribute(reservation_id: str) -> str:
    return f"{HOLD_PREFIX}{reservation_id}"


def reservation_key(tenant_id: str, reservation_id: str) -> dict[str, str]:
    return {"pk": f"T#{tenant_id}#RES#{reservation_id}", "sk": "RES"}
