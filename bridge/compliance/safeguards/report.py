"""Facts -> the report: every safeguard's check run in a fixed order. Pure.

"When last true" is now for a passing row; for a failing or warning row it is what the
data itself says (e.g. the newest backup plus the allowed age) or, failing that, the last
time this check passed in an earlier report (`history`, kept by the caller).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bridge.compliance.safeguards import access, administrative, authentication, integrity, transmission
from bridge.compliance.safeguards.model import Facts, Result, Row, Safeguard, Verdict

Check = Callable[[Facts], Verdict]

GROUPS = (access, integrity, authentication, transmission, administrative)
SAFEGUARDS: tuple[Safeguard, ...] = tuple(s for g in GROUPS for s in g.SAFEGUARDS)
CHECKS: dict[str, Check] = {k: v for g in GROUPS for k, v in g.CHECKS.items()}


@dataclass(frozen=True)
class Report:
    """A whole compliance report: where, when, which versions, and one row per safeguard."""

    organization: str
    server_name: str
    generated_ms: int
    carebridge_version: str
    synapse_version: str | None
    rows: tuple[Row, ...]

    def count(self, result: Result) -> int:
        """How many rows have this result."""
        return sum(1 for r in self.rows if r.result is result)

    @property
    def overall(self) -> Result:
        """fail if any row fails, else warn if any warns, else pass."""
        for result in (Result.FAIL, Result.WARN):
            if self.count(result):
                return result
        return Result.PASS

    def summary(self) -> str:
        """One sentence for the top of the page and the chat message."""
        p, w, f = (self.count(r) for r in (Result.PASS, Result.WARN, Result.FAIL))
        head = {Result.PASS: "All safeguards pass", Result.WARN: "Safeguards need attention",
                Result.FAIL: "Safeguards FAIL"}[self.overall]  # fmt: skip
        return f"{head}: {p} pass, {w} warn, {f} fail of {len(self.rows)}."


def _run(check: Check, facts: Facts) -> Verdict:
    try:
        return check(facts)
    except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
        return Verdict(Result.WARN, f"check could not run ({type(exc).__name__})")


def evaluate(facts: Facts, server_name: str, history: Mapping[str, int] | None = None) -> Report:
    """Run every check against `facts`; `history` maps safeguard id -> last pass (epoch ms)."""
    history = history or {}
    rows = []
    for safeguard in SAFEGUARDS:
        verdict = _run(CHECKS[safeguard.id], facts)
        last: int | None = facts.now_ms
        if verdict.result is not Result.PASS:
            known = [t for t in (verdict.last_true_ms, history.get(safeguard.id)) if t is not None]
            last = min(max(known), facts.now_ms) if known else None
        rows.append(Row(safeguard, verdict.result, verdict.reason, facts.now_ms, last))
    return Report(
        organization=facts.organization,
        server_name=server_name,
        generated_ms=facts.now_ms,
        carebridge_version=facts.carebridge_version,
        synapse_version=facts.synapse_version,
        rows=tuple(rows),
    )
