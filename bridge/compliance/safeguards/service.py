"""One compliance report, end to end: gather the facts, evaluate, remember the results.

Used by `carebridge compliance report` and by the bot's `!compliance`.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.chain_walk import Progress
from bridge.compliance.safeguards.gather import Gatherer
from bridge.compliance.safeguards.ledger import save_results
from bridge.compliance.safeguards.report import Report, evaluate
from config.settings import Settings


async def build_report(
    settings: Settings,
    engine: AsyncEngine,
    as_token: str,
    remember: bool = True,
    progress: Progress | None = None,
) -> Report:
    """Run every live check now; with `remember`, store each result so a later failing row
    can say when it was last true. `progress` is told the archive rows verified so far."""
    facts, history = await Gatherer(settings, engine, as_token, progress).facts()
    report = evaluate(facts, settings.server_name, history)
    if remember:
        await save_results(engine, report)
    return report
