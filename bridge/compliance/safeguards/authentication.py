"""45 CFR 164.312(d) person or entity authentication; 164.308(a)(5)(ii)(C) log-in
monitoring and (D) password management. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.compliance.safeguards.model import DAY_MS, Facts, Result, Safeguard, Verdict, humans, ids, stamp

MIN_PASSWORD_LENGTH = 12
# Failed sign-ins per account Synapse lets through: at most this burst, then at most this
# rate. The test harness lifts them to 1000/s, which a production server must never do.
MAX_FAILED_BURST = 100
MAX_FAILED_PER_SECOND = 1.0
INITIAL_PASSWORD_DAYS = 7
MODULES = ("policy.synapse_module.CarebridgeModule", "policy.module.entry.CarebridgeModule")

AUTHENTICATION = Safeguard(
    id="authentication",
    citation="164.312(d)",
    title="Person or entity authentication",
    does="Only administrators create accounts (no self-registration); sign-in is by personal "
    "password with per-account limits on failed attempts.",
    check="homeserver.yaml in force: enable_registration, registration_shared_secret, "
    "rc_login failed-attempt limits; the running Synapse refuses an anonymous /register.",
    tests=(
        "tests/unit/test_init.py::test_homeserver_is_the_compliance_baseline",
        "tests/e2e/test_user_commands.py::test_user_add_reset_deactivate",
    ),
)

PASSWORDS = Safeguard(
    id="password-management",
    citation="164.308(a)(5)(ii)(D)",
    title="Password management",
    does="Synapse enforces the password policy (12+ characters, upper, lower, digit, symbol); "
    "initial passwords are one-time and must be changed.",
    check="password_config.policy in homeserver.yaml; accounts still on their initial password "
    f"(or never signed in {INITIAL_PASSWORD_DAYS}+ days after creation).",
    tests=(
        "tests/unit/test_passwords.py::test_generated_passwords_meet_policy_and_are_unique",
        "tests/e2e/test_webclient_browser.py::test_first_sign_in_forces_own_password_and_refusals_are_explained",
    ),
)

LOGIN_MONITORING = Safeguard(
    id="login-monitoring",
    citation="164.308(a)(5)(ii)(C)",
    title="Log-in monitoring",
    does="The Carebridge Synapse module records every sign-in, sign-out and failed attempt "
    "(never the password) in the archive; `!logins` and `carebridge report logins` show them.",
    check="Carebridge module configured in homeserver.yaml; session records arriving; failed "
    "sign-ins in the last 7 days counted.",
    tests=(
        "tests/e2e/test_sessions.py::test_wrong_password_makes_a_failed_record_without_the_password",
        "tests/e2e/test_sessions.py::test_unknown_account_is_recorded_without_the_name",
    ),
)

SAFEGUARDS = (AUTHENTICATION, PASSWORDS, LOGIN_MONITORING)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def authentication(f: Facts) -> Verdict:
    hs = f.homeserver
    if hs is None:
        return Verdict(Result.WARN, f"could not read homeserver.yaml ({f.why('homeserver')})")
    if hs.get("enable_registration"):
        return Verdict(Result.FAIL, "enable_registration is on: anyone can create an account")
    if f.live.get("registration_open"):
        return Verdict(
            Result.FAIL, "the running Synapse accepts registrations: restart it with the file in force"
        )
    if hs.get("registration_shared_secret") or hs.get("registration_shared_secret_path"):
        return Verdict(Result.FAIL, "registration_shared_secret is set: accounts can be made elsewhere")
    failed = _mapping(_mapping(hs.get("rc_login")).get("failed_attempts"))
    rate, burst = _number(failed.get("per_second")), _number(failed.get("burst_count"))
    if (rate is not None and rate > MAX_FAILED_PER_SECOND) or (
        burst is not None and burst > MAX_FAILED_BURST
    ):
        return Verdict(
            Result.FAIL,
            f"rc_login.failed_attempts lifted ({rate}/s, burst {burst}): password guessing is not slowed",
        )
    limits = "Synapse defaults" if not failed else f"burst {burst}, {rate}/s"
    closed = "registration closed" + (" (file and running server)" if "registration_open" in f.live else "")
    return Verdict(Result.PASS, f"{closed}; failed sign-ins per account limited ({limits})")


def _weak_policy(hs: Mapping[str, Any]) -> list[str]:
    config = _mapping(hs.get("password_config"))
    if config.get("enabled") is False:
        return ["password sign-in disabled"]
    policy = _mapping(config.get("policy"))
    if not policy.get("enabled"):
        return ["password_config.policy is off"]
    weak = []
    length = _number(policy.get("minimum_length"))
    if length is None or length < MIN_PASSWORD_LENGTH:
        weak.append(f"minimum_length {policy.get('minimum_length')} < {MIN_PASSWORD_LENGTH}")
    for need in ("require_digit", "require_symbol", "require_lowercase", "require_uppercase"):
        if not policy.get(need):
            weak.append(f"{need} off")
    return weak


def password_management(f: Facts) -> Verdict:
    if f.homeserver is None:
        return Verdict(Result.WARN, f"could not read homeserver.yaml ({f.why('homeserver')})")
    weak = _weak_policy(f.homeserver)
    if weak:
        return Verdict(Result.FAIL, "weak password policy: " + ", ".join(weak))
    if f.accounts is None:
        return Verdict(Result.WARN, f"could not list accounts ({f.why('accounts')})")
    people = [a for a in humans(f.accounts) if a.in_directory and a.active and not a.synapse_deactivated]
    tracked = [a for a in people if a.initial_password is not None]
    if tracked:
        stale = [a for a in tracked if a.initial_password]
        how = "still on their initial password"
    else:
        cutoff = f.now_ms - INITIAL_PASSWORD_DAYS * DAY_MS
        stale = [a for a in people if not a.ever_signed_in and (a.created_ms or f.now_ms) < cutoff]
        how = f"never signed in {INITIAL_PASSWORD_DAYS}+ days after creation: still on the initial password"
    if stale:
        return Verdict(Result.FAIL, f"{len(stale)} account(s) {how}: {ids(stale)}")
    return Verdict(Result.PASS, f"policy: {MIN_PASSWORD_LENGTH}+ chars, upper, lower, digit, symbol; "
                   "no account left on an initial password")  # fmt: skip


def login_monitoring(f: Facts) -> Verdict:
    if f.homeserver is None:
        return Verdict(Result.WARN, f"could not read homeserver.yaml ({f.why('homeserver')})")
    modules = f.homeserver.get("modules")
    names = {m.get("module") for m in modules if isinstance(m, dict)} if isinstance(modules, list) else set()
    if not names & set(MODULES):
        return Verdict(Result.FAIL, "the Carebridge module is not loaded: sign-ins are not recorded")
    a = f.activity
    if a is None:
        return Verdict(Result.WARN, f"could not read the sessions ledger ({f.why('activity')})")
    signed_in = [x for x in humans(f.accounts or ()) if (x.devices or 0) > 0]
    if signed_in and a.last_session_record_ms is None:
        return Verdict(Result.FAIL, f"{len(signed_in)} account(s) signed in, but no session record arrived")
    return Verdict(
        Result.PASS,
        f"sign-ins recorded (last {stamp(a.last_session_record_ms)}); "
        f"{a.failed_logins_7d} failed sign-in(s) in 7 days (last {stamp(a.last_failed_login_ms)})",
    )


CHECKS = {
    AUTHENTICATION.id: authentication,
    PASSWORDS.id: password_management,
    LOGIN_MONITORING.id: login_monitoring,
}
