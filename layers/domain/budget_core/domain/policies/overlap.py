"""How many policies one usage event can fall under at most: every policy it matches is one counter
in the event's commit, and a commit is one transaction of at most 100 actions (invariant 10). The
API refuses a create or edit after which some event would match more policies than that.

A policy constrains some of an event's attributes (its scope id, its provider, model and kind
filters) to one value each. Policies can all match one event exactly when no two of them pin the
same attribute to different values, so the largest such set is found by choosing, attribute by
attribute, the value (or "none of these") that keeps the most policies.
"""

from __future__ import annotations

from collections.abc import Sequence

from budget_core.domain.policies.matching import SCOPE_ATTRIBUTE
from budget_core.domain.policies.policy import PolicyFields, ScopeType
from budget_core.domain.usage.accounting import MAX_TRANSACTION_ACTIONS, ROLLUP_DIMENSIONS

# One event's own commit: the event, its daily and hourly rollups per dimension, the tenant's
# configuration check, and one counter per policy it falls under.
MAX_POLICIES_PER_EVENT = MAX_TRANSACTION_ACTIONS - 1 - 2 * len(ROLLUP_DIMENSIONS) - 1

Constraints = dict[str, str]


def constraints(policy: PolicyFields) -> Constraints:
    pinned: Constraints = {}
    if policy.scope.type is not ScopeType.TENANT:
        assert policy.scope.id is not None
        pinned[SCOPE_ATTRIBUTE[policy.scope.type]] = policy.scope.id
    f = policy.filters
    for name, value in (("provider", f.provider), ("model", f.model), ("kind", f.kind)):
        if value is not None:
            pinned[name] = str(value)
    return pinned


def _compatible(a: Constraints, b: Constraints) -> bool:
    return all(b.get(name, value) == value for name, value in a.items())


def largest_overlap(candidate: PolicyFields, others: Sequence[PolicyFields]) -> list[PolicyFields]:
    """The largest set of ``others`` that one event can match together with ``candidate``."""
    fixed = constraints(candidate)
    pool = [(p, c) for p in others if _compatible(c := constraints(p), fixed)]
    best: list[PolicyFields] = []

    def search(members: list[tuple[PolicyFields, Constraints]], chosen: Constraints) -> None:
        nonlocal best
        if len(members) <= len(best):
            return  # cannot beat what was found
        open_names = sorted({n for _, c in members for n in c if n not in chosen})
        if not open_names:
            best = [p for p, _ in members]  # all compatible: nothing pins a free attribute twice
            return
        name = open_names[0]
        values = sorted({c[name] for _, c in members if name in c})
        if len(values) == 1:
            # one value: taking it keeps everyone, so no other choice can do better
            search(members, {**chosen, name: values[0]})
            return
        for value in values:
            search([(p, c) for p, c in members if c.get(name, value) == value], {**chosen, name: value})
        search([(p, c) for p, c in members if name not in c], {**chosen, name: "\x00none"})

    search(pool, fixed)
    return best
