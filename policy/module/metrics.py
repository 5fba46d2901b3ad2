"""Counters of the Carebridge Synapse module.

They live in prometheus_client's default registry, which Synapse's metrics listener
exports (`type: metrics` in production.yaml), so policy refusals appear next to Synapse's
own metrics. Labels are reason codes and callback names, never ids or content.
45 CFR 164.308(a)(1)(ii)(D): information system activity review.
"""

from __future__ import annotations

from prometheus_client import Counter

POLICY_REFUSALS = Counter(
    "carebridge_policy_refusals",
    "Actions the Carebridge module refused, by the policy decision's reason code",
    ["reason"],
)
CALLBACK_ERRORS = Counter(
    "carebridge_module_callback_errors",
    "Module callbacks that raised unexpectedly (contained by policy.module.guard)",
    ["callback"],
)


def count_refusal(reason: str) -> None:
    """Record one refusal; call it wherever a module callback turns a decision into a denial."""
    POLICY_REFUSALS.labels(reason).inc()
