"""Administrative safeguards the data shows: 164.308(a)(1)(ii)(D) activity review,
164.308(a)(3)(ii)(C) termination, 164.308(a)(7) contingency plan and 164.310(d)(2)(iv)
data backup. Pure."""

from __future__ import annotations

from bridge.compliance.safeguards.model import (
    DAY_MS,
    Account,
    Facts,
    Result,
    Safeguard,
    Verdict,
    ago,
    humans,
    ids,
    stamp,
)

BACKUP_MAX_AGE_DAYS = 7

ACTIVITY_REVIEW = Safeguard(
    id="activity-review",
    citation="164.308(a)(1)(ii)(D)",
    title="Information system activity review",
    does="Missing-staff alerts, the daily summary, refused commands and chain heads are posted "
    "to the administrators' room, and every administrator is in it; reports on demand.",
    check="Synapse: members of the administrators' room against the directory's administrators; "
    "alerts configured in carebridge.yaml; last alert posted.",
    tests=(
        "tests/e2e/test_scheduler.py::test_missing_alert_once_at_start_plus_grace_and_daily_summary",
        "tests/e2e/test_compliance_bot.py::test_every_command_answers_an_admin_and_refuses_staff",
    ),
)

TERMINATION = Safeguard(
    id="termination",
    citation="164.308(a)(3)(ii)(C)",
    title="Termination procedures",
    does="Removing a person deactivates their account (nothing erased): every session ends and "
    "they leave every room.",
    check="Directory and Synapse admin API: no deactivated person has an active account or a "
    "live device (access token).",
    tests=(
        "tests/e2e/test_user_commands.py::test_user_add_reset_deactivate",
        "tests/unit/test_provision_plan.py::test_removed_user_is_deactivated_but_cli_and_unknown_accounts_are_left_alone",
    ),
)

BACKUP = Safeguard(
    id="backup",
    citation="164.308(a)(7)(ii)(A), 164.310(d)(2)(iv)",
    title="Contingency plan: data backup",
    does="`carebridge backup` writes one verified file (database, archive media, configuration, "
    "a manifest with hashes); `carebridge restore` proves it got everything back.",
    check=f"Backup records: a backup verified against its manifest within {BACKUP_MAX_AGE_DAYS} days.",
    tests=(
        "tests/db/test_backup_restore.py::test_backup_restore_round_trip",
        "tests/db/test_backup_restore.py::test_sqlite_backup_restores_into_postgres",
    ),
)

SAFEGUARDS = (ACTIVITY_REVIEW, TERMINATION, BACKUP)


def activity_review(f: Facts) -> Verdict:
    s = f.settings
    if not (s.get("missing_alerts") or s.get("daily_summary_at")):
        return Verdict(Result.FAIL, "missing-staff alerts and the daily summary are both off")
    if f.accounts is None:
        return Verdict(Result.WARN, f"could not list accounts ({f.why('accounts')})")
    admins = [a for a in humans(f.accounts) if a.role == "admin" and a.active and not a.synapse_deactivated]
    if not admins:
        return Verdict(Result.FAIL, "no active administrator in the directory: nobody reviews activity")
    if f.admin_room_members is None:
        return Verdict(Result.WARN, f"could not read the administrators' room ({f.why('admin_room')})")
    outside = [a for a in admins if a.user_id not in f.admin_room_members]
    if outside:
        return Verdict(
            Result.FAIL, f"{len(outside)} administrator(s) not in the administrators' room: {ids(outside)}"
        )
    last = f.activity.last_alert_ms if f.activity else None
    return Verdict(
        Result.PASS,
        f"all {len(admins)} administrator(s) in the administrators' room; last alert {stamp(last)}",
    )


def _gone(a: Account) -> bool:
    return a.synapse_deactivated or (a.in_directory and a.active is False)


def termination(f: Facts) -> Verdict:
    if f.accounts is None:
        return Verdict(Result.WARN, f"could not list accounts ({f.why('accounts')})")
    gone = [a for a in humans(f.accounts) if _gone(a)]
    live = [a for a in gone if (a.devices if a.devices is not None else a.open_sessions) > 0]
    if live:
        return Verdict(Result.FAIL, f"{len(live)} deactivated account(s) with a live session: {ids(live)}")
    still_active = [a for a in gone if not a.synapse_deactivated]
    if still_active:
        return Verdict(
            Result.FAIL,
            f"{len(still_active)} person(s) removed from the directory but active in Synapse: "
            f"{ids(still_active)}",
        )
    return Verdict(Result.PASS, f"{len(gone)} deactivated account(s), none with a live session")


def backup(f: Facts) -> Verdict:
    if f.backups is None:
        return Verdict(Result.WARN, f"could not read backup records ({f.why('backups')})")
    verified = [b for b in f.backups if b.verified]
    if not verified:
        return Verdict(Result.FAIL, "no verified backup recorded")
    newest = max(b.created_ms for b in verified)
    limit = BACKUP_MAX_AGE_DAYS * DAY_MS
    if f.now_ms - newest > limit:
        return Verdict(
            Result.FAIL,
            f"no backup in {BACKUP_MAX_AGE_DAYS} days: newest verified backup {stamp(newest)} "
            f"({ago(f.now_ms, newest)} old)",
            newest + limit,
        )
    return Verdict(Result.PASS, f"newest verified backup {stamp(newest)} ({ago(f.now_ms, newest)} old)")


CHECKS = {ACTIVITY_REVIEW.id: activity_review, TERMINATION.id: termination, BACKUP.id: backup}
