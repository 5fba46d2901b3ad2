"""45 CFR 164.312(b) audit controls and 164.312(c)(1)-(2) integrity. Pure."""

from __future__ import annotations

from bridge.compliance.safeguards.model import Facts, Result, Safeguard, Verdict, ago, stamp

# A consumer this many rows behind the archive head is worth a look (not a failure:
# a burst of messages puts any consumer briefly behind).
LAG_WARN_ROWS = 1000

AUDIT = Safeguard(
    id="audit-controls",
    citation="164.312(b)",
    title="Audit controls",
    does="Every event of every room reaches the archive through Synapse's appservice stream; "
    "sign-ins, sign-outs, failed attempts and exports are recorded as events too.",
    check="registration.yaml namespaces cover every room (non-exclusive); every consumer has "
    "processed the archive; export records counted.",
    tests=(
        "tests/e2e/test_dm_archive.py::test_dm_between_staff_is_archived",
        "tests/e2e/test_sessions.py::test_login_and_logout_each_make_one_record_with_device_and_time",
        "tests/db/test_export_db.py::test_export_job_records_itself_and_refuses_a_used_folder",
    ),
)

CHAIN = Safeguard(
    id="integrity-chain",
    citation="164.312(c)(1)",
    title="Integrity: nothing altered or removed",
    does="Each archive row's hash covers the previous row and its ciphertext; history cannot "
    "be redacted (the module refuses every redaction).",
    check="`archive verify` run now: hash chain, published heads from Synapse, archived media.",
    tests=(
        "tests/db/test_archive_verify_db.py::test_deleted_middle_row_is_named_removed",
        "tests/e2e/test_verify.py::test_verify_passes_then_finds_a_deleted_tail_against_synapse",
        "tests/e2e/test_retention.py::test_redacting_own_and_others_message_is_refused",
    ),
)

HEADS = Safeguard(
    id="integrity-heads",
    citation="164.312(c)(2)",
    title="Mechanism to authenticate ePHI: published chain heads",
    does="The chain head is published outside the database (administrators' room, heads log) "
    "at a set interval, so a cut tail or a recomputed chain is detectable.",
    check="Newest head the bot published in Synapse (admin API) is younger than the configured interval.",
    tests=(
        "tests/db/test_archive_verify_db.py::test_deleted_last_rows_are_found_against_the_published_head",
    ),
)

SAFEGUARDS = (AUDIT, CHAIN, HEADS)


def _covers_every_room(registration: object) -> bool:
    if not isinstance(registration, dict):
        return False
    namespaces = registration.get("namespaces")
    rooms = namespaces.get("rooms") if isinstance(namespaces, dict) else None
    if not isinstance(rooms, list):
        return False
    return any(
        isinstance(ns, dict) and ns.get("regex") in (".*", "!.*", ".*:.*") and ns.get("exclusive") is False
        for ns in rooms
    )


def audit_controls(f: Facts) -> Verdict:
    if f.registration is None:
        return Verdict(Result.WARN, f"could not read registration.yaml ({f.why('registration')})")
    if not _covers_every_room(f.registration):
        return Verdict(
            Result.FAIL, "registration.yaml does not watch every room: some events would not be archived"
        )
    a = f.archive
    if a is None:
        return Verdict(Result.WARN, f"could not read the archive ({f.why('archive')})")
    behind = {name: lag for name, lag in a.consumer_lag.items() if lag > LAG_WARN_ROWS}
    if behind:
        return Verdict(Result.WARN, f"consumer(s) behind the archive: {dict(sorted(behind.items()))} rows")
    last = f"last event archived {stamp(a.last_received_ms)}" if a.last_received_ms else "archive empty"
    return Verdict(
        Result.PASS,
        f"every room watched; {a.rows} row(s); {last}; {a.exports} export record(s)",
        a.last_received_ms,
    )


def integrity_chain(f: Facts) -> Verdict:
    v = f.verify
    if v is None:
        return Verdict(Result.WARN, f"archive verify could not run ({f.why('verify')})")
    if not v.ok:
        return Verdict(Result.FAIL, "archive verify failed: " + "; ".join(v.problems[:3]))
    if not v.tail_checked:
        return Verdict(Result.WARN, f"{v.rows} row(s) chain intact, but no published head could be read")
    return Verdict(
        Result.PASS, f"{v.rows} row(s) in an unbroken chain; matches {v.heads_checked} published head(s)"
    )


def head_interval_ms(settings: object) -> int:
    """The publication interval in force (minutes setting if present, else hours)."""
    get = settings.get if isinstance(settings, dict) else (lambda _k: None)
    minutes = get("head_interval_minutes")
    if isinstance(minutes, int | float) and minutes > 0:
        return int(minutes * 60_000)
    hours = get("head_interval_hours")
    return int((hours if isinstance(hours, int | float) and hours > 0 else 24) * 3_600_000)


def integrity_heads(f: Facts) -> Verdict:
    interval = head_interval_ms(dict(f.settings))
    v = f.verify
    if v is None:
        return Verdict(Result.WARN, f"published heads could not be read ({f.why('verify')})")
    newest = v.newest_head_ms
    log_ms = f.heads_log.get("ts") if f.heads_log else None
    if isinstance(log_ms, int) and (newest is None or log_ms > newest):
        newest = log_ms
    if newest is None:
        return Verdict(Result.FAIL, "no chain head has ever been published")
    age = f.now_ms - newest
    limit = f"interval {ago(interval, 0)}"
    if age > interval:
        return Verdict(
            Result.FAIL,
            f"newest published head is {ago(f.now_ms, newest)} old ({stamp(newest)}), older than its {limit}",
            newest + interval,
        )
    return Verdict(Result.PASS, f"newest head published {ago(f.now_ms, newest)} ago ({limit})")


CHECKS = {AUDIT.id: audit_controls, CHAIN.id: integrity_chain, HEADS.id: integrity_heads}
