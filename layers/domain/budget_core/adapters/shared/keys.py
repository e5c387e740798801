"""The BudgetTable key design: every item's keys are made here and nowhere else.

Every partition key starts with the tenant (invariant 4). See docs/data_model.md for the access
pattern each key serves.
"""

from __future__ import annotations

POLICY_PREFIX = "POLICY#"
SLOT_PREFIX = "SLOT#"
# The tenant's configuration version: bumped by every policy (and price override) write, checked by
# every usage commit and every reservation, so nothing is counted under a stale set of policies.
# "CONFIG" sorts before "POLICY#": the tenant configuration Query reads it first.
CONFIG_SK = "CONFIG"
CONFIG_ENTITY = "tenant_config"


def tenant_pk(tenant_id: str) -> str:
    return f"T#{tenant_id}"


def tenant_config_key(tenant_id: str) -> dict[str, str]:
    return {"pk": tenant_pk(tenant_id), "sk": CONFIG_SK}


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


def policy_counter_key(tenant_id: str, policy_id: str, period_key: str, basis: int = 1) -> dict[str, str]:
    """``basis`` is the policy version whose scope, filters, period and time zone the counter counts
    (a change of any of them starts a new counter). Basis 1 keeps the original ``C#{period}`` key."""
    suffix = "" if basis == 1 else f"@{basis}"
    return {"pk": policy_partition(tenant_id, policy_id), "sk": f"{COUNTER_PREFIX}{period_key}{suffix}"}


ALERT_PREFIX = "A#"


def alert_claim_key(
    tenant_id: str, policy_id: str, period_key: str, kind: str, threshold: int, limit: str, basis: int
) -> dict[str, str]:
    """One item per (policy, counter, kind, threshold, limit): the claim that makes an alert fire
    once. The limit is in the key so that a changed limit leaves no claim used at the old one."""
    return {
        "pk": policy_partition(tenant_id, policy_id),
        "sk": f"{ALERT_PREFIX}{period_key}@{basis}#{kind}#{threshold:04d}#{limit}",
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
    """``granularity_prefix`` is ``D`` (UTC day) or ``H`` (UTC quarter hour; UTC hour before)."""
    return {"pk": f"T#{tenant_id}#R#{dimension}#{value}", "sk": f"{granularity_prefix}#{bucket}"}


def price_override_key(tenant_id: str, provider: str, model: str) -> dict[str, str]:
    return {"pk": tenant_pk(tenant_id), "sk": f"{PRICE_PREFIX}{provider}#{model}"}


def hold_attribute(reservation_id: str) -> str:
    """One attribute per hold: how holds were kept before they were summed by expiry (still read,
    and removed as they expire or settle)."""
    return f"{HOLD_PREFIX}{reservation_id}"


RESERVED_PREFIX = "rsv#"


def reserved_attribute(expires_at_epoch: int) -> str:
    """The sum of the holds on a counter that expire at this whole minute (epoch seconds): one
    attribute per minute whatever the number of holds, so live holds cannot grow the item."""
    return f"{RESERVED_PREFIX}{expires_at_epoch}"


def reservation_key(tenant_id: str, reservation_id: str) -> dict[str, str]:
    return {"pk": f"T#{tenant_id}#RES#{reservation_id}", "sk": "RES"}
