"""45 CFR 164.312(a): access control, unique user identification, emergency access,
automatic logoff, encryption and decryption. Pure: facts in, verdicts out."""

from __future__ import annotations

from bridge.compliance.safeguards.model import Facts, Result, Safeguard, Verdict, ago, humans, ids, stamp

ACCESS_CONTROL = Safeguard(
    id="access-control",
    citation="164.312(a)(1)",
    title="Access control (least privilege)",
    does="People get rights only from their Carebridge role and channel membership; only the "
    "Carebridge bot is a Synapse server administrator.",
    check="Synapse admin API: list every account and its server-admin flag.",
    tests=(
        "tests/unit/test_provision_plan.py::test_profile_role_and_server_admin_changes",
        "tests/e2e/test_channels.py::test_staff_without_right_cannot_create_channel",
    ),
)

UNIQUE_ID = Safeguard(
    id="unique-id",
    citation="164.312(a)(2)(i)",
    title="Unique user identification",
    does="Every account is one named person from the organisation directory, created by an "
    "administrator; no guest or shared accounts.",
    check="Synapse admin API accounts compared with the directory; allow_guest_access in homeserver.yaml.",
    tests=(
        "tests/e2e/test_provisioning.py::test_org_lifecycle",
        "tests/unit/test_init.py::test_homeserver_is_the_compliance_baseline",
    ),
)

EMERGENCY_ACCESS = Safeguard(
    id="emergency-access",
    citation="164.312(a)(2)(ii)",
    title="Emergency access procedure",
    does="When the usual path is down, records are reached with `carebridge export` or by "
    "restoring a backup; the archive key is held apart from backups.",
    check="Archive keyring loads; recorded backups (and backup files still on disk) do not "
    "contain the archive key.",
    tests=(
        "tests/db/test_backup_restore.py::test_backup_restore_round_trip",
        "tests/e2e/test_export.py::test_export_shows_original_revisions_reaction_and_image",
    ),
)

AUTOMATIC_LOGOFF = Safeguard(
    id="automatic-logoff",
    citation="164.312(a)(2)(iii)",
    title="Automatic logoff",
    does="The scheduler signs staff out at the end of their shift (plus grace) and records "
    "it as an automatic logout.",
    check="compliance.scheduler_enabled in carebridge.yaml; people with a shift in the "
    "directory; last automatic logout in the sessions ledger.",
    tests=(
        "tests/e2e/test_scheduler.py::test_end_of_shift_logout_ends_the_session_and_records_it_as_automatic",
    ),
)

ENCRYPTION = Safeguard(
    id="encryption",
    citation="164.312(a)(2)(iv)",
    title="Encryption and decryption",
    does="Every archived event is sealed with AES-256-GCM under a key id stored per row; the "
    "keyring is a 0600 file (or an environment variable) outside the database.",
    check="Keyring loads, every key is 256-bit, the key file is private, every key id the "
    "archive uses is in the keyring.",
    tests=(
        "tests/unit/test_keyring.py::test_world_readable_key_file_refused",
        "tests/db/test_archive_db.py::test_chain_links_and_ciphertext_has_no_plaintext",
    ),
)

SAFEGUARDS = (ACCESS_CONTROL, UNIQUE_ID, EMERGENCY_ACCESS, AUTOMATIC_LOGOFF, ENCRYPTION)


def access_control(f: Facts) -> Verdict:
    if f.accounts is None:
        return Verdict(Result.WARN, f"could not list accounts ({f.why('accounts')})")
    admins = [a for a in humans(f.accounts) if a.synapse_admin and not a.synapse_deactivated]
    if admins:
        return Verdict(Result.FAIL, f"{len(admins)} account(s) with Synapse server admin: {ids(admins)}")
    return Verdict(Result.PASS, f"no person holds Synapse server admin ({len(f.accounts)} accounts)")


def unique_id(f: Facts) -> Verdict:
    hs = f.homeserver
    if hs is not None and hs.get("allow_guest_access"):
        return Verdict(Result.FAIL, "allow_guest_access is on in homeserver.yaml: guests have no identity")
    if f.accounts is None:
        return Verdict(Result.WARN, f"could not list accounts ({f.why('accounts')})")
    active = [a for a in humans(f.accounts) if not a.synapse_deactivated]
    unknown = [a for a in active if not a.in_directory]
    if unknown:
        return Verdict(
            Result.FAIL, f"{len(unknown)} active account(s) not in the organisation directory: {ids(unknown)}"
        )
    return Verdict(Result.PASS, f"{len(active)} active account(s), each a person in the directory")


def emergency_access(f: Facts) -> Verdict:
    if f.keys is None or not f.keys.loaded:
        error = f.keys.error if f.keys else f.why("keys")
        return Verdict(Result.FAIL, f"archive keyring does not load ({error}): records cannot be read")
    if f.backups is None:
        return Verdict(Result.WARN, f"could not read backup records ({f.why('backups')})")
    with_key = [b for b in f.backups if b.includes_key and b.file_present]
    latest = max(f.backups, key=lambda b: b.created_ms, default=None)
    if latest is not None and latest.includes_key and latest not in with_key:
        with_key.append(latest)
    if with_key:
        newest = max(b.created_ms for b in with_key)
        return Verdict(
            Result.FAIL,
            f"{len(with_key)} backup(s) contain the archive key (newest {stamp(newest)}): "
            "whoever holds the backup can read every message",
        )
    if latest is None:
        return Verdict(Result.WARN, "no backup recorded yet: only `carebridge export` can reach records")
    return Verdict(Result.PASS, f"keyring loads; newest backup ({stamp(latest.created_ms)}) holds no key")


def automatic_logoff(f: Facts) -> Verdict:
    if not f.settings.get("scheduler_enabled", False):
        return Verdict(Result.FAIL, "scheduler_enabled is false: nobody is signed out at shift end")
    if f.activity is None:
        return Verdict(Result.WARN, f"could not read the directory ({f.why('activity')})")
    if f.activity.scheduled_people == 0:
        return Verdict(Result.WARN, "nobody has a shift in the directory: no end-of-shift logout applies")
    last = f.activity.last_automatic_logout_ms
    tail = f"last automatic logout {stamp(last)}" if last else "no automatic logout yet"
    return Verdict(Result.PASS, f"scheduler on; {f.activity.scheduled_people} person(s) on shifts; {tail}")


def encryption(f: Facts) -> Verdict:
    k = f.keys
    if k is None or not k.loaded:
        return Verdict(Result.FAIL, f"archive keyring does not load ({k.error if k else f.why('keys')})")
    if not k.all_256_bit:
        return Verdict(Result.FAIL, "a key in the keyring is not 256-bit")
    if k.file_private is False:
        return Verdict(Result.FAIL, "the archive key file is readable by group or others")
    if f.archive is None:
        return Verdict(Result.WARN, f"could not read the archive ({f.why('archive')})")
    missing = sorted(set(f.archive.key_ids_used) - set(k.key_ids))
    if missing:
        return Verdict(Result.FAIL, f"archive rows sealed under key id(s) not in the keyring: {missing}")
    where = "environment variable" if k.from_env else "0600 key file"
    return Verdict(
        Result.PASS,
        f"AES-256-GCM, {len(k.key_ids)} key(s) in a {where}; {f.archive.rows} row(s) sealed",
    )


CHECKS = {
    ACCESS_CONTROL.id: access_control,
    UNIQUE_ID.id: unique_id,
    EMERGENCY_ACCESS.id: emergency_access,
    AUTOMATIC_LOGOFF.id: automatic_logoff,
    ENCRYPTION.id: encryption,
}

__all__ = ["CHECKS", "SAFEGUARDS", "ago"]
